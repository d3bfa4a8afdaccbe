"""What the event loop did while a native call was awaited: ``while_ticking(make)`` awaits
``make()`` beside a coroutine that ticks every 10 ms, and returns the result, the seconds
waited and the ticks counted. A loop blocked by the call ticks about once; a free one about
every 10 ms of the wait."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable


def while_ticking(make: Callable[[], Awaitable[Any]]) -> tuple[Any, float, int]:
    async def run() -> tuple[Any, float, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.monotonic()
        result = await make()
        waited = time.monotonic() - started
        stop.set()
        await task
        return result, waited, ticks

    return asyncio.run(run())
