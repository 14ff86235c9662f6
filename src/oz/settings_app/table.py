"""The key table: Name, Key, Scope, Created, Last used and Expires at, sorted by one column."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from oz.settings_app.api import KeyRow

NEVER = "Never"
ASCENDING_MARK = " ▲"
DESCENDING_MARK = " ▼"


def format_time(moment: datetime | None) -> str:
    """Render a time as `YYYY-MM-DD HH:MM UTC`, as the `oz` commands do, or `Never`."""
    if moment is None:
        return NEVER
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_expiry(moment: datetime | None) -> str:
    text = format_time(moment)
    if moment is not None and moment <= datetime.now(UTC):
        return f"{text} (expired)"
    return text


def _time_order(moment: datetime | None) -> tuple[int, datetime]:
    """Sort `None` (never used, never expires) after every time."""
    return (1, datetime.max.replace(tzinfo=UTC)) if moment is None else (0, moment)


@dataclass(frozen=True)
class Column:
    """A table column: how a key is shown in it and how the column sorts keys."""

    key: str
    label: str
    render: Callable[[KeyRow], str]
    order: Callable[[KeyRow], Any]


COLUMNS = (
    Column("name", "Name", lambda row: row.name, lambda row: row.name.casefold()),
    Column("key", "Key", lambda row: row.masked_key, lambda row: row.key_suffix),
    Column(
        "scope",
        "Scope",
        lambda row: row.scope,
        lambda row: (row.type, row.scope_name.casefold()),
    ),
    Column(
        "created", "Created", lambda row: format_time(row.created_at), lambda row: row.created_at
    ),
    Column(
        "last_used",
        "Last used",
        lambda row: format_time(row.last_used_at),
        lambda row: _time_order(row.last_used_at),
    ),
    Column(
        "expires",
        "Expires at",
        lambda row: format_expiry(row.expires_at),
        lambda row: _time_order(row.expires_at),
    ),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)


class KeyTable(DataTable[Text]):
    """The keys of the signed-in user, one row each, with the cursor on whole rows.

    Rows are sorted here rather than by the server, so a new sort needs no request.
    The header of the sort column carries ▲ (ascending) or ▼ (descending).
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.api_keys: dict[str, KeyRow] = {}
        self.sort_column = "created"
        self.sort_descending = True  # newest first, as the web page lists keys

    def show(self, rows: Iterable[KeyRow]) -> None:
        """Replace the rows, keeping the cursor on the same key when it is still listed."""
        selected = self.selected_key()
        self.api_keys = {row.uid: row for row in rows}
        self._redraw(selected.uid if selected else None)

    def remove_key(self, uid: str) -> None:
        self.api_keys.pop(uid, None)
        self._redraw(None)

    def sort_by(self, column_key: str) -> None:
        """Sort by a column, or reverse the order when it is the current sort column."""
        if column_key == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_column, self.sort_descending = column_key, False
        selected = self.selected_key()
        self._redraw(selected.uid if selected else None)

    def selected_key(self) -> KeyRow | None:
        if self.row_count == 0:
            return None
        row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.api_keys.get(str(row_key.value))

    def listed_uids(self) -> list[str]:
        """Return the key uids in the order shown, top to bottom."""
        return [
            str(self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value)
            for index in range(self.row_count)
        ]

    def listed_names(self) -> list[str]:
        return [self.api_keys[uid].name for uid in self.listed_uids()]

    def _redraw(self, keep_uid: str | None) -> None:
        self.clear(columns=True)
        for column in COLUMNS:
            self.add_column(self._header(column), key=column.key)

        sort = next(column for column in COLUMNS if column.key == self.sort_column)
        ordered = sorted(
            self.api_keys.values(),
            key=lambda row: (sort.order(row), row.uid),
            reverse=self.sort_descending,
        )
        for row in ordered:
            # Text, not str: the table reads a str as markup, and names are user data.
            self.add_row(*(Text(column.render(row)) for column in COLUMNS), key=row.uid)

        if keep_uid in self.api_keys:
            self.move_cursor(row=self.get_row_index(keep_uid))

    def _header(self, column: Column) -> Text:
        if column.key != self.sort_column:
            return Text(column.label)
        mark = DESCENDING_MARK if self.sort_descending else ASCENDING_MARK
        return Text(column.label + mark, style="bold")
