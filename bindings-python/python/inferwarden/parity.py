"""Catalogue parity from Python: ``check(root)`` runs the same checker as
``inferwarden parity check`` and returns the versioned JSON report as a dict; the pytest
helpers turn every finding into its own failing test::

    import pytest
    from inferwarden import parity

    @pytest.mark.parametrize("finding", parity.pytest_params("."))
    def test_catalogue_parity(finding):
        parity.assert_no_drift(finding)
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from inferwarden._native import parity_check, parity_generate

__all__ = ["check", "generate", "pytest_params", "assert_no_drift", "describe"]


def check(root: str | PathLike[str], format: str = "text") -> dict[str, Any]:
    """The report of the tree at ``root``: ``{schema_version, catalogue, sources,
    facts_checked, findings, exit_code, rendered}`` (``rendered`` in ``format``)."""
    return parity_check(root, format)


def generate(root: str | PathLike[str], check: bool = False) -> list[dict[str, str]]:
    """Writes the mirrors named in ``parity.toml`` ``[generate]`` (nothing with ``check``);
    returns ``[{"path", "status"}]``, status ``up_to_date``/``stale``/``missing``/``written``."""
    return parity_generate(root, check)


def describe(finding: dict[str, Any]) -> str:
    """One line: ``file:line:col rule: message (expected X, found Y)``."""
    src = finding["source"]
    where = f"{src['file']}:{src['line']}:{src['column']}"
    cat = finding.get("catalogue_path")
    at = finding.get("catalogue_at")
    cat_text = f" [catalogue {cat}" + (f" at {at['file']}:{at['line']}" if at else "") + "]" if cat else ""
    return (f"{where} {finding['rule']}: {finding['message']} "
            f"(expected {finding['expected']!r}, found {finding['found']!r}){cat_text}")


def pytest_params(root: str | PathLike[str]) -> list[Any]:
    """One ``pytest.param`` per error finding (id ``rule@file:line``); a single passing
    ``clean`` param when there is none."""
    import pytest

    report = check(root)
    params = [
        pytest.param(f, id=f"{f['rule']}@{f['source']['file']}:{f['source']['line']}")
        for f in report["findings"]
        if f["severity"] == "error"
    ]
    return params or [pytest.param(None, id="clean")]


def assert_no_drift(finding: dict[str, Any] | None) -> None:
    """Fails with the finding's description (``None`` means clean)."""
    if finding is not None:
        raise AssertionError(describe(finding))
