"""The Create API Key dialog: name, expiration, and type Personal or Agent.

An agent key acts as a cloud agent picked from the team's list, or as a new one created
by name first. Errors appear beside their field, and nothing the user typed is cleared.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Select, Static

from oz.settings_app.api import ApiFailure, CloudAgent, CreatedKey, SettingsApi
from oz.settings_app.key_form import (
    AGENT_FIELD,
    DEFAULT_EXPIRATION,
    EXPIRATION_FIELD,
    EXPIRATIONS,
    NAME_FIELD,
    NEW_AGENT_FIELD,
    SERVER_FIELDS,
    KeyRequest,
    validate,
)

# The agent list's entry for creating a new cloud agent. No agent uid contains `+`.
NEW_AGENT = "+new"
NEW_AGENT_LABEL = Text("+ New cloud agent…")
FORM_ERROR = "form"
TYPE_HINT = "Personal keys act as you. Agent keys act as a cloud agent of your team."
FIELDS = (NAME_FIELD, EXPIRATION_FIELD, AGENT_FIELD, NEW_AGENT_FIELD, FORM_ERROR)


class CreateKeyScreen(ModalScreen[CreatedKey | None]):
    """Collect a key's settings, create the key, and return it with its raw value."""

    DEFAULT_CSS = """
    CreateKeyScreen { align: center middle; }
    CreateKeyScreen #dialog {
        width: 80; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 2;
    }
    CreateKeyScreen .title { text-style: bold; padding-top: 1; }
    CreateKeyScreen Label { margin-top: 1; }
    CreateKeyScreen RadioSet { layout: horizontal; width: 100%; }
    CreateKeyScreen .error { color: $error; height: auto; }
    CreateKeyScreen .hint { color: $text-muted; }
    CreateKeyScreen #agent-fields { height: auto; display: none; }
    CreateKeyScreen #agent-fields.shown { display: block; }
    CreateKeyScreen #new-agent-name { display: none; }
    CreateKeyScreen #new-agent-name.shown { display: block; }
    CreateKeyScreen #buttons { height: auto; margin-top: 1; align-horizontal: right; }
    CreateKeyScreen #buttons Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Create"),
    ]

    def __init__(self, api: SettingsApi) -> None:
        super().__init__()
        self.api = api
        self.agents: list[CloudAgent] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("Create API Key", classes="title")
            yield Label("Name")
            yield Input(placeholder="such as ci-deploy", id=NAME_FIELD)
            yield Static(id=f"{NAME_FIELD}-error", classes="error", markup=False)
            yield Label("Expiration")
            with RadioSet(id=EXPIRATION_FIELD):
                for label, value in EXPIRATIONS.items():
                    yield RadioButton(
                        label, value=value == DEFAULT_EXPIRATION, id=f"expires-{value}"
                    )
            yield Static(id=f"{EXPIRATION_FIELD}-error", classes="error", markup=False)
            yield Label("Type")
            with RadioSet(id="type"):
                yield RadioButton("Personal", value=True, id="type-personal")
                yield RadioButton("Agent", id="type-agent")
            yield Static(TYPE_HINT, classes="hint")
            with Vertical(id="agent-fields"):
                yield Label("Cloud agent")
                yield Select[str]([], prompt="Loading cloud agents…", id=AGENT_FIELD)
                yield Static(id=f"{AGENT_FIELD}-error", classes="error", markup=False)
                yield Input(placeholder="Name of the new cloud agent", id=NEW_AGENT_FIELD)
                yield Static(id=f"{NEW_AGENT_FIELD}-error", classes="error", markup=False)
            yield Static(id=f"{FORM_ERROR}-error", classes="error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Create", variant="primary", id="submit")
        yield Footer()

    def on_mount(self) -> None:
        self.show_errors({})
        self.query_one(f"#{NAME_FIELD}", Input).focus()

    def request(self) -> KeyRequest:
        """Read the form's values as they are now."""
        is_agent = self._is_agent()
        value = self.query_one(f"#{AGENT_FIELD}", Select).value
        picked = value if is_agent and isinstance(value, str) else None
        creating_agent = picked == NEW_AGENT
        return KeyRequest(
            name=self.query_one(f"#{NAME_FIELD}", Input).value,
            expires_in=self._expiration(),
            is_agent=is_agent,
            agent_uid=None if creating_agent else picked,
            new_agent_name=(
                self.query_one(f"#{NEW_AGENT_FIELD}", Input).value if creating_agent else None
            ),
        )

    def show_errors(self, errors: dict[str, str]) -> None:
        """Show each message beside its field and clear the others."""
        for field in FIELDS:
            message = self.query_one(f"#{field}-error", Static)
            message.update(errors.get(field, ""))
            message.display = field in errors

    def action_cancel(self) -> None:
        # Closing while the request runs could lose a key the server has already made.
        if not self._busy:
            self.dismiss(None)

    def action_submit(self) -> None:
        if self._busy:
            return

        request = self.request()
        errors = validate(request)
        self.show_errors(errors)
        if errors:
            self._focus_first(errors)
            return

        self._set_busy(True)
        self.run_worker(self._create(request), exclusive=True, group="create-key")

    @on(Button.Pressed, "#submit")
    @on(Input.Submitted)
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(RadioSet.Changed, "#type")
    def _type_changed(self) -> None:
        shown = self._is_agent()
        self.query_one("#agent-fields").set_class(shown, "shown")
        if shown and not self.agents:
            self.run_worker(self._load_agents(), exclusive=True, group="load-agents")

    @on(Select.Changed, f"#{AGENT_FIELD}")
    def _agent_changed(self, event: Select.Changed) -> None:
        self.query_one(f"#{NEW_AGENT_FIELD}").set_class(event.value == NEW_AGENT, "shown")

    async def _load_agents(self, select_uid: str | None = None) -> None:
        select = self.query_one(f"#{AGENT_FIELD}", Select)
        try:
            self.agents = await asyncio.to_thread(self.api.list_agents)
        except ApiFailure as failure:
            select.set_options([(NEW_AGENT_LABEL, NEW_AGENT)])
            self.show_errors({AGENT_FIELD: f"Cannot load the cloud agents. {failure.sentence()}"})
            return
        options = [(Text(agent.label), agent.uid) for agent in self.agents]
        select.set_options([*options, (NEW_AGENT_LABEL, NEW_AGENT)])
        select.prompt = "Pick a cloud agent"
        if select_uid is not None:
            select.value = select_uid

    async def _create(self, request: KeyRequest) -> None:
        agent_uid = request.agent_uid
        try:
            if request.new_agent_name is not None:
                agent_uid = await self._create_agent(request.new_agent_name)
        except ApiFailure:
            self._set_busy(False)
            return

        try:
            created = await asyncio.to_thread(
                self.api.create_key, request.name, request.expires_in, agent_uid
            )
        except ApiFailure as failure:
            field = SERVER_FIELDS.get(failure.field or "", FORM_ERROR)
            self._show_failure(failure, field, "Cannot create the key")
            self._set_busy(False)
            if field == AGENT_FIELD:
                # The picked agent was deleted meanwhile: list the agents that remain.
                await self._load_agents()
            return
        self.dismiss(created)

    async def _create_agent(self, name: str) -> str:
        """Create the cloud agent and pick it in the list, so a retry does not create it again.

        A failure is shown beside the new agent's name and raised again.
        """
        try:
            agent = await asyncio.to_thread(self.api.create_agent, name)
        except ApiFailure as failure:
            field = NEW_AGENT_FIELD if failure.field == "name" else FORM_ERROR
            self._show_failure(failure, field, "Cannot create the cloud agent")
            raise
        await self._load_agents(select_uid=agent.uid)
        self.query_one(f"#{NEW_AGENT_FIELD}").set_class(False, "shown")
        return agent.uid

    def _show_failure(self, failure: ApiFailure, field: str, context: str) -> None:
        self.show_errors({field: f"{context}. {failure.sentence()}"})
        self._focus_first({field: ""})

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        button = self.query_one("#submit", Button)
        button.disabled = busy
        button.label = "Creating…" if busy else "Create"

    def _focus_first(self, errors: dict[str, str]) -> None:
        for field in (NAME_FIELD, EXPIRATION_FIELD, AGENT_FIELD, NEW_AGENT_FIELD):
            if field in errors:
                self.query_one(f"#{field}").focus()
                return

    def _is_agent(self) -> bool:
        pressed = self.query_one("#type", RadioSet).pressed_button
        return pressed is not None and pressed.id == "type-agent"

    def _expiration(self) -> str:
        pressed = self.query_one(f"#{EXPIRATION_FIELD}", RadioSet).pressed_button
        return pressed.id.removeprefix("expires-") if pressed and pressed.id else ""
