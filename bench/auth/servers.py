"""Start and stop the servers under test, and seed their keys, for bench/auth/run.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from oz.apikeys.service import create_key
from oz.config import Settings
from oz.db.engine import Database
from oz.principal import Principal

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
START_TIMEOUT_SECONDS = 30.0
# Variables of the caller's shell that would point the servers at another data directory.
SCRUBBED = ("OZ_DATA_DIR", "OZ_DATABASE_URL", "OZ_SECRET", "WARP_API_KEY", "WARP_SERVER_ROOT_URL")


def clean_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED}
    env.update(extra)
    return env


@dataclass
class Server:
    """A server process on a loopback port, with its log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_healthy(server: Server) -> Server:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start-up; see {server.log_path}")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer /healthz within {START_TIMEOUT_SECONDS} s")


def spawn(
    name: str, command: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, close_fds=True
        )


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# oz ----------------------------------------------------------------------------------


def oz_init(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """Run `ozd init --json` and return the owner's uid and email and the first raw key."""
    output = subprocess.run(
        [BIN / "ozd", "init", "--data-dir", data_dir, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(output)
    return {
        "owner_uid": result["owner"]["uid"],
        "owner_email": result["owner"]["email"],
        "raw_api_key": result["raw_api_key"],
    }


def oz_seed_keys(env: dict[str, str], owner: dict[str, str], total: int, keys_file: Path) -> None:
    """Create `total` personal keys of the owner through the service, in one transaction."""
    settings = Settings.from_env(env)
    database = Database(settings.database_url)
    secret = settings.read_secret()
    principal = Principal(
        type="user", uid=owner["owner_uid"], display_name="owner", email=owner["owner_email"]
    )
    try:
        with database.transaction() as session:
            raw_keys = [
                create_key(session, secret, principal, f"bench-{index}", expires_in="never")[1]
                for index in range(total)
            ]
    finally:
        database.dispose()
    keys_file.write_text("".join(f"Bearer {raw.value}\n" for raw in raw_keys), encoding="utf-8")


def oz_serve(name: str, data_dir: Path, env: dict[str, str]) -> Server:
    port_file = data_dir / "port"
    port_file.unlink(missing_ok=True)
    log_path = data_dir / "server.log"
    command = [BIN / "ozd", "serve", "--data-dir", data_dir, "--port", "0", "--port-file"]
    process = spawn(name, [*map(str, command), str(port_file), "--no-worker"], env, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (port_file.exists() and port_file.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{name} wrote no port file; see {log_path}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text().strip()}"
    return wait_healthy(Server(name, url, process, log_path))


# djangorestframework-api-key ---------------------------------------------------------


def drf_env(work_dir: Path) -> dict[str, str]:
    return clean_env(
        DRF_SECRET_KEY="django-secret-for-the-benchmark-only-" + os.urandom(8).hex(),
        DRF_DATABASE_PATH=str(work_dir / "drf.sqlite3"),
        PYTHONPATH=str(HERE),
    )


def drf_seed_and_serve(work_dir: Path, total: int, keys_file: Path) -> Server:
    env = drf_env(work_dir)
    subprocess.run(
        [BIN / "python", "-m", "drf_site.seed", str(total), str(keys_file)],
        env=env,
        cwd=HERE,
        check=True,
    )
    port = free_port()
    # One worker process like `ozd serve`; gthread keeps connections alive, which the
    # default sync worker does not.
    command = [
        str(BIN / "gunicorn"),
        "--workers=1",
        "--worker-class=gthread",
        "--threads=8",
        f"--bind=127.0.0.1:{port}",
        "drf_site.wsgi",
    ]
    log_path = work_dir / "drf.log"
    process = spawn("drf", command, env, log_path, cwd=HERE)
    return wait_healthy(Server("drf", f"http://127.0.0.1:{port}", process, log_path))


# keyshield ---------------------------------------------------------------------------


def keyshield_seed_and_serve(work_dir: Path, total: int, real: int, keys_file: Path) -> Server:
    env = clean_env(
        KEYSHIELD_PEPPER="pepper-for-the-benchmark-only-" + os.urandom(8).hex(),
        KEYSHIELD_DATABASE_URL=f"sqlite+aiosqlite:///{work_dir / 'keyshield.sqlite3'}",
    )
    subprocess.run(
        [BIN / "python", "keyshield_app.py", "seed", str(total), str(real), str(keys_file)],
        env=env,
        cwd=HERE,
        check=True,
    )
    port = free_port()
    # uvicorn's defaults, one process, as `ozd serve` runs.
    command = [str(BIN / "uvicorn"), "keyshield_app:app", "--host=127.0.0.1", f"--port={port}"]
    log_path = work_dir / "keyshield.log"
    process = spawn("keyshield", command, env, log_path, cwd=HERE)
    return wait_healthy(Server("keyshield", f"http://127.0.0.1:{port}", process, log_path))
