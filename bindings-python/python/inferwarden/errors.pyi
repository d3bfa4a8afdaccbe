"""Type stubs for the exception tree (checked against the runtime classes by the tests)."""

from typing import Any, ClassVar

class InferwardenError(Exception):
    code: str | None
    http_status: int
    family: str | None
    default_user_action: ClassVar[str]
    detail: str
    user_action: str
    metadata: dict[str, Any]
    def __init__(
        self,
        detail: str = ...,
        *,
        code: str | None = ...,
        user_action: str | None = ...,
        http_status: int | None = ...,
        metadata: dict[str, Any] | None = ...,
    ) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...

class AuthError(InferwardenError): ...
class ConfigurationError(InferwardenError): ...
class RateLimitError(InferwardenError): ...
class CorsError(InferwardenError): ...
class RoutingError(InferwardenError): ...
class LifecycleError(InferwardenError): ...
class RequestError(InferwardenError): ...
class CapacityError(InferwardenError): ...
class DependencyError(InferwardenError): ...
class ServerError(InferwardenError): ...

class InvalidApiKeyError(AuthError):
    code: str  # "invalid_api_key", HTTP 403
class SessionRequiredError(AuthError):
    code: str  # "session_required", HTTP 401
class SessionExpiredError(AuthError):
    code: str  # "session_expired", HTTP 401
class SessionInvalidError(AuthError):
    code: str  # "session_invalid", HTTP 401
class AdminSessionRequiredError(AuthError):
    code: str  # "admin_session_required", HTTP 401
class AdminKeyInvalidError(AuthError):
    code: str  # "admin_key_invalid", HTTP 403
class AdminMisconfiguredError(ConfigurationError):
    code: str  # "admin_misconfigured", HTTP 503
class ServerMisconfiguredError(ConfigurationError):
    code: str  # "server_misconfigured", HTTP 503
class RateLimitedError(RateLimitError):
    code: str  # "rate_limited", HTTP 429
class CorsOriginBlockedError(CorsError):
    code: str  # "cors_origin_blocked", HTTP 403
class TaskNotFoundError(RoutingError):
    code: str  # "task_not_found", HTTP 404
class ProxyTargetInvalidError(RoutingError):
    code: str  # "proxy_target_invalid", HTTP 400
class RemoteUnavailableError(RoutingError):
    code: str  # "remote_unavailable", HTTP 502
class InvalidTransitionError(LifecycleError):
    code: str  # "invalid_transition", HTTP 409
class RequestValidationError(RequestError):
    code: str  # "validation_error", HTTP 422
class QueueOverloadedError(CapacityError):
    code: str  # "queue_overloaded", HTTP 503
class GpuMemoryExceededError(CapacityError):
    code: str  # "gpu_memory_exceeded", HTTP 507
class DependencyUnavailableError(DependencyError):
    code: str  # "dependency_unavailable", HTTP 503
class ConfigInvalidError(ConfigurationError):
    code: str  # "config_invalid", HTTP 500
class InternalError(ServerError):
    code: str  # "internal_error", HTTP 500

FAMILY_CLASSES: dict[str, type[InferwardenError]]
CLASS_BY_CODE: dict[str, type[InferwardenError]]

def error_class(code: str) -> type[InferwardenError]: ...
def list_all_errors() -> list[dict[str, Any]]: ...
def legacy_code_map() -> dict[str, str]: ...
