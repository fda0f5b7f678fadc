"""Find where a hunk's old lines are in a file, from strict to loose.

The tiers follow the codex CLI's ``seek_sequence``: exact, then ignoring trailing
whitespace, then ignoring leading and trailing whitespace, then with typographic
punctuation folded to ASCII; we add one more (all whitespace ignored) and, last, a fuzzy
match that tolerates a couple of changed context lines. Each tier keeps an index from
line key to line numbers, built on first use, so a search verifies only the places where
the pattern's rarest line occurs instead of sliding over the whole file.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

_EOL_RE = re.compile(r"\r\n|\r|\n")

# The same code points codex folds: dashes, quotes and odd spaces models write as ASCII.
_PUNCT = str.maketrans(
    {
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
        **{c: "'" for c in "\u2018\u2019\u201a\u201b"},
        **{c: '"' for c in "\u201c\u201d\u201e\u201f"},
        **{c: " " for c in "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"},
    }
)

TIERS: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    str.rstrip,
    str.strip,
    lambda s: s.strip().translate(_PUNCT),
    lambda s: "".join(s.translate(_PUNCT).split()),
)
TIER_NAMES = ("exact", "trailing whitespace", "whitespace", "punctuation", "all whitespace")
LOOSEST = len(TIERS) - 1


@dataclass
class Document:
    """A text split into lines the way LSP counts them (``\\n``, ``\\r\\n`` or ``\\r``)."""

    text: str
    lines: list[str]
    ends: list[str]
    starts: list[int]  # offset of each line, plus len(text) at index len(lines)
    eol: str
    trailing_newline: bool
    _keys: dict[int, list[str]] = field(default_factory=dict, repr=False)
    _index: dict[int, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_text(cls, text: str) -> Document:
        if "\r" not in text:
            lines = text.split("\n")
            ends = ["\n"] * (len(lines) - 1) + [""]
        else:
            lines, ends, pos = [], [], 0
            for m in _EOL_RE.finditer(text):
                lines.append(text[pos : m.start()])
                ends.append(m.group())
                pos = m.end()
            lines.append(text[pos:])
            ends.append("")
        if lines[-1] == "":
            # Text ending in a newline (or empty) has no extra last line.
            lines.pop()
            ends.pop()
        starts, off = [], 0
        for line, end in zip(lines, ends):
            starts.append(off)
            off += len(line) + len(end)
        starts.append(off)
        # Added lines take the file's most common line ending.
        crlf = ends.count("\r\n")
        lf = ends.count("\n")
        eol = "\r\n" if crlf > lf else ("\r" if ends.count("\r") > max(crlf, lf) else "\n")
        trailing = bool(ends) and ends[-1] != ""
        return cls(text, lines, ends, starts, eol, trailing)

    def position(self, line: int) -> tuple[int, int]:
        """Where line ``line`` starts; ``len(lines)`` means the end of the text."""
        if line < len(self.lines) or self.trailing_newline or not self.lines:
            return line, 0
        return len(self.lines) - 1, len(self.lines[-1])

    def keys(self, tier: int) -> list[str]:
        if tier not in self._keys:
            key = TIERS[tier]
            self._keys[tier] = self.lines if tier == 0 else [key(l) for l in self.lines]
        return self._keys[tier]

    def index(self, tier: int) -> dict[str, list[int]]:
        if tier not in self._index:
            idx: dict[str, list[int]] = {}
            for i, k in enumerate(self.keys(tier)):
                idx.setdefault(k, []).append(i)
            self._index[tier] = idx
        return self._index[tier]


def _by_distance(cands: Sequence[int], expected: int) -> list[int]:
    # Nearest first; at equal distance prefer the later one (files grow more than shrink).
    return sorted(cands, key=lambda c: (abs(c - expected), c < expected))


def _occurrences(doc: Document, tier: int, key: str, lo: int, hi: int) -> list[int]:
    occ = doc.index(tier).get(key, [])
    return occ[bisect.bisect_left(occ, lo) : bisect.bisect_left(occ, hi)]


def find_block(
    doc: Document, pattern: Sequence[str], lo: int, expected: int, tier: int, at_eof: bool = False
) -> int | None:
    """Start of ``pattern`` at or after ``lo`` under ``tier``, nearest to ``expected``."""
    m, n = len(pattern), len(doc.lines)
    if m == 0 or m > n - lo:
        return None
    key = TIERS[tier]
    pkeys = [key(p) for p in pattern]
    index = doc.index(tier)
    rare = min(range(m), key=lambda k: len(index.get(pkeys[k], ())))
    cands = [o - rare for o in _occurrences(doc, tier, pkeys[rare], lo + rare, n - m + rare + 1)]
    keys = doc.keys(tier)
    if at_eof and n - m in cands and keys[n - m :] == pkeys:
        return n - m
    for c in _by_distance(cands, expected):
        if keys[c : c + m] == pkeys:
            return c
    return None


def find_fuzzy(
    doc: Document, ops: Sequence[tuple[str, str]], lo: int, expected: int
) -> int | None:
    """Where the old lines match except for a couple of context lines, nearest to ``expected``.

    Removed lines must all match (whitespace aside): a hunk must never delete a line the
    model did not see. At most ``min(2, context // 3)`` context lines may differ.
    """
    old = [(op, TIERS[LOOSEST](t)) for op, t in ops if op != "+"]
    m, n = len(old), len(doc.lines)
    n_context = sum(op == " " for op, _ in old)
    allowed = min(2, n_context // 3)
    if allowed == 0 or m > n - lo:
        return None
    removed = [k for k, (op, _) in enumerate(old) if op == "-"]
    # A valid place has at least one matching line: gather starts from those lines' occurrences.
    seeds = removed[:1] if removed else [k for k, (_, key) in enumerate(old) if key]
    cands: set[int] = set()
    for k in seeds:
        cands.update(o - k for o in _occurrences(doc, LOOSEST, old[k][1], lo + k, n - m + k + 1))
    keys = doc.keys(LOOSEST)
    for c in _by_distance(list(cands), expected):
        misses = 0
        for k, (op, key) in enumerate(old):
            if keys[c + k] != key:
                misses += 1
                if op == "-" or misses > allowed:
                    break
        else:
            if removed or n_context - misses >= 2:
                return c
    return None


def find_anchor(doc: Document, anchor: str, lo: int) -> int | None:
    """First line at or after ``lo`` that is the anchor, loosely; else one that starts with it."""
    n = len(doc.lines)
    for tier in range(len(TIERS)):
        occ = _occurrences(doc, tier, TIERS[tier](anchor), lo, n)
        if occ:
            return occ[0]
    # "@@ class A" for "class A(Base):": models shorten anchors to their start.
    want = TIERS[3](anchor)
    if len(want) >= 3:
        keys = doc.keys(3)
        for i in range(lo, n):
            if keys[i].startswith(want):
                return i
    return None


def indent_delta(pairs: Sequence[tuple[str, str]]) -> Callable[[str], str] | None:
    """How to re-indent added lines when context matched only up to indentation.

    ``pairs`` are (file line, patch line). If every non-blank pair differs by the same
    leading whitespace, added lines get the same shift; otherwise they are left alone.
    """
    delta: tuple[str, str] | None = None
    for file_line, patch_line in pairs:
        if not file_line.strip() or not patch_line.strip():
            continue
        fw = file_line[: len(file_line) - len(file_line.lstrip())]
        pw = patch_line[: len(patch_line) - len(patch_line.lstrip())]
        if fw == pw:
            this = ("same", "")
        elif fw.endswith(pw):
            this = ("add", fw[: len(fw) - len(pw)])
        elif pw.endswith(fw):
            this = ("remove", pw[: len(pw) - len(fw)])
        else:
            return None
        if delta is not None and delta != this:
            return None
        delta = this
    if delta is None or delta[0] == "same":
        return None
    mode, ws = delta
    if mode == "add":
        return lambda s: ws + s if s.strip() else s
    return lambda s: s[len(ws) :] if s.startswith(ws) else s
