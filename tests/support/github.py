"""A local GitHub API server for tests: the endpoints oz calls, with known tokens."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FakeGitHub:
    """Users by token; `GET /user` answers like api.github.com does."""

    users: dict[str, dict[str, object]] = field(default_factory=dict)
    url: str = ""
    seen_authorizations: list[str] = field(default_factory=list)

    def add_user(self, token: str, login: str, user_id: int) -> None:
        self.users[token] = {
            "id": user_id,
            "login": login,
            "name": login.title(),
            "email": f"{login}@users.noreply.github.com",
        }


@contextmanager
def running_github(github: FakeGitHub) -> Iterator[FakeGitHub]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            github.seen_authorizations.append(authorization)
            token = authorization.removeprefix("Bearer ").strip()
            if self.path != "/user":
                self._answer(404, {"message": "Not Found"})
            elif token not in github.users:
                self._answer(401, {"message": "Bad credentials"})
            else:
                self._answer(200, github.users[token])

        def _answer(self, status: int, body: dict[str, object]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    github.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield github
    finally:
        server.shutdown()
        server.server_close()
