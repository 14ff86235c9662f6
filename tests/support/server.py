"""Real `ozd` servers on free loopback ports, driven by real `oz` subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.secrets import remember

BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 30.0
# Variables of the developer's own shell that must not leak into the processes under test.
SCRUBBED = (
    "WARP_API_KEY",
    "WARP_OUTPUT_FORMAT",
    "WARP_SERVER_ROOT_URL",
    "OZ_DATA_DIR",
    "OZ_DATABASE_URL",
    "OZ_SECRET",
    "OZ_HARNESS",
    "OZ_HARNESS_COMMAND",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(extra)
    return env


@dataclass
class OzServer:
    """An `ozd serve` process with its own data directory and database."""

    data_dir: Path
    log_path: Path
    database_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Port to listen on; 0 picks a free one at each start.
    port: int = 0
    owner_key: str = field(init=False, repr=False)
    team_uid: str = field(init=False)
    default_agent_uid: str = field(init=False)
    url: str = field(init=False)
    _process: subprocess.Popen[bytes] | None = field(init=False, default=None)

    def _server_env(self) -> dict[str, str]:
        extra = dict(self.env)
        if self.database_url:
            extra["OZ_DATABASE_URL"] = self.database_url
        return clean_env(**extra)

    def start(self) -> OzServer:
        init = subprocess.run(
            [
                BIN / "ozd",
                "init",
                "--data-dir",
                self.data_dir,
                "--owner-email",
                "owner@example.com",
                "--team-name",
                "Acme",
                "--json",
            ],
            env=self._server_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(init.stdout)
        self.owner_key = remember(result["raw_api_key"])
        self.team_uid = result["team_uid"]
        self.default_agent_uid = result["default_agent_uid"]
        self.serve()
        return self

    def serve(self) -> None:
        port_file = self.data_dir / "port"
        port_file.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    BIN / "ozd",
                    "serve",
                    "--data-dir",
                    self.data_dir,
                    "--port",
                    str(self.port),
                    "--port-file",
                    port_file,
                ],
                env=self._server_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ozd serve exited early; see {self.log_path}")
            if port_file.exists() and port_file.read_text().strip():
                self.url = f"http://127.0.0.1:{port_file.read_text().strip()}"
                if self._healthy():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"ozd serve did not answer within {START_TIMEOUT_SECONDS} s")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def restart(self) -> None:
        """Stop the server and serve again on the same port, so clients keep its URL."""
        self.port = int(self.url.rsplit(":", 1)[1])
        self.stop()
        self.serve()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def ozd(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BIN / "ozd", *args, "--data-dir", self.data_dir],
            env=self._server_env(),
            capture_output=True,
            text=True,
            timeout=60,
            input=input,
        )

    def oz(
        self,
        *args: str,
        api_key: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run the `oz` CLI against this server; `api_key` goes in WARP_API_KEY."""
        extra = {"WARP_SERVER_ROOT_URL": self.url, "COLUMNS": "200", **(env or {})}
        if api_key is not None:
            extra["WARP_API_KEY"] = api_key
        return subprocess.run(
            [BIN / "oz", *args],
            env=clean_env(**extra),
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def oz_json(self, *args: str, api_key: str | None = None) -> Any:
        result = self.oz("--output-format", "json", *args, api_key=api_key)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def create_key(self, name: str = "e2e", *extra: str, api_key: str | None = None) -> str:
        """Create a key through the CLI and return the raw key."""
        created = self.oz_json(
            "api-key",
            "create",
            name,
            *(extra or ("--no-expiration",)),
            api_key=api_key or self.owner_key,
        )
        return remember(created["raw_api_key"])
