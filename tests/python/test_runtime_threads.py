"""The native runtime's threads (named ``inferwarden-rt``: its workers and the blocking pool a
decision waits in) never preempt the event loop when they wake up: on Linux they run in
``SCHED_BATCH``. The loop's own thread keeps its policy."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from inferwarden import metrics

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scheduling policies are Linux's")


def runtime_threads() -> list[int]:
    tids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            if (task / "comm").read_text().strip() == "inferwarden-rt":
                tids.append(int(task.name))
        except OSError:  # the thread ended meanwhile
            pass
    return tids


def test_the_native_runtimes_threads_run_in_batch_and_the_loop_thread_keeps_its_policy():
    before = os.sched_getscheduler(0)
    # render_async runs on the runtime's blocking pool: the runtime and a pool thread exist now.
    asyncio.run(metrics.render_async())
    policies = {}
    for tid in runtime_threads():
        try:
            policies[tid] = os.sched_getscheduler(tid)
        except ProcessLookupError:  # an idle blocking-pool thread ended meanwhile
            pass
    assert policies, "no thread of the native runtime was found"
    assert set(policies.values()) == {os.SCHED_BATCH}, policies
    assert os.sched_getscheduler(0) == before


CHILD = """
import asyncio, os, json
from pathlib import Path
from inferwarden import metrics
from inferwarden.errors import ConfigInvalidError
try:
    asyncio.run(metrics.render_async())
except ConfigInvalidError as e:
    print(json.dumps({"code": e.code, "field": (e.metadata or {}).get("field")}))
    raise SystemExit(0)
policies = set()
for task in Path("/proc/self/task").iterdir():
    try:
        if (task / "comm").read_text().strip() == "inferwarden-rt":
            policies.add(os.sched_getscheduler(int(task.name)))
    except (OSError, ProcessLookupError):  # the thread ended meanwhile
        pass
print(json.dumps({"policies": sorted(policies), "caller": os.sched_getscheduler(0)}))
"""


def run_child(value: str) -> dict:
    import json
    import subprocess

    env = dict(os.environ, INFERWARDEN_RUNTIME_SCHED=value)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_inferwarden_runtime_sched_normal_changes_nothing_and_batch_is_batch():
    caller = os.sched_getscheduler(0)  # what the child inherits (SCHED_OTHER unless the runner set another)
    assert run_child("normal") == {"policies": [caller], "caller": caller}
    assert run_child("batch") == {"policies": [os.SCHED_BATCH], "caller": caller}


def test_an_unknown_inferwarden_runtime_sched_is_config_invalid_on_every_async_call():
    assert run_child("fifo") == {"code": "config_invalid", "field": "INFERWARDEN_RUNTIME_SCHED"}
