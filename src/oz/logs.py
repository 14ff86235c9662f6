"""Logging set-up: human-readable lines by default, JSON lines with `OZ_LOG_FORMAT=json`."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from oz.clock import isoformat, utcnow

# Attributes of every LogRecord; anything else passed in `extra` is an event field.
# uvicorn adds `color_message`, a copy of the message with terminal colours.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "color_message",
}
# Fields that a text line already shows in its message.
_TEXT_INLINE_FIELDS = {"method", "path", "status", "duration_ms"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": isoformat(utcnow()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(_fields(record))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in _fields(record).items() if k not in _TEXT_INLINE_FIELDS}
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


def configure(log_format: str, level: str) -> None:
    """Send oz's and uvicorn's logs to standard error in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # oz writes its own access log line with the principal; uvicorn's would repeat it.
    logging.getLogger("uvicorn.access").disabled = True
