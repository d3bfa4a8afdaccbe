"""The live contract smoke runner: a release gate for a deployed platform.

    from inferwarden import smoke
    report = smoke.run("https://api.example.com", api_key_env="PLATFORM_API_KEY",
                       admin_key_env="PLATFORM_ADMIN_KEY", allowed_origin="https://app.example.com",
                       denied_origin="https://evil.example", release=True)
    print(report.to_text()); raise SystemExit(report.exit_code)

Every check passes, fails or is skipped with its reason; with ``release=True`` a skip is a
failure. Keys can be passed directly (``api_key=``) or by the NAME of an environment
variable (``api_key_env=``), which keeps them out of command lines and logs.
"""

from __future__ import annotations

from typing import Any, Callable

from inferwarden._native import SmokeReport, smoke_run

__all__ = ["SmokeReport", "run"]


def run(
    base_url: str,
    *,
    api_key: str | None = None,
    api_key_env: str | None = None,
    admin_key: str | None = None,
    admin_key_env: str | None = None,
    allowed_origin: str | None = None,
    denied_origin: str | None = None,
    rate_limit: int | None = None,
    generation: dict[str, Any] | None = None,
    poll_timeout: float = 120.0,
    request_timeout: float = 10.0,
    release: bool = False,
    progress: Callable[[str], object] | None = None,
) -> SmokeReport:
    """Runs every check against ``base_url`` (blocking; other threads keep running)."""
    return smoke_run(
        base_url,
        api_key=api_key,
        api_key_env=api_key_env,
        admin_key=admin_key,
        admin_key_env=admin_key_env,
        allowed_origin=allowed_origin,
        denied_origin=denied_origin,
        rate_limit=rate_limit,
        generation=generation,
        poll_timeout=poll_timeout,
        request_timeout=request_timeout,
        release=release,
        progress=progress,
    )
