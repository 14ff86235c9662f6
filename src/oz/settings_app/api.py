"""The REST calls of the settings app, with their results as typed values.

Every call blocks, so the app runs it in a worker thread. Every failure becomes an
`ApiFailure` whose message a person can read, and no message contains a raw key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from oz import keys
from oz.client.http import ApiError, ClientError, OzClient

# Titles of the failures the app shows, by HTTP status. Other statuses get a general title.
TITLES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "Not authorized",
    404: "Not found",
    409: "Conflict",
    422: "Invalid request",
    429: "Server busy",
    503: "Server unavailable",
}
# A failure without an HTTP response: no connection, or a response that is not JSON.
TRANSPORT_TITLE = "Request failed"


class ApiFailure(Exception):
    """A failed call: `title` and `message` are for people, and `field` names a form field."""

    def __init__(
        self,
        title: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return f"{self.title}: {self.message}"

    def sentence(self) -> str:
        """Return `Title: message.`, ending in one full stop."""
        text = str(self)
        return text if text.endswith((".", "!", "?")) else f"{text}."

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later: no response, or a server error."""
        return self.status is None or self.status >= 500


@dataclass(frozen=True)
class KeyRow:
    """An API key as the list shows it: never the raw key."""

    uid: str
    name: str
    type: str
    key_suffix: str
    scope_name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> KeyRow:
        return cls(
            uid=str(row["uid"]),
            name=str(row["name"]),
            type=str(row["scope"]["type"]),
            key_suffix=str(row["key_suffix"]),
            scope_name=str(row["scope"]["name"]),
            created_at=_parse_time(row["created_at"]),
            last_used_at=_parse_optional_time(row.get("last_used_at")),
            expires_at=_parse_optional_time(row.get("expires_at")),
        )

    @property
    def masked_key(self) -> str:
        return keys.mask(self.key_suffix)

    @property
    def scope(self) -> str:
        kind = "Agent" if self.type == "agent" else "Personal"
        return f"{kind}: {self.scope_name}"


@dataclass(frozen=True)
class CloudAgent:
    """A cloud agent of one of the user's teams, which agent keys act as."""

    uid: str
    name: str
    is_default: bool

    @property
    def label(self) -> str:
        return f"{self.name} (default)" if self.is_default else self.name


@dataclass(frozen=True)
class CreatedKey:
    """A new key with its raw value, which the server returns this once."""

    row: KeyRow
    raw_key: str = field(repr=False)


class SettingsApi:
    """Key and cloud-agent calls of the REST API on behalf of one credential.

    `credential_source` names where the credential came from (`oz login`,
    `WARP_API_KEY`, ...), so an authentication failure can name the one to replace.
    """

    def __init__(self, client: OzClient, credential_source: str | None = None) -> None:
        self.client = client
        self.credential_source = credential_source

    def __repr__(self) -> str:
        return f"SettingsApi({self.client.root_url!r})"

    def list_keys(self) -> list[KeyRow]:
        document = self._call("GET", "/api-keys")
        return [KeyRow.from_json(row) for row in document["api_keys"]]

    def create_key(self, name: str, expires_in: str, agent_uid: str | None = None) -> CreatedKey:
        """Create a personal key, or an agent key when `agent_uid` is given."""
        body: dict[str, Any] = {"name": name, "expires_in": expires_in, "type": "personal"}
        if agent_uid is not None:
            body.update(type="agent", agent_uid=agent_uid)

        created = self._call("POST", "/api-keys", body)
        return CreatedKey(KeyRow.from_json(created["api_key"]), created["raw_api_key"])

    def delete_key(self, uid: str) -> None:
        self._call("DELETE", f"/api-keys/{quote(uid, safe='')}")

    def list_agents(self) -> list[CloudAgent]:
        document = self._call("GET", "/agent/identities")
        return [_agent(agent) for agent in document["agents"]]

    def create_agent(self, name: str) -> CloudAgent:
        return _agent(self._call("POST", "/agent/identities", {"name": name}))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return self.client.request(method, path, body=body)
        except ApiError as exc:
            raise self._failure(exc) from None
        except ClientError as exc:
            raise ApiFailure(TRANSPORT_TITLE, keys.redact(str(exc))) from None

    def _failure(self, error: ApiError) -> ApiFailure:
        field_name = error.problem.get("field")
        # The title becomes the failure's title, so the message is the detail alone.
        message = keys.redact(str(error.problem.get("detail") or error.message))
        if error.code == "authentication_required":
            source = self.credential_source or "an unknown source"
            message += (
                f". The credential came from {source}: quit with q, then run `oz login`"
                " or use another API key"
            )
        status_group = "Request failed" if error.status < 500 else "Server error"
        return ApiFailure(
            TITLES.get(error.status, status_group),
            message,
            status=error.status,
            code=error.code,
            field=str(field_name) if field_name else None,
        )


def _agent(agent: dict[str, Any]) -> CloudAgent:
    return CloudAgent(str(agent["uid"]), str(agent["name"]), bool(agent.get("is_default")))


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _parse_optional_time(value: str | None) -> datetime | None:
    return _parse_time(value) if value else None
