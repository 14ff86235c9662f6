"""The Create API Key form's values, and the checks they pass before anything is sent.

The limits repeat the server's (`oz.apikeys.service` and `oz.identity.agents`), so the
form reports a bad name at once. The server still checks everything itself.
"""

from __future__ import annotations

from dataclasses import dataclass

NAME_MAX_LENGTH = 100
# The expirations the form offers, as labels and the `expires_in` values they send.
EXPIRATIONS = {"90 days": "90d", "30 days": "30d", "1 day": "1d", "Never": "never"}
DEFAULT_EXPIRATION = "30d"
# Form fields, named as the widgets that show their errors.
NAME_FIELD = "name"
EXPIRATION_FIELD = "expiration"
AGENT_FIELD = "agent"
NEW_AGENT_FIELD = "new-agent-name"
# The request fields the server names in its errors, and the form fields that carry them.
SERVER_FIELDS = {
    "name": NAME_FIELD,
    "expires_in": EXPIRATION_FIELD,
    "expires_at": EXPIRATION_FIELD,
    "agent_uid": AGENT_FIELD,
}


@dataclass(frozen=True)
class KeyRequest:
    """The form's values: a personal key, or an agent key for an existing or a new agent.

    An agent key sets `agent_uid` to pick a listed agent, or `new_agent_name` to create
    one first. A personal key sets neither.
    """

    name: str
    expires_in: str
    is_agent: bool = False
    agent_uid: str | None = None
    new_agent_name: str | None = None


def _name_error(value: str, what: str) -> str | None:
    length = len(value.strip())
    if length == 0:
        return f"Enter a {what}."
    if length > NAME_MAX_LENGTH:
        return f"The {what} must be at most {NAME_MAX_LENGTH} characters, not {length}."
    return None


def validate(request: KeyRequest) -> dict[str, str]:
    """Return an error message per invalid form field, or an empty dict when all are valid."""
    errors: dict[str, str] = {}
    name_error = _name_error(request.name, "key name")
    if name_error:
        errors[NAME_FIELD] = name_error
    if request.expires_in not in EXPIRATIONS.values():
        errors[EXPIRATION_FIELD] = "Pick an expiration."
    if not request.is_agent:
        return errors

    if request.new_agent_name is not None:
        agent_error = _name_error(request.new_agent_name, "name for the new cloud agent")
        if agent_error:
            errors[NEW_AGENT_FIELD] = agent_error
    elif not request.agent_uid:
        errors[AGENT_FIELD] = "Pick a cloud agent, or create a new one."
    return errors
