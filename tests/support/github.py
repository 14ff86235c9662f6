"""A local GitHub for tests: the REST endpoints oz calls, OAuth, and git over smart HTTP.

Repositories are bare repositories under `root` (`root/owner/repo.git`), served by
`git http-backend` behind the access rules GitHub applies:

- anonymous callers read public repositories;
- a user token reads public repositories and reads and writes those granted to its user;
- an installation token reads and writes every repository of its installation's org.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from tests.support.loopback import JsonHandler, serving

APP_SLUG = "oz-test-app"
BOT_USER_ID = 41898282
APP_ID = "12345"


def key_pair() -> tuple[str, str]:
    """A new RSA key pair as PEM: (private, public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


APP_PRIVATE_KEY, APP_PUBLIC_KEY = key_pair()


@dataclass
class FakeGitHub:
    root: Path | None = None
    users: dict[str, dict[str, object]] = field(default_factory=dict)
    # Repositories ("owner/repo", lower-case) each user login may write, and the private ones.
    grants: dict[str, set[str]] = field(default_factory=dict)
    private: set[str] = field(default_factory=set)
    url: str = ""
    seen_authorizations: list[str] = field(default_factory=list)
    # The App this server trusts: its id and public key (PEM), and its installations.
    app_id: str = APP_ID
    app_public_key: str = APP_PUBLIC_KEY
    installations: dict[int, str] = field(default_factory=dict)
    minted: dict[str, str] = field(default_factory=dict)  # installation token -> org
    # OAuth: the client it accepts, and the token a browser that approves receives.
    oauth_client: tuple[str, str] = ("", "")
    approving_token: str = ""
    codes: dict[str, str] = field(default_factory=dict)

    def add_user(self, token: str, login: str, user_id: int) -> None:
        self.users[token] = {
            "id": user_id,
            "login": login,
            "name": login.title(),
            "email": f"{login}@users.noreply.github.com",
        }

    def revoke(self, token: str) -> None:
        self.users.pop(token, None)

    def add_repository(self, full_name: str, *, private: bool = True) -> Path:
        """Create a bare repository with one commit on `main`; return its path."""
        assert self.root is not None
        bare = self.root / f"{full_name}.git"
        seed = self.root / "seed" / full_name
        git = ["git", "-c", "user.name=Seed", "-c", "user.email=seed@example.com"]
        subprocess.run(["git", "init", "-q", "-b", "main", str(seed)], check=True)
        (seed / "README.md").write_text(f"# {full_name}\n")
        subprocess.run([*git, "-C", str(seed), "add", "."], check=True)
        subprocess.run([*git, "-C", str(seed), "commit", "-q", "-m", "seed"], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
        if private:
            self.private.add(full_name.lower())
        return bare

    def last_commit(self, full_name: str, ref: str = "main") -> str:
        """`author <email> | committer <email>` of the newest commit on `ref`."""
        assert self.root is not None
        result = subprocess.run(
            ["git", "--git-dir", str(self.root / f"{full_name}.git"), "log", "-1",
             "--format=%an <%ae> | %cn <%ce>", ref],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    # Access rules.

    def known_token(self, token: str) -> bool:
        return token in self.users or token in self.minted

    def can(self, token: str | None, full_name: str, write: bool) -> bool:
        repo = full_name.lower()
        if token in self.minted:
            return repo.split("/", 1)[0] == self.minted[token]
        if token in self.users:
            login = str(self.users[token]["login"])
            if repo in self.grants.get(login, set()):
                return True
        return not write and repo not in self.private

    def exists(self, full_name: str) -> bool:
        return self.root is not None and (self.root / f"{full_name}.git").is_dir()

    # App authentication.

    def app_claims(self, authorization: str) -> tuple[int, dict[str, object]] | None:
        """Check the App JWT as GitHub does; return an error response, or None if valid."""
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(
                token,
                self.app_public_key,
                algorithms=["RS256"],
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            return 401, {"message": "'Expiration time' claim ('exp') is too far in the past"}
        except jwt.PyJWTError:
            return 401, {"message": "A JSON web token could not be decoded"}
        if str(claims["iss"]) != self.app_id:
            return 401, {"message": "Integration not found"}
        return None

    def mint(self, authorization: str, installation_id: int) -> tuple[int, dict[str, object]]:
        refused = self.app_claims(authorization)
        if refused is not None:
            return refused
        if installation_id not in self.installations:
            return 404, {"message": "Not Found"}
        minted = f"ghs_installation{installation_id}x{len(self.minted)}"
        self.minted[minted] = self.installations[installation_id]
        return 201, {"token": minted, "expires_at": "2099-01-01T00:00:00Z"}


class _Handler(JsonHandler):
    github: FakeGitHub

    def _token(self) -> str | None:
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            return decoded.partition(":")[2] or None
        token = authorization.removeprefix("Bearer ").strip()
        return token or None

    def do_GET(self) -> None:
        github = self.github
        path, _, query = self.path.partition("?")
        if ".git/" in path:
            self._git("GET", path, query)
            return
        authorization = self.headers.get("Authorization", "")
        github.seen_authorizations.append(authorization)
        parts = path.strip("/").split("/")
        if path == "/login/oauth/authorize":
            self._authorize(parse_qs(query))
        elif path == "/app":
            refused = github.app_claims(authorization)
            self.send_json(*(refused or (200, {"id": int(github.app_id), "slug": APP_SLUG})))
        elif len(parts) == 3 and parts[0] == "orgs" and parts[2] == "installation":
            refused = github.app_claims(authorization)
            found = [i for i, org in github.installations.items() if org == parts[1].lower()]
            if refused is None and not found:
                refused = (404, {"message": "Not Found"})
            self.send_json(*(refused or (200, {"id": found[0]})))
        elif len(parts) == 2 and parts[0] == "users":
            if parts[1] == f"{APP_SLUG}%5Bbot%5D":
                self.send_json(200, {"id": BOT_USER_ID, "login": f"{APP_SLUG}[bot]"})
            else:
                self.send_json(404, {"message": "Not Found"})
        elif path == "/user":
            token = self._token()
            if token not in github.users:
                self.send_json(401, {"message": "Bad credentials"})
            else:
                self.send_json(200, github.users[token])
        elif len(parts) == 3 and parts[0] == "repos":
            self._repository(f"{parts[1]}/{parts[2]}")
        else:
            self.send_json(404, {"message": "Not Found"})

    def _repository(self, full_name: str) -> None:
        token = self._token()
        if token is not None and not self.github.known_token(token):
            self.send_json(401, {"message": "Bad credentials"})
        elif self.github.exists(full_name) and self.github.can(token, full_name, write=False):
            private = full_name.lower() in self.github.private
            self.send_json(200, {"full_name": full_name, "private": private})
        else:
            self.send_json(404, {"message": "Not Found"})

    def _authorize(self, query: dict[str, list[str]]) -> None:
        """Approve at once as the browser's user, and send it back with a code."""
        github = self.github
        if query.get("client_id", [""])[0] != github.oauth_client[0]:
            self.send_json(404, {"message": "Not Found"})
            return
        code = f"code{len(github.codes)}"
        github.codes[code] = github.approving_token
        back = urlencode({"code": code, "state": query.get("state", [""])[0]})
        self.send_response(302)
        self.send_header("Location", f"{query['redirect_uri'][0]}?{back}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        github = self.github
        path, _, query = self.path.partition("?")
        if ".git/" in path:
            self._git("POST", path, query)
            return
        parts = path.strip("/").split("/")
        if path == "/login/oauth/access_token":
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            client = (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
            token = github.codes.pop(form.get("code", [""])[0], None)
            if client != github.oauth_client or token is None:
                self.send_json(200, {"error": "bad_verification_code"})
            else:
                self.send_json(200, {"access_token": token, "token_type": "bearer"})
        elif (
            len(parts) == 4
            and parts[:2] == ["app", "installations"]
            and parts[3] == "access_tokens"
            and parts[2].isdigit()
        ):
            status, body = github.mint(self.headers.get("Authorization", ""), int(parts[2]))
            self.send_json(status, body)
        else:
            self.send_json(404, {"message": "Not Found"})

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _git(self, method: str, path: str, query: str) -> None:
        """Serve git's smart HTTP protocol through `git http-backend`, as GitHub would."""
        github = self.github
        owner, repo = path.lstrip("/").split("/", 2)[:2]
        full_name = f"{owner}/{repo.removesuffix('.git')}"
        write = path.endswith("/git-receive-pack") or "service=git-receive-pack" in query
        token = self._token()
        body = self._body() if method == "POST" else b""
        if not github.exists(full_name) or not github.can(token, full_name, write):
            if token is None or not github.known_token(token):
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_json(403, {"message": f"Permission to {full_name} denied"})
            return
        assert github.root is not None
        env = {
            "PATH": os.environ["PATH"],
            "GIT_PROJECT_ROOT": str(github.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": urlsplit(path).path,
            "REQUEST_METHOD": method,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "REMOTE_USER": "oz-test",
            "REMOTE_ADDR": "127.0.0.1",
        }
        result = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextmanager
def running_github(github: FakeGitHub) -> Iterator[FakeGitHub]:
    handler = type("GitHubHandler", (_Handler,), {"github": github})
    with serving(handler) as url:
        github.url = url
        yield github
