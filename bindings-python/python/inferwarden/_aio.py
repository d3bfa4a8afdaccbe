"""The asyncio side of the native async calls.

``slot()`` makes a future on the running loop for a native call: the runtime queues the
outcome in the loop's ``Completions`` and wakes the loop through a socket it watches, so no
runtime thread ever takes the GIL. ``ready(value)`` makes a completed future for a call that
finished inline. A future cancelled meanwhile drops its outcome (and aborts the native task).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any


def ready(result: Any) -> asyncio.Future[Any]:
    """A future on the running loop that already holds ``result`` (a call that completed
    inline, with nothing to wait for)."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(result)
    return future


class _LoopCompletions:
    """One loop's native completion queue: its socket is watched by the loop, and each
    wake-up settles every call the runtime finished (on the loop's thread)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        from inferwarden._native import Completions

        self.native = Completions()
        self.futures: dict[int, asyncio.Future[Any]] = {}
        loop.add_reader(self.native.fileno(), self._drain)

    def _drain(self) -> None:
        for call, result, error in self.native.take():
            future = self.futures.pop(call, None)
            if future is None or future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)


_completions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopCompletions] = weakref.WeakKeyDictionary()
# The loop of the last call and its completions: most calls come from the same loop, and a
# weak reference does not keep a closed loop alive.
_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _LoopCompletions] | None = None


def slot() -> tuple[asyncio.Future[Any], int, Any]:
    """A future on the running loop, its call id, and the loop's native completion queue.

    The native side settles every future it was handed exactly once (a call that ends
    without a result settles it with ``InternalError``), so the entry always leaves
    ``futures`` in ``_drain``; a future cancelled meanwhile is skipped there."""
    global _last
    loop = asyncio.get_running_loop()
    last = _last
    if last is not None and last[0]() is loop:
        completions = last[1]
    else:
        completions = _completions.get(loop)
        if completions is None:
            completions = _completions[loop] = _LoopCompletions(loop)
        _last = (weakref.ref(loop), completions)
    future: asyncio.Future[Any] = loop.create_future()
    call = completions.native.next_id()
    completions.futures[call] = future
    return future, call, completions.native
