"""The interpreter exits cleanly while a daemon thread is inside a native call.

CPython (3.11 to 3.13) ends a daemon thread that asks for the GIL back after shutdown has
begun with ``pthread_exit``. Its forced unwind runs through the binding's Rust frames with
the system unwinder (libgcc_s). A wheel linked with a second, static unwinder (zig's
libunwind, the default of ``maturin --zig``) crashed there with SIGSEGV after every test
had passed; ``scripts/release.sh`` now links libgcc_s. This runs the same situation on
purpose in a child interpreter, with whichever wheel is installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import inferwarden  # noqa: F401  (the installed binding under test)

# The child: a lifecycle call waits (GIL released) on a SQLite write lock another process
# holds for 0.5 s; the main thread returns at once, and a garbage cycle whose finaliser
# sleeps keeps shutdown running until after the native call has returned and asked for
# the GIL.
CHILD = textwrap.dedent(
    """
    import gc, os, subprocess, sys, tempfile, threading, time
    import inferwarden

    db = os.path.join(tempfile.mkdtemp(), "tasks.db")
    life = inferwarden.Lifecycle(inferwarden.PolicyConfig(), f"sqlite:{db}")
    life.create("t-exit", "image")
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sqlite3, sys, time\\n"
            f"c = sqlite3.connect({db!r}, isolation_level=None)\\n"
            "c.execute('BEGIN EXCLUSIVE')\\n"
            "print('held', flush=True)\\n"
            "time.sleep(0.5)\\n"
            "c.execute('COMMIT')\\n"
        )],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    waiter = threading.Thread(target=lambda: life.claim("t-exit", "w1"), daemon=True)
    waiter.start()
    time.sleep(0.05)
    assert waiter.is_alive(), "the claim did not wait on the lock"

    class SlowFinaliser:
        def __del__(self, os=os, time=time):
            time.sleep(1.0)
            os.write(1, b"shutdown outlived the native call\\n")

    gc.disable()
    first, second = SlowFinaliser(), SlowFinaliser()
    first.peer, second.peer = second, first
    del first, second
    print("main thread done", flush=True)
    """
)


def test_shutdown_with_a_daemon_thread_in_a_native_call_exits_cleanly() -> None:
    for attempt in range(2):
        done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (attempt, done.returncode, done.stdout, done.stderr[-2000:])
        assert "main thread done" in done.stdout, done.stdout
        # The finaliser ran after the lock was released, so the native call returned
        # during shutdown: the case that crashed.
        assert "shutdown outlived the native call" in done.stdout, done.stdout
