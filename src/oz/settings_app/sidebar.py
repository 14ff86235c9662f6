"""The sidebar: groups of settings sections, such as Cloud platform > Oz Cloud API Keys."""

from __future__ import annotations

from dataclasses import dataclass

from textual.widgets import Tree
from textual.widgets.tree import TreeNode


@dataclass(frozen=True)
class Section:
    """A page of the app, shown by the widget whose id is `id`."""

    id: str
    title: str


@dataclass(frozen=True)
class SectionGroup:
    title: str
    sections: tuple[Section, ...]


API_KEYS = Section("api-keys", "Oz Cloud API Keys")
SECTION_GROUPS = (SectionGroup("Cloud platform", (API_KEYS,)),)


class Sidebar(Tree[str]):
    """A tree of section groups. Selecting a section posts `Tree.NodeSelected` with its id."""

    DEFAULT_CSS = """
    Sidebar { width: 24; border-right: vkey $primary; padding: 1 0 0 1; }
    """

    def __init__(self, groups: tuple[SectionGroup, ...] = SECTION_GROUPS) -> None:
        super().__init__("Settings", id="sidebar")
        self.show_root = False
        self.guide_depth = 2
        self._first_section: TreeNode[str] | None = None
        for group in groups:
            branch = self.root.add(group.title, expand=True)
            for section in group.sections:
                leaf = branch.add_leaf(section.title, data=section.id)
                self._first_section = self._first_section or leaf

    def on_mount(self) -> None:
        # The tree numbers its lines when it first renders, and the cursor moves by line.
        self.call_after_refresh(self.move_cursor, self._first_section)
