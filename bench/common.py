"""What bench_fast.py and bench_actions.py share: one percentile, one "model time".

Model time is the model server's own logged time for a request (``/_requests`` entry
``duration_ms``: from the request's arrival to the model server's last byte, on the monotonic
clock every process on the machine shares). Everything else in a round trip (LSP, our own
work, the openai SDK, HTTP or WebSocket, SSE parsing) is counted as ours.
"""

from __future__ import annotations

from typing import Any


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, interpolated linearly between neighbours
    (numpy's default); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def model_ms(entry: dict[str, Any]) -> float | None:
    """The model's own time for one request: the model server's logged duration (ms)."""
    return entry.get("duration_ms")


def last_byte(entry: dict[str, Any]) -> float | None:
    """When the model server wrote the request's last byte (monotonic seconds)."""
    d = model_ms(entry)
    return None if d is None else entry["received_monotonic"] + d / 1000


def plain(obj: Any) -> Any:
    """JSON-like data from pygls's client, which hands unknown results over as namedtuples."""
    if hasattr(obj, "_asdict"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj
