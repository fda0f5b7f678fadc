"""Whether a role may be sent a request now: rate limits and outages as state.

A 429 pauses the role until its ``Retry-After`` has passed; tries that cannot reach the
model (5xx, refused connections, no first byte in time), several in a row, pause it with a
backoff that doubles while the outage lasts. While a role is paused no request is sent to its
model. When the pause ends, the next request is a *probe*: until the model answers it (or
fails it) every other request is held back as if still paused, so that at most one request
reaches the model per pause window.

Pure state with an injected clock: the gateway asks and reports, and owns the timers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

FAILURES_BEFORE_PAUSE = 3
"""Tries in a row that could not reach the model before the role is paused."""
OUTAGE_PAUSE_S = 30.0
OUTAGE_PAUSE_MAX_S = 240.0
RATE_LIMIT_PAUSE_S = 5.0
"""A 429 without a usable ``Retry-After``."""
RATE_LIMIT_PAUSE_MAX_S = 600.0

Verdict = Literal["go", "probe", "paused", "probing"]


@dataclass(frozen=True)
class Pause:
    reason: Literal["rate_limit", "unavailable"]
    until: float
    """Clock time at which requests may be sent again."""
    what: str
    """The short state: "rate-limited", "unreachable", "failing (HTTP 503)"."""
    cause: str
    """The error that started it, as the user read it."""

    def seconds_left(self, now: float) -> int:
        """Whole seconds to wait, rounded up (never 0 while the pause lasts)."""
        return max(1, math.ceil(self.until - now - 1e-6))

    def text(self, now: float) -> str:
        """"rate-limited, resuming in 4 s" or "unreachable, retrying in 30 s"."""
        verb = "resuming" if self.reason == "rate_limit" else "retrying"
        return f"{self.what}, {verb} in {self.seconds_left(now)} s"


class RoleHealth:
    """One role's rate limit and outage state."""

    def __init__(self) -> None:
        self.pause: Pause | None = None
        self.failures = 0
        """Tries in a row that could not reach the model."""
        self.outages = 0
        """Outage pauses in a row (each one twice as long as the one before)."""
        self._needs_probe = False
        self._probing = False

    def paused(self, now: float) -> Pause | None:
        """The pause in force at ``now``, if any."""
        if self.pause is not None and now < self.pause.until:
            return self.pause
        return None

    def verdict(self, now: float) -> Verdict:
        """What a request arriving now may do, without changing anything."""
        if self.paused(now) is not None:
            return "paused"
        if self._needs_probe:
            return "probing" if self._probing else "probe"
        return "go"

    def admit(self, now: float) -> Verdict:
        """Like ``verdict``; a "probe" answer makes the caller the probe (others now wait)."""
        verdict = self.verdict(now)
        if verdict == "probe":
            self._probing = True
        return verdict

    # -- what happened to a try ---------------------------------------------------------
    def reached(self, probe: bool) -> None:
        """The model answered (not with a 429 or a 5xx): the role is healthy."""
        self.failures = 0
        self.outages = 0
        if probe:
            self._probing = False
            self._needs_probe = False

    def rate_limited(self, probe: bool, retry_after: float | None, cause: str, now: float) -> Pause:
        if probe:
            self._probing = False
        self.failures = 0  # it answered: reachable
        wait = retry_after if retry_after is not None and retry_after > 0 else RATE_LIMIT_PAUSE_S
        return self._start(Pause("rate_limit", now + min(wait, RATE_LIMIT_PAUSE_MAX_S), "rate-limited", cause))

    def failed(self, probe: bool, what: str, cause: str, now: float) -> Pause | None:
        """A try could not reach the model; the pause this starts, if it starts one. A probe
        that fails after an outage pause starts the next, longer pause at once."""
        if probe:
            self._probing = False
        self.failures += 1
        if self.failures < FAILURES_BEFORE_PAUSE and not (probe and self.outages > 0):
            return None
        wait = min(OUTAGE_PAUSE_S * 2**self.outages, OUTAGE_PAUSE_MAX_S)
        self.outages += 1
        self.failures = 0
        return self._start(Pause("unavailable", now + wait, what, cause))

    def released(self, probe: bool) -> None:
        """A try ended without an outcome (cancelled): the next request probes instead."""
        if probe:
            self._probing = False

    def _start(self, pause: Pause) -> Pause:
        current = self.pause
        if current is not None and current.until > pause.until:
            pause = Pause(pause.reason, current.until, pause.what, pause.cause)
        self.pause = pause
        self._needs_probe = True
        return pause
