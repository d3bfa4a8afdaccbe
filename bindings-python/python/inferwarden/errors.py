"""The exception tree, built from the core's one table of error codes.

``InferwardenError`` is the root. Each error family has a base class (``AuthError``,
``RoutingError``, ...) and each code a leaf class (``InvalidApiKeyError``, ...). Both the
leaf class and every instance carry ``.code`` (the stable snake_case code), ``.http_status``
and ``.user_action``; instances also carry ``.detail`` and ``.metadata``.
"""

from __future__ import annotations

from typing import Any

from inferwarden import _native


class InferwardenError(Exception):
    """Root of every error raised by inferwarden."""

    code: str | None = None
    http_status: int = 500
    family: str | None = None
    default_user_action: str = ""

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        user_action: str | None = None,
        http_status: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.user_action = user_action if user_action is not None else self.default_user_action
        self.metadata = metadata if metadata is not None else {}

    def to_dict(self) -> dict[str, Any]:
        """The error envelope ``{"code", "detail", "user_action", "metadata"?}``."""
        body: dict[str, Any] = {"code": self.code, "detail": self.detail, "user_action": self.user_action}
        if self.metadata:
            body["metadata"] = self.metadata
        return body

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


def _build() -> tuple[dict[str, type[InferwardenError]], dict[str, type[InferwardenError]]]:
    families: dict[str, type[InferwardenError]] = {}
    leaves: dict[str, type[InferwardenError]] = {}
    for row in _native.list_all_errors():
        family = families.get(row["family"])
        if family is None:
            family = type(
                row["family_class"],
                (InferwardenError,),
                {"__doc__": f"Errors of the `{row['family']}` family.", "family": row["family"], "__module__": __name__},
            )
            families[row["family"]] = family
        leaves[row["code"]] = type(
            row["class_name"],
            (family,),
            {
                "__doc__": row["default_detail"],
                "code": row["code"],
                "http_status": row["http_status"],
                "default_user_action": row["user_action"],
                "__module__": __name__,
            },
        )
    return families, leaves


FAMILY_CLASSES, CLASS_BY_CODE = _build()
"""Family name -> base class, and stable code -> leaf class."""

for _cls in (*FAMILY_CLASSES.values(), *CLASS_BY_CODE.values()):
    globals()[_cls.__name__] = _cls
del _cls


def error_class(code: str) -> type[InferwardenError]:
    """The leaf class for a stable or legacy code; ``KeyError`` when unknown."""
    legacy = legacy_code_map()
    return CLASS_BY_CODE[legacy.get(code, code)]


def list_all_errors() -> list[dict[str, Any]]:
    """Every code with its status, family, class name, default detail and user action."""
    return _native.list_all_errors()


def legacy_code_map() -> dict[str, str]:
    """Legacy code -> stable code, for migrating an existing backend."""
    return dict(_native.legacy_codes())


__all__ = [
    "CLASS_BY_CODE",
    "FAMILY_CLASSES",
    "InferwardenError",
    "error_class",
    "legacy_code_map",
    "list_all_errors",
    *(c.__name__ for c in FAMILY_CLASSES.values()),
    *(c.__name__ for c in CLASS_BY_CODE.values()),
]
