"""What may reach a model: file exclusions and secret redaction, shared by every feature.

A file is excluded when it matches a glob in ``sparkforge.exclude``, a pattern in the
workspace's ``.sparkforgeignore`` (gitignore-like: one glob a line, ``#`` comments), or a
built-in pattern for secret-holding files (``.env`` and friends, keys, credentials). An
excluded file is never sent: no request is made for it, and it is left out of other files'
context. Everything that is sent is passed through ``redact`` first.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from pathlib import Path, PurePosixPath

from sparkforge.secretscan import key_blocks, secret_spans

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "credentials*.json",
    "secrets.*",
    ".git/**",
)

IGNORE_FILE = ".sparkforgeignore"

REDACTED = "[REDACTED"  # every marker starts with it: [REDACTED-1], [REDACTED-2], …
_SPECIAL = re.compile(r"<\|[a-z_]+\|>")  # the prompts' own markers (<|user_cursor_is_here|>)
_MARKER = re.compile(r"\[REDACTED-\d+\]")
_MARKER_NUMBER = re.compile(r"\[REDACTED-(\d+)\]")


class Redaction:
    """The redaction of one prompt, which may be built from several texts.

    Each distinct secret becomes one numbered marker, ``[REDACTED-1]``, ``[REDACTED-2]``…, the
    same wherever it occurs in the prompt; what is around it (a key's kind prefix such as
    ``sk_live_``, the name it is assigned to) stays, so the model still sees that a key was
    there. ``pairs`` are the (marker, secret) pairs that put the secrets back: a marker names
    one secret only, so a model that moves, copies or drops a line cannot put one secret
    where another was. A marker already written in the text (a file that documents them,
    like sparkforge's own tests) keeps its number for itself: new markers skip it, so
    restoring never turns that literal text into a secret.
    """

    def __init__(self) -> None:
        self._markers: dict[str, str] = {}
        self._taken: set[int] = set()
        self._next = 1
        self.pairs: list[tuple[str, str]] = []

    def reserve(self, text: str) -> None:
        """Keep the numbers of the markers ``text`` already holds out of this redaction."""
        if REDACTED in text:
            self._taken.update(int(n) for n in _MARKER_NUMBER.findall(text))

    def marker(self, secret: str) -> str:
        if (known := self._markers.get(secret)) is not None:
            return known
        while self._next in self._taken:
            self._next += 1
        marker = f"{REDACTED}-{self._next}]"
        self._next += 1
        self._markers[secret] = marker
        self.pairs.append((marker, secret))
        return marker

    def __call__(self, text: str) -> str:
        """``text`` with every secret replaced by its marker."""
        if not text:
            return text
        self.reserve(text)
        blocks = key_blocks(text)
        if blocks:  # the one kind of secret that spans lines
            parts, last = [], 0
            for start, end in blocks:
                parts.append(self._lines(text[last:start]))
                parts.append(self.marker(text[start:end]))
                last = end
            parts.append(self._lines(text[last:]))
            return "".join(parts)
        return self._lines(text)

    def _lines(self, text: str) -> str:
        lines = text.split("\n")
        changed = False
        cached, longest = _cached_line_spans, _CACHED_LINE_MAX  # the hot loop: one lookup a line
        for i, line in enumerate(lines):
            spans = cached(line) if len(line) <= longest else _scan_line(line)
            if spans:
                lines[i] = self._replace(line, spans)
                changed = True
        return "\n".join(lines) if changed else text

    def _replace(self, line: str, spans: tuple[tuple[int, int], ...]) -> str:
        out, last = [], 0
        for start, end in spans:
            secret = line[start:end]
            kept = "".join(_SPECIAL.findall(secret))  # the cursor stays in the prompt
            out.append(line[last:start])
            out.append(self.marker(_SPECIAL.sub("", secret) if kept else secret) + kept)
            last = end
        out.append(line[last:])
        return "".join(out)

    def restore(self, text: str, within: str | None = None) -> str:
        """``text`` with every marker of this redaction replaced by its secret; with ``within``,
        only the secrets that ``within`` holds (a chat answer's code put back into one file)."""
        pairs = self.pairs if within is None else [(m, s) for m, s in self.pairs if s in within]
        return unredact(text, pairs)


def redact(text: str) -> str:
    """``text`` with key- and token-like strings replaced by numbered [REDACTED-n] markers."""
    return Redaction()(text)


def _matches(rel: PurePosixPath, pattern: str) -> bool:
    pattern = pattern.strip()
    if not pattern or pattern.startswith("#"):
        return False
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    text = rel.as_posix()
    if "/" not in pattern.rstrip("*") and not anchored:
        # a bare name matches in any folder, as in .gitignore
        if any(fnmatch.fnmatchcase(part, pattern) for part in rel.parts):
            return True
    if fnmatch.fnmatchcase(text, pattern):
        return True
    if pattern.endswith("/**") and (text + "/").startswith(pattern[:-2]):
        return True
    if pattern.startswith("**/"):
        return _matches(rel, pattern[3:])
    return False


class ExclusionPolicy:
    """Decides whether a file may reach a model."""

    def __init__(self, root: Path | None, globs: list[str] | tuple[str, ...] = ()):
        self.root = root.resolve() if root is not None else None
        self.globs = list(globs)
        self._ignore_patterns: list[str] = []
        self._ignore_mtime: float | None = None

    def _ignore_file_patterns(self) -> list[str]:
        if self.root is None:
            return []
        path = self.root / IGNORE_FILE
        try:
            mtime = path.stat().st_mtime
        except OSError:
            self._ignore_patterns, self._ignore_mtime = [], None
            return []
        if mtime != self._ignore_mtime:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            self._ignore_patterns = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
            self._ignore_mtime = mtime
        return self._ignore_patterns

    def ignore_file_mtime(self) -> float | None:
        if self.root is None:
            return None
        try:
            return (self.root / IGNORE_FILE).stat().st_mtime
        except OSError:
            return None

    def relative(self, path: Path) -> PurePosixPath:
        if self.root is not None:
            try:
                return PurePosixPath(path.resolve().relative_to(self.root).as_posix())
            except ValueError:
                pass
        return PurePosixPath(path.name)

    def reason(self, path: Path | str) -> str | None:
        """Why ``path`` is excluded, or None if it may be sent."""
        rel = self.relative(Path(path))
        for pattern in DEFAULT_EXCLUDES:
            if _matches(rel, pattern):
                return f"{rel} looks like a secrets file ({pattern}); sparkforge never sends it"
        for pattern in self.globs:
            if _matches(rel, pattern):
                return f"{rel} matches sparkforge.exclude ({pattern})"
        for pattern in self._ignore_file_patterns():
            if _matches(rel, pattern):
                return f"{rel} is listed in {IGNORE_FILE} ({pattern})"
        return None

    def excluded(self, path: Path | str) -> bool:
        return self.reason(path) is not None


def redact_reversibly(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``redact(text)`` and the (marker, secret) pairs to put the secrets back.

    The fast model rewrites the region it was shown; where that region held a secret, its
    rewrite holds the marker, which must not become an edit that deletes the secret.
    """
    redaction = Redaction()
    return redaction(text), redaction.pairs


_CACHED_LINE_MAX = 2000  # a longer line (minified code) is scanned each time, not kept


def scan_ahead(line: str) -> None:
    """Scan ``line`` (without its ending, as a prompt shows it) now, so that a prompt holding it
    later finds it in the cache: for idle time, before the line is needed."""
    if len(line) <= _CACHED_LINE_MAX:
        _cached_line_spans(line)


@functools.lru_cache(maxsize=16384)
def _cached_line_spans(line: str) -> tuple[tuple[int, int], ...]:
    """The secret spans of one line, cached: from one keystroke to the next, all lines of a
    prompt but one are the same."""
    return _scan_line(line)


def _scan_line(line: str) -> tuple[tuple[int, int], ...]:
    """The prompts' own markers are seen through, so a cursor inside a secret does not hide it."""
    if "<|" not in line:
        return secret_spans(line)
    plain, where = [], []
    last = 0
    for m in _SPECIAL.finditer(line):
        plain.append(line[last:m.start()])
        where.extend(range(last, m.start()))
        last = m.end()
    plain.append(line[last:])
    where.extend(range(last, len(line)))
    where.append(len(line))
    return tuple((where[s], where[e - 1] + 1) for s, e in secret_spans("".join(plain)))


def stray_markers(text: str, before: str) -> list[str]:
    """The markers in ``text`` that ``before`` does not hold: secrets an answer could not get back."""
    if REDACTED not in text:
        return []
    return [m for m in dict.fromkeys(_MARKER.findall(text)) if m not in before]


def unredact(text: str, pairs: list[tuple[str, str]]) -> str:
    """``text`` with each marker in ``pairs`` (wherever the model put it) back to its secret."""
    if REDACTED not in text:
        return text
    for marker, secret in pairs:
        text = text.replace(marker, secret)
    return text
