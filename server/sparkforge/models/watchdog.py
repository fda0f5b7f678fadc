"""A deadline that cancels the task waiting past it, whatever it waits on (Python 3.10 has no
``asyncio.timeout``; ``asyncio.wait_for`` on 3.11 can swallow an outside cancellation that
arrives as the awaited result does, and a stopped prediction would then read on to the end)."""

from __future__ import annotations

import asyncio
import time


class Watchdog:
    """Cancels the current task ``seconds`` from now unless disarmed first. ``absorb`` tells a
    cancellation it caused from one that came from outside."""

    def __init__(self, seconds: float) -> None:
        self._task = asyncio.current_task()
        self.fired = False
        self._handle = asyncio.get_running_loop().call_later(max(seconds, 0.0), self._fire)

    @classmethod
    def at(cls, when: float) -> "Watchdog":
        """Firing at ``when`` on the ``time.monotonic()`` clock."""
        return cls(when - time.monotonic())

    def _fire(self) -> None:
        self.fired = True
        if self._task is not None:
            self._task.cancel()

    def disarm(self) -> None:
        self._handle.cancel()

    def absorb(self) -> bool:
        """After a CancelledError: True if it was ours alone (it is then withdrawn)."""
        if not self.fired or self._task is None:
            return False
        uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
        return uncancel is None or uncancel() == 0
