"""The asyncio side of the native async calls.

``pending()`` makes a future on the running loop and a ``done(result, error)`` callback that
the native runtime calls from its own thread; ``done`` hands the outcome to the loop with
``call_soon_threadsafe``. A future cancelled meanwhile (or a loop already closed) drops the
outcome.
"""

from __future__ import annotations

import asyncio
from typing import Any


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def pending() -> tuple[asyncio.Future[Any], Any]:
    """A future on the running loop and the thread-safe callback that settles it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def done(result: Any, error: BaseException | None) -> None:
        try:
            loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting any more

    return future, done
