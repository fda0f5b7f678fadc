"""Adaptive debounce: wait about as long as the user's next keystroke usually takes.

A request made while the user is still typing is wasted: the next keystroke makes it stale.
So we learn the user's keystroke intervals per document and wait a little longer than most
of them (the 90th percentile): during steady typing most keystrokes then cost no request.
The wait is capped so that the wait plus the model's own latency (median of the recent
requests) stays within ``show_within_ms`` of the user pausing: a pause is when a suggestion
is wanted, and it must appear before the user gives up on it. A fixed value can be set.
"""

from __future__ import annotations

import statistics
from collections import deque


class AdaptiveDebounce:
    def __init__(
        self,
        fixed_ms: int | None = None,
        *,
        floor_ms: float = 15.0,
        cap_ms: float = 200.0,
        show_within_ms: float = 260.0,
        idle_gap_ms: float = 1500.0,
        window: int = 40,
    ) -> None:
        self.fixed_ms = fixed_ms
        self.floor_ms = floor_ms
        self.cap_ms = cap_ms
        self.idle_gap_ms = idle_gap_ms
        self.show_within_ms = show_within_ms
        self._intervals: deque[float] = deque(maxlen=window)
        self._latencies: deque[float] = deque(maxlen=window)
        self._last_key: float | None = None

    def keystroke(self, now: float) -> None:
        """Record a keystroke at ``now`` (seconds, monotonic)."""
        if self._last_key is not None:
            gap = (now - self._last_key) * 1000
            if 0 < gap < self.idle_gap_ms:  # a pause is not a typing interval
                self._intervals.append(gap)
        self._last_key = now

    @property
    def last_keystroke(self) -> float | None:
        """When the last keystroke arrived (seconds, monotonic), if any."""
        return self._last_key

    def model_latency(self, ms: float) -> None:
        self._latencies.append(ms)

    def delay_ms(self) -> float:
        """How long to wait before asking the model."""
        if self.fixed_ms is not None:
            return float(self.fixed_ms)
        if len(self._intervals) < 5:
            return 50.0
        most = statistics.quantiles(self._intervals, n=10)[8] * 1.05
        cap = self.cap_ms
        if self._latencies:
            cap = min(cap, self.show_within_ms - statistics.median(self._latencies))
        return max(self.floor_ms, min(most, cap))
