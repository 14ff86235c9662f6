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
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold")
    for header, _ in columns:
        table.add_column(header, overflow="fold", no_wrap=header in UNWRAPPED_COLUMNS)
    for row in rows:
        table.add_row(*(render(row) for _, render in columns))
    console = Console(soft_wrap=False)
    if rows:
        console.print(table)
    else:
        console.print(f"No {title.lower() if title else 'results'}.")


def warn(message: str) -> None:
    """Print a warning on standard error, in yellow on a terminal."""
    if sys.stderr.isatty():
        message = f"\033[33m{message}\033[0m"
    print(message, file=sys.stderr)


def info(message: str) -> None:
    """Print progress on standard error, so standard output stays the result."""
    print(message, file=sys.stderr)
