"""Jinja2 templates of the web app, with the filters they use."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from oz.clock import ensure_utc, isoformat

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


def sentence(message: str) -> str:
    """Turn a service message such as "name must be ..." into a sentence for a page."""
    text = message.strip()
    if not text:
        return text
    first_word = text.split(" ", 1)[0]
    # Capitalize words only: not an email address, a field name or a value.
    if first_word.isalpha() and first_word.islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def display_time(value: datetime | None, never: str = "Never") -> str:
    if value is None:
        return never
    return ensure_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def _can_administer(request: Request) -> dict[str, Any]:
    """Tell the templates whether to show the Admin Panel link."""
    return {"can_administer": bool(getattr(request.state, "can_administer", False))}


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_can_administer])
templates.env.filters["sentence"] = sentence
templates.env.filters["display_time"] = display_time
templates.env.filters["isoformat"] = isoformat


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
