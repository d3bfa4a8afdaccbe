"""inferwarden: the policy core for self-hosted image and video inference platforms.

Every decision is made by the Rust crate ``inferwarden``; this package exposes it to
Python. Errors are raised as subclasses of :class:`inferwarden.errors.InferwardenError`
whose ``.code`` is the stable error code.
"""

from inferwarden import _native
from inferwarden._native import (
    AuditLog,
    Catalogue,
    Decision,
    LaneRouter,
    PipelineSlot,
    RouteHandle,
    budget_gb,
    place_model,
    classify_worker_error,
    probe_gpus,
    vram_level,
    Gate,
    IssuedSession,
    Lifecycle,
    ManualClock,
    PolicyConfig,
    RemoteBody,
    Router,
    TaskRef,
    parse_task_ref,
)
from inferwarden.errors import (
    CLASS_BY_CODE,
    InferwardenError,
    error_class,
    legacy_code_map,
    list_all_errors,
)

__version__: str = _native.__version__


# validate_request(catalogue, request) -> {model_id, kind, mode, payload}: a ``POST /generate``
# body (a dict) checked against the catalogue, or ``RequestValidationError`` listing every
# violation. Native, so the hot path has no Python frame.
validate_request = _native.validate_request

# inferwarden.metrics.render(): the process-wide metrics in OpenMetrics text.
from inferwarden import metrics  # noqa: E402

# The core's log records go to the standard `logging` loggers "inferwarden.gate",
# "inferwarden.lifecycle", "inferwarden.proxy", "inferwarden.audit" (debug and above; never a
# secret). Levels are cached per logger: call reset_log_cache() after changing one.
reset_log_cache = _native.reset_log_cache

__all__ = [
    "AuditLog",
    "CLASS_BY_CODE",
    "Catalogue",
    "Decision",
    "Gate",
    "IssuedSession",
    "LaneRouter",
    "PipelineSlot",
    "RouteHandle",
    "budget_gb",
    "metrics",
    "reset_log_cache",
    "classify_worker_error",
    "place_model",
    "probe_gpus",
    "vram_level",
    "Lifecycle",
    "ManualClock",
    "InferwardenError",
    "PolicyConfig",
    "RemoteBody",
    "Router",
    "TaskRef",
    "__version__",
    "error_class",
    "legacy_code_map",
    "list_all_errors",
    "parse_task_ref",
    "validate_request",
]
