"""Cloud platform > Oz Cloud API Keys: the key table with create, delete and refresh."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Static

from oz.settings_app.api import ApiFailure, CreatedKey, KeyRow, SettingsApi
from oz.settings_app.create_screen import CreateKeyScreen
from oz.settings_app.created_screen import KeyCreatedScreen
from oz.settings_app.delete_screen import DeleteKeyScreen
from oz.settings_app.table import COLUMN_KEYS, KeyTable

DESCRIPTION = (
    "Personal keys act as you. Agent keys act as a cloud agent of your team, which the"
    " team pays for. A deleted key stops working at once."
)
# The keys 1 to 6 sort by the table's columns, left to right.
SORT_BINDINGS = [
    Binding(
        str(number),
        f"sort('{column}')",
        "Sort",
        key_display="1-6",
        show=number == 1,
    )
    for number, column in enumerate(COLUMN_KEYS, start=1)
]


class KeysSection(Vertical):
    """List, create and delete the signed-in user's API keys."""

    DEFAULT_CSS = """
    KeysSection { padding: 0 1; }
    KeysSection .section-title { text-style: bold; padding-top: 1; }
    KeysSection #description { color: $text-muted; }
    KeysSection #toolbar { height: auto; margin: 1 0 0 0; }
    KeysSection #toolbar Button { margin-right: 2; }
    KeysSection #status { height: auto; margin: 1 0 0 0; }
    KeysSection #status.error { color: $error; }
    KeysSection KeyTable { height: 1fr; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "create", "Create"),
        Binding("d", "delete", "Delete"),
        Binding("delete", "delete", "Delete", show=False),
        Binding("r", "refresh", "Refresh"),
        *SORT_BINDINGS,
    ]

    def __init__(
        self, api: SettingsApi, rows: list[KeyRow] | None = None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.api = api
        self._initial_rows = rows

    def compose(self) -> ComposeResult:
        yield Static("Oz Cloud API Keys", classes="section-title")
        yield Static(DESCRIPTION, id="description")
        with Horizontal(id="toolbar"):
            yield Button("+ Create API Key", variant="primary", id="create-key")
            yield Button("Delete key", variant="error", id="delete-key")
        yield Static(id="status", markup=False)
        yield KeyTable(id="key-table")

    def on_mount(self) -> None:
        if self._initial_rows is None:
            self.reload()
        else:
            self._show_rows(self._initial_rows)
            self._initial_rows = None

    @property
    def table(self) -> KeyTable:
        return self.query_one(KeyTable)

    def reload(self) -> None:
        """Fetch the key list again. A failure keeps the rows shown and is reported."""
        self._set_status("Loading keys…")
        self.run_worker(self._load(), exclusive=True, group="load-keys")

    def action_refresh(self) -> None:
        self.reload()

    def action_sort(self, column: str) -> None:
        self.table.sort_by(column)

    def action_create(self) -> None:
        self.app.push_screen(CreateKeyScreen(self.api), callback=self._key_created)

    def action_delete(self) -> None:
        key = self.table.selected_key()
        if key is None:
            self.notify("There is no key to delete.", severity="warning")
            return

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_worker(self._delete(key), group="delete-key")

        self.app.push_screen(DeleteKeyScreen(key), callback=confirmed)

    @on(Button.Pressed, "#create-key")
    def _create_pressed(self) -> None:
        self.action_create()

    @on(Button.Pressed, "#delete-key")
    def _delete_pressed(self) -> None:
        self.action_delete()

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.action_sort(str(event.column_key.value))

    def _key_created(self, created: CreatedKey | None) -> None:
        if created is None:
            return
        self.app.push_screen(KeyCreatedScreen(created))
        self.reload()

    async def _load(self) -> None:
        try:
            rows = await asyncio.to_thread(self.api.list_keys)
        except ApiFailure as failure:
            retry = " Press r to try again." if failure.retryable else ""
            self._report(failure, "Cannot load the keys", retry)
            return
        self._show_rows(rows)

    async def _delete(self, key: KeyRow) -> None:
        self._set_status(f"Deleting {key.name!r}…")
        try:
            await asyncio.to_thread(self.api.delete_key, key.uid)
        except ApiFailure as failure:
            if failure.status == 404:
                # Deleted elsewhere, or no longer visible to this user: either way it
                # is gone, so the table should not offer it.
                self.table.remove_key(key.uid)
                self._report(failure, f"Cannot delete {key.name!r}; it was removed from the list")
            else:
                self._report(failure, f"Cannot delete {key.name!r}")
            return
        self.table.remove_key(key.uid)
        self._set_status(f"Deleted {key.name!r}. The server now rejects every request with it.")
        self.notify(f"Deleted API key {key.name!r}.", title="Key deleted", markup=False)

    def _show_rows(self, rows: list[KeyRow]) -> None:
        self.table.show(rows)
        count = "1 key" if len(rows) == 1 else f"{len(rows)} keys"
        self._set_status(f"{count}. Press c to create a key, d to delete the selected one.")

    def _report(self, failure: ApiFailure, context: str, hint: str = "") -> None:
        """Show a failure in the status line and as a notification, and stay usable."""
        self._set_status(f"{context}. {failure.sentence()}{hint}", error=True)
        self.notify(failure.message, title=failure.title, severity="error", markup=False)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        status.set_class(error, "error")
