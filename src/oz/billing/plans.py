"""Plans and the plan-included credits each user gets per billing cycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

PLANS = ("free", "build", "max", "business", "enterprise")
# Plans whose teams may run cloud agents on workers.
CLOUD_PLANS = ("build", "max", "business", "enterprise")
MILLI = 1000  # credits are stored in thousandths, so fractional usage is exact
ADMISSION_MINIMUM_MILLI = 20 * MILLI

# Build's 1,500 credits a cycle come from the public Oz documentation. The other
# amounts are not public; these defaults are oz's own, and OZ_PLAN_CREDITS_<PLAN>
# overrides each of them.
DEFAULT_INCLUDED_CREDITS = {"free": 150, "build": 1500, "max": 6000, "business": 3000}


class PlanError(ValueError):
    """A plan name or a plan's credit amount is invalid."""


@dataclass(frozen=True)
class PlanCatalog:
    """Plan-included credits per user per cycle, by plan. Enterprise teams use a pool."""

    included_credits: Mapping[str, int] = field(
        default_factory=lambda: dict(DEFAULT_INCLUDED_CREDITS)
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PlanCatalog:
        amounts = dict(DEFAULT_INCLUDED_CREDITS)
        for plan in amounts:
            variable = f"OZ_PLAN_CREDITS_{plan.upper()}"
            value = environ.get(variable)
            if value is None:
                continue
            if not value.isdigit() or int(value) > 10_000_000:
                raise PlanError(
                    f"{variable} must be a whole number of credits from 0 to 10000000,"
                    f" got {value!r}"
                )
            amounts[plan] = int(value)
        return cls(amounts)

    def included_milli(self, plan: str) -> int:
        return self.included_credits.get(plan, 0) * MILLI


def check_plan(plan: str) -> str:
    value = plan.strip().lower()
    if value not in PLANS:
        raise PlanError(f"plan {plan!r} is not one of {', '.join(PLANS)}")
    return value


def cycle_of(moment: datetime) -> str:
    """Return the billing cycle of `moment`: its calendar month in UTC, as `YYYY-MM`."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def cycle_end(moment: datetime) -> datetime:
    """Return the start of the calendar month after `moment`, in UTC."""
    utc = moment.astimezone(UTC)
    if utc.month == 12:
        return datetime(utc.year + 1, 1, 1, tzinfo=UTC)
    return datetime(utc.year, utc.month + 1, 1, tzinfo=UTC)


def to_milli(credits: float) -> int:
    return round(credits * MILLI)


def to_credits(milli: int) -> float:
    return milli / MILLI


def format_credits(milli: int) -> str:
    """Render an amount as credits with at most three decimals, such as `1,234.5`."""
    text = f"{milli / MILLI:,.3f}".rstrip("0").rstrip(".")
    return text or "0"
