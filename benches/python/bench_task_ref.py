"""Python call cost of task-ref parsing through the binding, beside a pure-Python regex
validator of the kind platforms write today (same cases as the criterion bench).

Run: .venv/bin/python benches/python/bench_task_ref.py   (after scripts/setup-python.sh --release)
"""

from __future__ import annotations

import re
import timeit

import inferwarden

CASES = {
    "local": "3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b",
    "remote": "acme-gpu-2::3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b",
    "reject_hostile": "evil.example%23::x",
    "reject_extra_sep": "ws1::a::b",
}

_WS = re.compile(r"[a-z0-9-]{3,64}")
_TASK = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def python_regex_parse(raw: str):
    """Baseline: the same rules with `re.fullmatch` (no binding)."""
    ws, sep, task = raw.partition("::")
    if not sep:
        ws, task = None, raw
    elif "::" in task or task.startswith(":") or not _WS.fullmatch(ws):
        raise ValueError("proxy_target_invalid")
    if not _TASK.fullmatch(task) or task in (".", ".."):
        raise ValueError("proxy_target_invalid")
    return ws, task


def per_call_ns(fn, arg: str, number: int = 200_000) -> float:
    def run():
        try:
            fn(arg)
        except Exception:
            pass

    best = min(timeit.repeat(run, number=number, repeat=5))
    return best / number * 1e9


def main() -> None:
    print(f"{'case':<18} {'binding ns/call':>16} {'python re ns/call':>18}")
    for name, raw in CASES.items():
        print(f"{name:<18} {per_call_ns(inferwarden.parse_task_ref, raw):>16.0f} {per_call_ns(python_regex_parse, raw):>18.0f}")


if __name__ == "__main__":
    main()
