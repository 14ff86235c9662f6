"""Where `oz login` keeps its credential: a keyring when one exists, else a private file."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from oz.cli import credentials

URL = "http://127.0.0.1:8000"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    previous = keyring.get_keyring()
    yield tmp_path
    keyring.set_keyring(previous)


def test_keyring_keeps_the_credential_when_one_exists() -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)

    where = credentials.save(URL + "/api/v1/", "ozs_token")

    assert where == "the system keyring"
    assert backend.items == {("oz", URL): "ozs_token"}
    assert credentials.load(URL) == "ozs_token"
    assert credentials.delete(URL) is True
    assert credentials.load(URL) is None
    assert not credentials.credentials_file().exists()


def test_without_a_keyring_a_private_file_keeps_it() -> None:
    keyring.set_keyring(fail.Keyring())

    where = credentials.save(URL, "ozs_token")
    mode = stat.S_IMODE(credentials.credentials_file().stat().st_mode)

    assert where == str(credentials.credentials_file())
    assert mode == 0o600
    assert credentials.load(URL) == "ozs_token"
    assert credentials.load("http://127.0.0.1:9000") is None


def test_credentials_file_readable_by_others_rejected() -> None:
    keyring.set_keyring(fail.Keyring())
    credentials.save(URL, "ozs_token")
    credentials.credentials_file().chmod(0o644)

    with pytest.raises(credentials.CredentialStoreError, match="chmod 600"):
        credentials.load(URL)
