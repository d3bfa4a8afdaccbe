"""The asyncio side of the native async calls.

``ready(value)`` makes a completed future for a call that finished inline. ``pending()``
makes a future on the running loop and a ``done(result, error)`` callback that
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


def ready(result: Any) -> asyncio.Future[Any]:
    """A future on the running loop that already holds ``result`` (a call that completed
    inline, with nothing to wait for)."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(result)
    return future


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
