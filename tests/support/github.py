"""A local GitHub API server for tests: the endpoints oz calls, with known tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.support.loopback import JsonHandler, serving


@dataclass
class FakeGitHub:
    """Users by token; `GET /user` responds as api.github.com does."""

    users: dict[str, dict[str, object]] = field(default_factory=dict)
    url: str = ""
    seen_authorizations: list[str] = field(default_factory=list)
    # The App this server trusts: its id and public key (PEM), and its installations.
    app_id: str = ""
    app_public_key: str = ""
    installations: set[int] = field(default_factory=set)
    minted: list[str] = field(default_factory=list)

    def mint(self, authorization: str, installation_id: int) -> tuple[int, dict[str, object]]:
        """Check the App JWT as GitHub does (RS256, issuer, expiry) and mint a token."""
        import jwt

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
        if installation_id not in self.installations:
            return 404, {"message": "Not Found"}
        minted = f"ghs_installation{installation_id}_{len(self.minted)}"
        self.minted.append(minted)
        return 201, {"token": minted, "expires_at": "2099-01-01T00:00:00Z"}

    def add_user(self, token: str, login: str, user_id: int) -> None:
        self.users[token] = {
            "id": user_id,
            "login": login,
            "name": login.title(),
            "email": f"{login}@users.noreply.github.com",
        }


@contextmanager
def running_github(github: FakeGitHub) -> Iterator[FakeGitHub]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            if (
                len(parts) == 4
                and parts[:2] == ["app", "installations"]
                and parts[3] == ("access_tokens")
                and parts[2].isdigit()
            ):
                status, body = github.mint(self.headers.get("Authorization", ""), int(parts[2]))
                self.send_json(status, body)
            else:
                self.send_json(404, {"message": "Not Found"})

        def do_GET(self) -> None:
            authorization = self.headers.get("Authorization", "")
            github.seen_authorizations.append(authorization)
            token = authorization.removeprefix("Bearer ").strip()
            if self.path != "/user":
                self.send_json(404, {"message": "Not Found"})
            elif token not in github.users:
                self.send_json(401, {"message": "Bad credentials"})
            else:
                self.send_json(200, github.users[token])

    with serving(Handler) as url:
        github.url = url
        yield github
