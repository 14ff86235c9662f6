"""Render every error as `application/problem+json` with an Oz error code."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from oz.errors import (
    InternalError,
    InvalidRequest,
    OzError,
    ResourceNotFound,
    UpstreamUnavailable,
)
from oz.keys import redact

logger = logging.getLogger("oz.server")

PROBLEM_JSON = "application/problem+json"


def problem_response(request: Request, error: OzError, status: int | None = None) -> JSONResponse:
    trace_id = getattr(request.state, "request_id", None)
    body = error.to_problem(redact(request.url.path), trace_id)
    if status is not None:
        body["status"] = status
    return JSONResponse(body, status_code=status or error.status, media_type=PROBLEM_JSON)


async def _oz_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OzError)
    return problem_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first: dict[str, Any] = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        error = InvalidRequest("the request body is not valid JSON", field="body")
    elif location == ["body"] and first.get("type") == "missing":
        error = InvalidRequest("a JSON request body is required", field="body")
    else:
        field = ".".join(location[1:]) or location[0] if location else "body"
        error = InvalidRequest(f"{field}: {first.get('msg', 'invalid value')}", field=field)
    return problem_response(request, error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem_response(request, ResourceNotFound(f"no such path: {request.url.path}"))
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail) if exc.detail else "invalid request"
    return problem_response(request, InvalidRequest(detail), exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    trace_id = getattr(request.state, "request_id", None)
    logger.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": trace_id},
    )
    return problem_response(
        request, InternalError(f"unexpected server error; quote trace id {trace_id}")
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Return 503 when the database cannot be reached or stays locked: a retry may work."""
    trace_id = getattr(request.state, "request_id", None)
    logger.error(
        "database unavailable on %s %s: %s",
        request.method,
        redact(request.url.path),
        exc.__class__.__name__,
        extra={"request_id": trace_id},
    )
    return problem_response(
        request,
        UpstreamUnavailable(f"the database is unavailable: retry; quote trace id {trace_id}"),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(OzError, _oz_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
