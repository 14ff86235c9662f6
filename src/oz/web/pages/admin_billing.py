"""Admin Panel > Billing: auto-reload, the reload pack and threshold, the monthly spend cap."""

from __future__ import annotations

import logging
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from oz.billing.settings import PACKS, SettingsChange, settings_of, settings_view, update_settings
from oz.clock import utcnow
from oz.errors import OzError
from oz.server.deps import State
from oz.server.state import ServerState
from oz.web.admin import AdminForm, AdminPage, AdminTeam, admin_context
from oz.web.rendering import render

router = APIRouter(prefix="/admin/billing")
logger = logging.getLogger("oz.web")

FIELDS = ("auto_reload", "reload_pack_credits", "reload_threshold_credits", "monthly_cap_usd")
NOTICES = {"saved": "The billing settings were saved."}


def _billing_page(
    request: Request,
    state: ServerState,
    admin: AdminTeam,
    *,
    notice: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    # A write transaction: the settings row is created with the defaults on first use.
    with state.database.transaction() as session:
        view = settings_view(session, settings_of(session, admin.team_uid), utcnow())
    shown = {name: view[name] for name in FIELDS} | (values or {})
    context = admin_context(
        state,
        admin,
        "billing",
        billing=view,
        packs=PACKS,
        notice=NOTICES.get(notice or ""),
        values=shown,
        errors=errors or {},
    )
    return render(request, "admin_billing.html", context, status_code)


@router.get("")
def billing_page(
    request: Request, state: State, admin: AdminPage, notice: str | None = None
) -> Response:
    return _billing_page(request, state, admin, notice=notice)


def _parse(
    pack: str, threshold: str, cap: str
) -> tuple[int | None, int | None, float | None, dict[str, str]]:
    errors: dict[str, str] = {}
    pack_credits = threshold_credits = None
    cap_usd = None
    try:
        pack_credits = int(pack)
    except ValueError:
        errors["reload_pack_credits"] = "choose a pack: " + ", ".join(map(str, PACKS))
    try:
        threshold_credits = int(threshold.strip())
    except ValueError:
        errors["reload_threshold_credits"] = "enter a whole number of credits, such as 100"
    try:
        cap_usd = float(cap.strip().removeprefix("$").replace(",", ""))
        if not math.isfinite(cap_usd):
            raise ValueError(cap)
    except ValueError:
        errors["monthly_cap_usd"] = "enter an amount in dollars, such as 200 or 49.50"
    return pack_credits, threshold_credits, cap_usd, errors


@router.post("")
def save(
    request: Request,
    state: State,
    admin: AdminForm,
    auto_reload: Annotated[str, Form()] = "",
    reload_pack_credits: Annotated[str, Form()] = "",
    reload_threshold_credits: Annotated[str, Form()] = "",
    monthly_cap_usd: Annotated[str, Form()] = "",
) -> Response:
    values: dict[str, Any] = {
        "auto_reload": auto_reload == "on",
        "reload_pack_credits": reload_pack_credits,
        "reload_threshold_credits": reload_threshold_credits,
        "monthly_cap_usd": monthly_cap_usd,
    }
    pack, threshold, cap, errors = _parse(
        reload_pack_credits, reload_threshold_credits, monthly_cap_usd
    )
    if errors:
        return _billing_page(request, state, admin, values=values, errors=errors, status_code=400)

    change = SettingsChange(
        auto_reload=auto_reload == "on",
        reload_pack_credits=pack,
        reload_threshold_credits=threshold,
        monthly_cap_usd=cap,
    )
    try:
        with state.database.transaction() as session:
            update_settings(session, admin.found.principal, admin.team_uid, change)
    except OzError as exc:
        logger.info("billing change rejected", extra={"team_uid": admin.team_uid, "code": exc.code})
        field = str(exc.extras.get("field", "form"))
        errors = {field if field in FIELDS else "form": str(exc.detail)}
        return _billing_page(
            request, state, admin, values=values, errors=errors, status_code=exc.status
        )

    logger.info("billing settings changed", extra={"team_uid": admin.team_uid})
    query = urlencode({"team": admin.team_uid, "notice": "saved"})
    return RedirectResponse(f"/admin/billing?{query}", status_code=303)
