"""The settings app: a sidebar of sections beside the section shown, and a footer of keys."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, Tree

from oz.settings_app.api import KeyRow, SettingsApi
from oz.settings_app.keys_section import KeysSection
from oz.settings_app.sidebar import API_KEYS, Sidebar


class SettingsScreen(Screen[None]):
    """The main screen, which the dialogs open above."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]

    def __init__(self, api: SettingsApi, rows: list[KeyRow] | None) -> None:
        super().__init__()
        self.api = api
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield Sidebar()
            with ContentSwitcher(initial=API_KEYS.id, id="sections"):
                yield KeysSection(self.api, self.rows, id=API_KEYS.id)
        yield Footer()

    def on_mount(self) -> None:
        self.rows = None  # the section has them now
        self.query_one(f"#{API_KEYS.id} KeyTable").focus()

    @on(Tree.NodeSelected, "#sidebar")
    def _section_selected(self, event: Tree.NodeSelected[str]) -> None:
        section_id = event.node.data
        if section_id is None:
            return
        self.query_one(ContentSwitcher).current = section_id
        section = self.query_one(f"#{section_id}")
        # Move the focus into the section, so its key bindings apply at once.
        next(iter(section.query("KeyTable")), section).focus()


class SettingsApp(App[None]):
    """`oz settings`: manage API keys against one server with one credential.

    `rows` is the key list when the caller has already fetched it, which saves the first
    request.
    """

    TITLE = "Oz settings"

    def __init__(self, api: SettingsApi, rows: list[KeyRow] | None = None) -> None:
        super().__init__()
        self.api = api
        self._rows = rows
        source = f" · credential from {api.credential_source}" if api.credential_source else ""
        self.sub_title = f"{api.client.root_url}{source}"

    def on_mount(self) -> None:
        self.push_screen(SettingsScreen(self.api, self._rows))
        self._rows = None
