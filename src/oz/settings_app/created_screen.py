"""The dialog that shows a new key's raw value, once, with a copy action."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

from oz.settings_app.api import CreatedKey
from oz.settings_app.table import format_time

WARNING = (
    "This is the only time the key is shown: the server keeps only a digest of it."
    " Copy it now and store it in a secret manager."
)
COPIED = (
    "Copied to the clipboard. The terminal must allow clipboard writes (OSC 52)."
    " If pasting gives nothing, select the key with the mouse instead."
)


class KeyCreatedScreen(ModalScreen[None]):
    """Show the raw key until the user closes the dialog, then drop it.

    Closing clears the dialog and Textual's own copy of the clipboard, so the raw key
    stays only in the terminal's clipboard, if the user copied it.
    """

    DEFAULT_CSS = """
    KeyCreatedScreen { align: center middle; }
    KeyCreatedScreen #dialog {
        width: 72; height: auto; border: thick $success; background: $surface; padding: 0 2;
    }
    KeyCreatedScreen .title { text-style: bold; padding: 1 0; }
    KeyCreatedScreen #raw-key {
        border: round $accent; padding: 0 1; text-style: bold;
    }
    KeyCreatedScreen #warning { color: $warning; margin-top: 1; }
    KeyCreatedScreen #copy-status { color: $success; height: auto; margin-top: 1; display: none; }
    KeyCreatedScreen #buttons { height: auto; margin: 1 0; align-horizontal: right; }
    KeyCreatedScreen #buttons Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy key"),
        Binding("escape", "done", "Done"),
    ]

    def __init__(self, created: CreatedKey) -> None:
        super().__init__()
        self._raw_key = created.raw_key
        row = created.row
        self._summary = f"{row.name} · {row.scope} · expires at {format_time(row.expires_at)}"

    def __repr__(self) -> str:
        return "KeyCreatedScreen()"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("API key created", classes="title")
            yield Static(self._summary, id="summary")
            yield Static(self._raw_key, id="raw-key", markup=False)
            yield Static(WARNING, id="warning")
            yield Static(id="copy-status")
            with Horizontal(id="buttons"):
                yield Button("Copy key", variant="primary", id="copy")
                yield Button("Done", id="done")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#copy", Button).focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._raw_key)
        status = self.query_one("#copy-status", Static)
        status.update(COPIED)
        status.display = True
        self.notify("Copied the new key to the clipboard.", title="Copied")

    def action_done(self) -> None:
        self._forget_key()
        self.dismiss(None)

    @on(Button.Pressed, "#copy")
    def _copy_pressed(self) -> None:
        self.action_copy()

    @on(Button.Pressed, "#done")
    def _done_pressed(self) -> None:
        self.action_done()

    def _forget_key(self) -> None:
        if self.app.clipboard == self._raw_key:
            # NOTE: Textual keeps the last copied text in the private `App._clipboard` and
            # offers no public way to clear it. Clearing it leaves the terminal's
            # clipboard, which the user copied the key to, as it is.
            self.app._clipboard = ""
        self.query_one("#raw-key", Static).update("")
        self._raw_key = ""
