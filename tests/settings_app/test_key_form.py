"""The Create API Key form's checks, made before anything is sent."""

from __future__ import annotations

import pytest

from oz.settings_app.key_form import KeyRequest, validate


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        pytest.param(KeyRequest("ci", "30d"), {}, id="personal"),
        pytest.param(KeyRequest(" ci ", "never"), {}, id="never-with-spaces"),
        pytest.param(KeyRequest("x" * 100, "1d"), {}, id="longest-name"),
        pytest.param(
            KeyRequest("ci", "90d", is_agent=True, agent_uid="agent-1"), {}, id="listed-agent"
        ),
        pytest.param(
            KeyRequest("ci", "90d", is_agent=True, new_agent_name="CI bot"), {}, id="new-agent"
        ),
        pytest.param(KeyRequest("", "30d"), {"name": "Enter a key name."}, id="empty-name"),
        pytest.param(KeyRequest("   ", "30d"), {"name": "Enter a key name."}, id="blank-name"),
        pytest.param(
            KeyRequest("x" * 101, "30d"),
            {"name": "The key name must be at most 100 characters, not 101."},
            id="long-name",
        ),
        pytest.param(
            KeyRequest("ci", "12h"), {"expiration": "Pick an expiration."}, id="other-expiry"
        ),
        pytest.param(
            KeyRequest("ci", "30d", is_agent=True),
            {"agent": "Pick a cloud agent, or create a new one."},
            id="no-agent",
        ),
        pytest.param(
            KeyRequest("ci", "30d", is_agent=True, new_agent_name=" "),
            {"new-agent-name": "Enter a name for the new cloud agent."},
            id="blank-agent-name",
        ),
    ],
)
def test_validate_form(request_: KeyRequest, expected: dict[str, str]) -> None:
    assert validate(request_) == expected


def test_validate_reports_every_field() -> None:
    errors = validate(KeyRequest("", "", is_agent=True))

    assert set(errors) == {"name", "expiration", "agent"}
