"""Payment providers: what charges money for an add-on pack.

- `SelfHostedProvider`: the default. Self-hosted operators grant credits with
  `ozd credits grant`, so it declines every automatic charge with a message that explains this.
- `HttpPaymentProvider`: a payment processor reached over HTTP with the PaymentIntents
  protocol: `POST {base}/v1/payment_intents` with a form body (`amount` in cents,
  `currency`, `confirm=true`, `description`, `metadata[...]`), a bearer secret key and an
  `Idempotency-Key` header. A 200 response with `status: "succeeded"` approves; a 402 or any
  other status declines; a timeout or a connection failure fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger("oz.billing")

APPROVED = "approved"
DECLINED = "declined"
FAILED = "failed"


@dataclass(frozen=True)
class PaymentRequest:
    team_uid: str
    user_uid: str
    credits: int
    amount_cents: int
    idempotency_key: str


@dataclass(frozen=True)
class PaymentResult:
    status: str  # approved, declined or failed
    reference: str | None = None
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    def charge(self, request: PaymentRequest) -> PaymentResult: ...


class SelfHostedProvider:
    """Decline automatic charges: credits come from operators' grants."""

    name = "self-hosted"

    def charge(self, request: PaymentRequest) -> PaymentResult:
        return PaymentResult(
            DECLINED,
            message="this server has no payment processor: an operator grants credits with"
            " `ozd credits grant`",
        )


@dataclass
class HttpPaymentProvider:
    """A payment processor that speaks the PaymentIntents protocol over HTTP."""

    base_url: str
    secret_key: str = field(repr=False)
    timeout_seconds: float = 10.0
    name: str = "http"

    def charge(self, request: PaymentRequest) -> PaymentResult:
        import httpx

        form = {
            "amount": str(request.amount_cents),
            "currency": "usd",
            "confirm": "true",
            "description": f"oz add-on pack of {request.credits} credits",
            "metadata[team_uid]": request.team_uid,
            "metadata[user_uid]": request.user_uid,
            "metadata[credits]": str(request.credits),
        }
        headers = {
            "Authorization": f"Bearer {self.secret_key}",
            "Idempotency-Key": request.idempotency_key,
        }
        try:
            response = httpx.post(
                f"{self.base_url.rstrip('/')}/v1/payment_intents",
                data=form,
                headers=headers,
                timeout=self.timeout_seconds,
            )
        except httpx.TimeoutException:
            return PaymentResult(FAILED, message="the payment processor timed out")
        except httpx.HTTPError as exc:
            return PaymentResult(FAILED, message=f"the payment processor is unreachable: {exc}")

        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("status") == "succeeded":
            return PaymentResult(APPROVED, reference=str(body.get("id")))
        error = body.get("error") or body.get("last_payment_error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return PaymentResult(
            DECLINED,
            reference=str(body.get("id")) if body.get("id") else None,
            message=message or f"the payment processor returned HTTP {response.status_code}",
        )
