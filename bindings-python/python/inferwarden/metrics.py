"""Process-wide metrics of the policy core, in OpenMetrics text.

Every gate decision, rate-limit check, session, audit append, sweep, proxied request and
dispatch event counts itself in the native core; ``render()`` writes the exposition that
Prometheus scrapes. Serve it from your app::

    from fastapi import Response
    from inferwarden import metrics

    @app.get("/metrics")
    def scrape() -> Response:
        return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)

Label values come from closed sets (route classes, error codes, policy names, registered
models): no task id, path, workspace or client address is ever a label. ``families()``
lists every family with its type and label names (pinned by the project's golden file).
"""

from __future__ import annotations

from typing import TypedDict

from inferwarden import _native

CONTENT_TYPE: str = _native.metrics_content_type()


class Family(TypedDict):
    """One metric family."""

    name: str
    type: str
    help: str
    labels: list[str]


def render() -> str:
    """The exposition of every family now (OpenMetrics text, ending with ``# EOF``)."""
    return _native.metrics_render()


async def render_async() -> str:
    """``render()`` on the native runtime's blocking pool: the event loop never waits on a
    session store's count."""
    return await _native.metrics_render_async()


def families() -> list[Family]:
    """Every family: name (without ``_total``), type, help text and label names."""
    return _native.metrics_families()  # type: ignore[return-value]


def set_enabled(on: bool) -> None:
    """Turns recording on or off for the whole process (on by default)."""
    _native.metrics_set_enabled(on)


__all__ = ["CONTENT_TYPE", "Family", "families", "render", "render_async", "set_enabled"]
