"""Storage of the `oz login` credential: the OS keyring, else a file only the user reads.

The credential is stored per server root URL. API keys given by flag or environment are
never stored.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

SERVICE = "oz"
API_PREFIX = "/api/v1"


class CredentialStoreError(Exception):
    """The stored credential cannot be read or written."""


def server_key(root_url: str) -> str:
    """Return the name a server's credential is stored under: its root URL, normalized."""
    return root_url.strip().rstrip("/").removesuffix(API_PREFIX)


def credentials_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "oz" / "credentials.json"


def _keyring() -> Any:
    """Return the keyring module when a usable backend exists, else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None
    return keyring


def _read_file(path: Path) -> dict[str, str]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CredentialStoreError(
            f"{path} is readable by other users: run `chmod 600 {path}`, or delete it and"
            " run `oz login` again"
        )
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CredentialStoreError(f"{path} cannot be read: {exc}; delete it") from None
    return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}


def _write_file(path: Path, stored: dict[str, str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(stored, handle, indent=2)


def save(root_url: str, token: str) -> str:
    """Store the credential for a server; return where it went."""
    key = server_key(root_url)
    keyring = _keyring()
    if keyring is not None:
        try:
            keyring.set_password(SERVICE, key, token)
            return "the system keyring"
        except keyring.errors.KeyringError:
            pass
    path = credentials_file()
    stored = _read_file(path)
    stored[key] = token
    _write_file(path, stored)
    return str(path)


def load(root_url: str) -> str | None:
    """Return the stored credential for a server, if any."""
    key = server_key(root_url)
    keyring = _keyring()
    if keyring is not None:
        try:
            token: str | None = keyring.get_password(SERVICE, key)
        except keyring.errors.KeyringError:
            token = None
        if token:
            return token
    return _read_file(credentials_file()).get(key)


def delete(root_url: str) -> bool:
    """Forget the credential for a server; return whether one was stored."""
    key = server_key(root_url)
    found = False
    keyring = _keyring()
    if keyring is not None:
        try:
            if keyring.get_password(SERVICE, key):
                keyring.delete_password(SERVICE, key)
                found = True
        except keyring.errors.KeyringError:
            pass
    path = credentials_file()
    stored = _read_file(path)
    if key in stored:
        del stored[key]
        _write_file(path, stored)
        found = True
    return found
