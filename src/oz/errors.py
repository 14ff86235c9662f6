"""Errors that carry an Oz error code, rendered as RFC 7807 problem details.

    OzError
    ├── AuthenticationRequired          401  authentication_required
    │   └── SignInLocked                401  authentication_required
    ├── ExternalAuthenticationRequired  401  external_authentication_required
    ├── InsufficientCredits             403  insufficient_credits
    ├── BudgetExceeded                  403  budget_exceeded
    ├── FeatureNotAvailable             403  feature_not_available
    ├── NotAuthorized                   403  not_authorized
    ├── InvalidRequest                  400  invalid_request
    ├── ResourceNotFound                404  resource_not_found
    ├── Conflict                        409  conflict
    ├── OperationNotSupported           422  operation_not_supported
    ├── EnvironmentSetupFailed          500  environment_setup_failed
    ├── ResourceUnavailable             429  resource_unavailable
    │   └── UpstreamUnavailable         503  resource_unavailable
    ├── AgentProcessFailed              500  agent_process_failed
    └── InternalError                   500  internal_error

Domain services raise these; the server renders them and the CLI maps the codes back
to messages and exit codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from oz.keys import redact

DOCS_PATH = "/reference/api-and-sdk/troubleshooting/errors/"


class OzError(Exception):
    """An error with an Oz error code, an HTTP status and a retryable flag."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    retryable: ClassVar[bool] = True

    def __init__(self, detail: str | None = None, **extras: Any) -> None:
        # A detail may quote a caller's input, which could be a key pasted by mistake.
        detail = redact(detail) if detail else detail
        super().__init__(detail or self.title)
        self.detail = detail
        self.extras = extras

    @classmethod
    def type_uri(cls) -> str:
        return DOCS_PATH + cls.code.replace("_", "-") + "/"

    def to_problem(self, instance: str, trace_id: str | None = None) -> dict[str, Any]:
        """Return the problem+json body of this error for the request path `instance`."""
        problem: dict[str, Any] = {
            "type": self.type_uri(),
            "title": self.title,
            "status": self.status,
            "instance": instance,
            "error": f"{self.title} ({self.detail})" if self.detail else self.title,
            "retryable": self.retryable,
        }
        if self.detail:
            problem["detail"] = self.detail
        if trace_id:
            problem["trace_id"] = trace_id
        problem.update(self.extras)
        return problem


class AuthenticationRequired(OzError):
    """The request carries no valid credential."""

    code = "authentication_required"
    status = 401
    title = "Authentication required"
    retryable = False


class SignInLocked(AuthenticationRequired):
    """Too many failed sign-ins for one email address or from one client address.

    `lock` is "email" or "client"; sign-in may be tried again after `locked_until`.
    """

    def __init__(self, detail: str, locked_until: datetime, lock: str = "email") -> None:
        super().__init__(detail)
        self.locked_until = locked_until
        self.lock = lock


class ExternalAuthenticationRequired(OzError):
    """An external account (GitHub) must be connected or authorized first."""

    code = "external_authentication_required"
    status = 401
    title = "External authentication required"
    retryable = False


class InsufficientCredits(OzError):
    """No credits are left in the pools the run may draw from."""

    code = "insufficient_credits"
    status = 403
    title = "Insufficient credits"
    retryable = False


class BudgetExceeded(OzError):
    """The team-wide monthly spend cap is reached."""

    code = "budget_exceeded"
    status = 403
    title = "Budget exceeded"
    retryable = False


class FeatureNotAvailable(OzError):
    """The team's plan does not include the feature."""

    code = "feature_not_available"
    status = 403
    title = "Feature not available"
    retryable = False


class NotAuthorized(OzError):
    """The principal may not perform the operation."""

    code = "not_authorized"
    status = 403
    title = "Not authorized"
    retryable = False


class InvalidRequest(OzError):
    """A field is missing or invalid; `detail` names it."""

    code = "invalid_request"
    status = 400
    title = "Invalid request"
    retryable = False

    def __init__(self, detail: str, field: str | None = None, **extras: Any) -> None:
        if field is not None:
            extras["field"] = field
        super().__init__(detail, **extras)


class ResourceNotFound(OzError):
    """The id is unknown, deleted, or belongs to another team."""

    code = "resource_not_found"
    status = 404
    title = "Resource not found"
    retryable = False


class Conflict(OzError):
    """The resource is in a state that does not allow the operation yet."""

    code = "conflict"
    status = 409
    title = "Conflict"
    retryable = True


class OperationNotSupported(OzError):
    """The operation does not apply to this kind of resource."""

    code = "operation_not_supported"
    status = 422
    title = "Operation not supported"
    retryable = False


class EnvironmentSetupFailed(OzError):
    """A clone or setup command failed before the agent started."""

    code = "environment_setup_failed"
    status = 500
    title = "Environment setup failed"
    retryable = False


class ResourceUnavailable(OzError):
    """Capacity is full; try again later."""

    code = "resource_unavailable"
    status = 429
    title = "Resource unavailable"
    retryable = True


class UpstreamUnavailable(ResourceUnavailable):
    """A service oz depends on, such as GitHub, cannot be reached; try again later."""

    status = 503


class AgentProcessFailed(OzError):
    """The agent process exited abnormally after setup."""

    code = "agent_process_failed"
    status = 500
    title = "Agent process failed"
    retryable = False


class InternalError(OzError):
    """An unexpected server error."""


ERRORS_BY_CODE: dict[str, type[OzError]] = {
    cls.code: cls
    for cls in (
        AuthenticationRequired,
        ExternalAuthenticationRequired,
        InsufficientCredits,
        BudgetExceeded,
        FeatureNotAvailable,
        NotAuthorized,
        InvalidRequest,
        ResourceNotFound,
        Conflict,
        OperationNotSupported,
        EnvironmentSetupFailed,
        ResourceUnavailable,
        AgentProcessFailed,
        InternalError,
    )
}
