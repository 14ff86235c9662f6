"""Print results as JSON, NDJSON, plain text or pretty tables.

JSON output is the API's objects unchanged, so scripts can rely on the documented
fields. Rich is imported only when a pretty table is printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

Column = tuple[str, Callable[[dict[str, Any]], str]]
# Columns whose values are read or copied whole (ids, masked keys, times).
UNWRAPPED_COLUMNS = {"UID", "Run ID", "Key", "Created", "Last used", "Expires at"}


def when(value: str | None, empty: str = "Never") -> str:
    """Render an RFC 3339 time as `YYYY-MM-DD HH:MM UTC`."""
    if not value:
        return empty
    from datetime import datetime

    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def credits_text(value: float) -> str:
    """Render credits with at most three decimals and thousands separators."""
    return f"{value:,.3f}".rstrip("0").rstrip(".") or "0"


def emit_object(output_format: str, obj: Any, text: str | None = None) -> None:
    """Print one object: JSON for json/ndjson, otherwise `text`."""
    if output_format in ("json", "ndjson") or text is None:
        print(json.dumps(obj, indent=2 if output_format == "json" else None))
    else:
        print(text)


def emit_rows(
    output_format: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    *,
    json_document: Any = None,
    title: str | None = None,
) -> None:
    """Print a list: a JSON document, one JSON object a line, tab-separated text or a table."""
    if output_format == "json":
        print(json.dumps(json_document if json_document is not None else rows, indent=2))
    elif output_format == "ndjson":
        for row in rows:
            print(json.dumps(row))
    elif output_format == "text":
        for row in rows:
            print("\t".join(render(row) for _, render in columns))
    else:
        _table(rows, columns, title)


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], title: str | None) -> None:
    """Print a table, or one block per row when the table is wider than the terminal."""
    from rich.console import Console
    from rich.table import Table

    # Values are user data: no Rich markup, emoji codes or highlighting in them.
    console = Console(soft_wrap=False, markup=False, emoji=False, highlight=False)
    if not rows:
        console.print(f"No {title[:1].lower() + title[1:] if title else 'results'} to show.")
        return
    cells = [[render(row) for _, render in columns] for row in rows]
    headers = [header for header, _ in columns]
    widths = [
        max(len(header), *(len(line[index]) for line in cells))
        for index, header in enumerate(headers)
    ]
    if sum(widths) + 3 * len(widths) + 1 > console.width:
        _records(headers, cells, title)
        return

    table = Table(title=title, title_justify="left", header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold", no_wrap=header in UNWRAPPED_COLUMNS)
    for line in cells:
        table.add_row(*line)
    console.print(table)


def _records(headers: Sequence[str], cells: Sequence[Sequence[str]], title: str | None) -> None:
    """Print each row as `Header: value` lines, which stay whole at any terminal width."""
    width = max(len(header) for header in headers) + 1
    if title:
        print(f"{title}\n")
    for index, line in enumerate(cells):
        if index:
            print()
        for header, value in zip(headers, line, strict=True):
            print(f"{header + ':':<{width}} {value}")


def warn(message: str) -> None:
    """Print a warning on standard error, in yellow on a terminal."""
    if sys.stderr.isatty():
        message = f"\033[33m{message}\033[0m"
    print(message, file=sys.stderr)


def info(message: str) -> None:
    """Print progress on standard error, so standard output stays the result."""
    print(message, file=sys.stderr)
