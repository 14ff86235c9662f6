"""The dialog that confirms deleting a key."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from oz.settings_app.api import KeyRow
from oz.settings_app.table import format_time

CONSEQUENCE = (
    "It stops working at once: the server rejects every later request that uses it."
    " This cannot be undone."
)


class DeleteKeyScreen(ModalScreen[bool]):
    """Ask whether to delete a key, and return True to delete it. Cancel has the focus."""

    DEFAULT_CSS = """
    DeleteKeyScreen { align: center middle; }
    DeleteKeyScreen #dialog {
        width: 64; height: auto; border: thick $error; background: $surface; padding: 0 2;
    }
    DeleteKeyScreen .title { text-style: bold; padding: 1 0; }
    DeleteKeyScreen #consequence { margin-top: 1; }
    DeleteKeyScreen #buttons { height: auto; margin: 1 0; align-horizontal: right; }
    DeleteKeyScreen #buttons Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, key: KeyRow) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        key = self.key
        with Vertical(id="dialog"):
            yield Static(f"Delete API key “{key.name}”?", classes="title", markup=False)
            yield Static(
                f"{key.masked_key} · {key.scope} · created {format_time(key.created_at)}",
                markup=False,
            )
            yield Static(CONSEQUENCE, id="consequence")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Delete key", variant="error", id="delete")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete")
    def _delete_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(False)
