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

# Strings that look like keys or tokens. Each keeps a short prefix so the model still sees
# that a key was there; the secret part becomes [REDACTED].
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(sk-(?:proj-|ant-|live-|test-)?)[A-Za-z0-9_\-]{16,}"),
    re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{20,}"),
    re.compile(r"\b(github_pat_)[A-Za-z0-9_]{20,}"),
    re.compile(r"\b(xox[abposr]-)[A-Za-z0-9\-]{10,}"),
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"\b(AIza)[A-Za-z0-9_\-]{30,}"),
    re.compile(r"\b(glpat-)[A-Za-z0-9_\-]{20,}"),
    re.compile(r"\b(eyJ)[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"),
    # key = "value" assignments whose name says secret
    re.compile(
        r"""(?i)((?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|private[_-]?key)"""
        r"""[A-Za-z0-9_]*["']?\s*[:=]\s*["'])(?![^"'\s]*\[REDACTED\])[^"'\s]{8,}(?=["'])"""
    ),
)
_QUICK = re.compile(
    r"sk-|gh[pousr]_|github_pat_|xox|AKIA|ASIA|AIza|glpat-|eyJ|PRIVATE KEY|(?i:key|secret|token|passw)"
)
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """``text`` with key- and token-like strings replaced by [REDACTED]."""
    return redact_reversibly(text)[0]


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
    """``redact(text)`` and the (redacted, original) pairs to put the secrets back.

    The fast model rewrites the region it was shown; where that region held a secret, its
    rewrite holds the redacted form, which must not become an edit that deletes the secret.
    Runs on every prediction: lines are redacted one by one through a cache, since from one
    keystroke to the next all lines of a prompt but one are the same.
    """
    if not text or _QUICK.search(text) is None:
        return text, []
    if "PRIVATE KEY-----" in text:  # the one pattern that spans lines
        return _redact_text(text)
    out: list[str] = []
    pairs: list[tuple[str, str]] = []
    for line in text.split("\n"):
        redacted, line_pairs = _redact_line(line)
        out.append(redacted)
        pairs.extend(line_pairs)
    return "\n".join(out), pairs


@functools.lru_cache(maxsize=8192)
def _redact_line(line: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    if _QUICK.search(line) is None:
        return line, ()
    redacted, pairs = _redact_text(line)
    return redacted, tuple(pairs)


def _redact_text(text: str) -> tuple[str, list[tuple[str, str]]]:
    pairs: list[tuple[str, str]] = []

    def sub(m: re.Match[str]) -> str:
        replacement = m.group(1) + REDACTED
        pairs.append((replacement, m.group(0)))
        return replacement

    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(sub, text)
    return text, pairs


def unredact(text: str, pairs: list[tuple[str, str]]) -> str:
    for replacement, original in pairs:
        text = text.replace(replacement, original, 1)
    return text
