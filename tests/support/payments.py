"""A local payment processor that speaks the PaymentIntents protocol oz's provider uses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.support.loopback import JsonHandler, serving

SECRET_KEY = "sk_test_local_processor"


@dataclass
class FakeProcessor:
    """Approves, declines or stalls `POST /v1/payment_intents`, and records every request."""

    mode: str = "approve"  # approve, decline or timeout
    stall_seconds: float = 3.0
    requests: list[dict[str, object]] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(
        self, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.requests.append({"form": form, "headers": headers})
            number = len(self.requests)
        if headers.get("authorization") != f"Bearer {SECRET_KEY}":
            return 401, {"error": {"type": "invalid_request_error", "message": "bad API key"}}
        if self.mode == "timeout":
            time.sleep(self.stall_seconds)
        if self.mode == "decline":
            return 402, {
                "error": {
                    "type": "card_error",
                    "code": "card_declined",
                    "message": "Your card was declined.",
                }
            }
        return 200, {"id": f"pi_{number}", "status": "succeeded", "amount": int(form["amount"])}


@contextmanager
def running_processor(processor: FakeProcessor) -> Iterator[FakeProcessor]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:  # the name http.server dispatches to
            if self.path != "/v1/payment_intents":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(body).items()}
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer = processor.handle(form, headers)
            self.send_json(status, answer)

    with serving(Handler) as url:
        processor.url = url
        yield processor
