"""Applying an LSP client's text edits to a text, as the eval runners' editors do."""

from __future__ import annotations

from collections.abc import Iterable


def apply_spans(text: str, spans: Iterable[tuple[int, int, str]], what: str) -> str:
    """``text`` with each (start, end, new text) span replaced, all relative to ``text``.
    Spans at one place apply in the order given, as LSP asks; overlapping spans are a
    ValueError naming ``what``."""
    ordered = sorted(spans, key=lambda s: (s[0], s[1]))
    for (_, end_a, _), (start_b, _, _) in zip(ordered, ordered[1:]):
        if start_b < end_a:
            raise ValueError(f"{what} overlap")
    for start, end, new in reversed(ordered):
        text = text[:start] + new + text[end:]
    return text
