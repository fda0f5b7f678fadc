"""For tests that talk to the local model server through the real openai SDK (the ``ms`` and
``client`` fixtures are in tests/conftest.py): waiting for the server's counters."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def wait_for_stats(ms: Any, pred, timeout: float = 30.0) -> dict[str, Any]:
    """The stats once ``pred`` holds (the timeout only keeps a broken server from hanging the run)."""
    deadline = time.perf_counter() + timeout
    while True:
        stats = ms.stats()
        if pred(stats) or time.perf_counter() > deadline:
            return stats
        await asyncio.sleep(0.005)
