"""The agent's read-only tools (read_file, list_files, search), the workspace they see, and the
tool definitions the model is offered (no LSP imports).

Every path the model names is taken relative to the workspace root and normalized; a path
outside it (``..``, an absolute path elsewhere, a symbolic link that leads out) or an excluded
file (``sparkforge.exclude``, ``.sparkforgeignore``, the secret-file defaults) is a
``ToolError`` the model reads, never a crash. Listing and search also skip what ``.gitignore``
files ignore (gitignore semantics by ``pathspec``) and ``.git`` itself. Outputs are capped here;
the loop redacts them before they reach the model.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import pathspec

from sparkforge.edits import SourceText
from sparkforge.privacy import ExclusionPolicy

READ_MAX_LINES = 400
READ_MAX_BYTES = 32 * 1024
LIST_MAX = 500
SEARCH_MAX = 100
SEARCH_LINE_MAX = 200  # characters of a matching line shown
SEARCH_FILE_MAX = 2 * 1024 * 1024  # larger files are not searched
GITIGNORE = ".gitignore"


class ToolError(Exception):
    """What the model is told when a tool call cannot be carried out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolOutput:
    """A tool's answer: ``text`` for the model; ``title`` and ``detail`` for the user's step list."""

    text: str
    title: str
    detail: str | None = None
    ok: bool = True


class Exclusions(Protocol):
    def reason(self, path: Path | str) -> str | None:
        """Why ``path`` may not reach a model, or None (``privacy.ExclusionPolicy`` is one)."""


class AgentWorkspace:
    """The files the agent sees: confined to ``root``, never excluded ones; a file open in the
    editor is read from its buffer (``open_text``), any other from disk."""

    def __init__(
        self,
        root: Path,
        exclusions: ExclusionPolicy | Exclusions,
        open_text: Callable[[str], SourceText | None] | None = None,
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.real_root = self.root.resolve()
        self.exclusions = exclusions
        self._open_text = open_text or (lambda rel: None)

    # -- paths ---------------------------------------------------------------------------
    def confine(self, path: str | None, *, folder: bool = False) -> str:
        """The workspace-relative posix path for what the model wrote ("" is the root, allowed
        with ``folder``), or ToolError."""
        raw = (path or "").strip()
        p = raw.replace("\\", "/")
        if p.startswith("file://"):
            p = unquote(urlparse(p).path)
        if p in ("", ".", "./"):
            if folder:
                return ""
            raise ToolError("refused: the path is empty")
        if re.match(r"^[A-Za-z]:/", p) and os.name != "nt":
            raise ToolError(f"refused: {raw} is outside the workspace")
        candidate = Path(os.path.normpath(p))
        if candidate.is_absolute():
            for root in (self.root, self.real_root):
                if candidate == root and folder:
                    return ""
                if candidate.is_relative_to(root):
                    candidate = candidate.relative_to(root)
                    break
            else:
                raise ToolError(f"refused: {raw} is outside the workspace")
        if candidate.parts[:1] == ("..",):
            raise ToolError(f"refused: {raw} is outside the workspace")
        if str(candidate) == ".":
            if folder:
                return ""
            raise ToolError("refused: the path is empty")
        if not (self.real_root / candidate).resolve().is_relative_to(self.real_root):
            raise ToolError(f"refused: {raw} is outside the workspace (a symbolic link leads out of it)")
        return candidate.as_posix()

    def excluded(self, rel: str) -> str | None:
        """Why the model may not see ``rel`` (a secrets file, an exclusion, .git), or None."""
        if rel.split("/", 1)[0] == ".git":
            return f"{rel} is inside .git"
        return self.exclusions.reason(self.root / rel)

    def allowed(self, path: str | None) -> str:
        """``confine`` plus the exclusions: the relative path of a file the model may see."""
        rel = self.confine(path)
        if (reason := self.excluded(rel)) is not None:
            raise ToolError(f"refused: {reason}")
        return rel

    def path(self, rel: str) -> Path:
        return self.root / rel

    # -- reading -------------------------------------------------------------------------
    def read(self, rel: str) -> SourceText | None:
        """The file's text now (the editor's buffer if open, else disk); None if there is none.
        OSError other than a missing file, and undecodable files, are ToolError."""
        if (open_doc := self._open_text(rel)) is not None:
            return open_doc
        path = self.path(rel)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            raise ToolError(f"{rel} is a folder, not a file (list_files lists it)") from None
        except OSError as exc:
            raise ToolError(f"cannot read {rel}: {exc.strerror or exc}") from None
        try:
            return SourceText(data.decode("utf-8"), None)
        except UnicodeDecodeError:
            raise ToolError(f"{rel} is not UTF-8 text") from None

    def files(self, start: str = "") -> Iterator[str]:
        """The files under ``start`` (relative; "" for the root) that listing and search show,
        in sorted order: not ignored by .gitignore files, not excluded, not in .git."""
        top = self.path(start) if start else self.root
        if top.is_file():
            if self.excluded(start) is None:
                yield start
            return
        ignores: list[tuple[str, pathspec.GitIgnoreSpec]] = []
        # The .gitignore files of the folders above ``start`` apply too.
        parts = PurePosixPath(start).parts if start else ()
        for depth in range(len(parts)):
            self._load_ignore("/".join(parts[:depth]), ignores)
        yield from self._walk(start, ignores)

    def _walk(self, folder: str, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> Iterator[str]:
        here = self.path(folder) if folder else self.root
        added = self._load_ignore(folder, ignores)
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError:
            entries = []
        try:
            for entry in entries:
                rel = f"{folder}/{entry.name}" if folder else entry.name
                if entry.name == ".git":
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                if _ignored(rel, is_dir, ignores):
                    continue
                if is_dir:
                    yield from self._walk(rel, ignores)
                elif entry.is_file() and self.excluded(rel) is None:
                    if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(self.real_root):
                        continue
                    yield rel
        finally:
            if added:
                ignores.pop()

    def _load_ignore(self, folder: str, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
        path = (self.path(folder) if folder else self.root) / GITIGNORE
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return False
        ignores.append((folder, pathspec.GitIgnoreSpec.from_lines(lines)))
        return True


def _ignored(rel: str, is_dir: bool, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
    """Whether the .gitignore files (outermost first; a deeper file's verdict wins) ignore ``rel``."""
    verdict = False
    for base, spec in ignores:
        sub = rel[len(base) + 1:] if base else rel
        result = spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            verdict = result.include
    return verdict


# -- arguments ---------------------------------------------------------------------------
class Args:
    """A tool call's arguments, read field by field; a wrong one is a ToolError naming it."""

    def __init__(self, tool: str, raw: Any) -> None:
        self.tool = tool
        if not isinstance(raw, dict):
            raise ToolError(f"{tool}: the arguments must be a JSON object")
        self.raw = raw

    def str(self, name: str, required: bool = True) -> Any:
        value = self.raw.get(name)
        if value is None:
            if required:
                raise ToolError(f"{self.tool}: the argument {name} is missing")
            return None
        if not isinstance(value, str):
            raise ToolError(f"{self.tool}: {name} must be a string")
        return value

    def int(self, name: str, minimum: int = 1) -> int | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ToolError(f"{self.tool}: {name} must be an integer of at least {minimum}")
        return value

    def number(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ToolError(f"{self.tool}: {name} must be a positive number")
        return float(value)


# -- the read-only tools -----------------------------------------------------------------
def read_file(ws: AgentWorkspace, args: Args, view: Callable[[str], SourceText | None] | None = None) -> ToolOutput:
    """Numbered lines of a file, ``start_line``-``end_line`` (1-based, inclusive), capped.
    ``view`` is what the agent sees of a file (its pending edits), defaulting to the workspace."""
    rel = ws.allowed(args.str("path"))
    start = args.int("start_line") or 1
    end = args.int("end_line")
    got = (view or ws.read)(rel)
    if got is None:
        raise ToolError(f"{rel}: no such file")
    lines = got.text.splitlines()
    total = len(lines)
    if total == 0:
        return ToolOutput(f"{rel} is empty", f"Reading `{rel}`", "empty")
    if start > total:
        raise ToolError(f"{rel} has {total} lines; start_line {start} is past its end")
    last = min(end or total, total, start + READ_MAX_LINES - 1)
    out: list[str] = []
    size = 0
    shown_to = start - 1
    for n in range(start, last + 1):
        line = f"{n:>6}\t{lines[n - 1]}"
        size += len(line.encode("utf-8")) + 1
        if size > READ_MAX_BYTES and out:
            break
        out.append(line)
        shown_to = n
    head = f"{rel}, lines {start}-{shown_to} of {total}:"
    if shown_to < min(end or total, total):
        out.append(f"(cut at {len(out)} lines; read on with start_line {shown_to + 1})")
    return ToolOutput("\n".join([head, *out]), f"Reading `{rel}` {start}-{shown_to}")


def list_files(ws: AgentWorkspace, args: Args) -> ToolOutput:
    folder = ws.confine(args.str("path", required=False), folder=True)
    if folder and (reason := ws.excluded(folder)) is not None:
        raise ToolError(f"refused: {reason}")
    glob = args.str("glob", required=False)
    if folder and not ws.path(folder).exists():
        raise ToolError(f"{folder}: no such file or folder")
    found: list[str] = []
    more = 0
    for rel in ws.files(folder):
        if glob and not _glob_match(rel, glob):
            continue
        if len(found) < LIST_MAX:
            found.append(rel)
        else:
            more += 1
    where = f"`{folder}`" if folder else "the workspace"
    title = f"Listing {where}" + (f" ({glob})" if glob else "")
    if not found:
        return ToolOutput("no files", title, "no files")
    text = "\n".join(found)
    if more:
        text += f"\n({more} more not shown: narrow the path or the glob)"
    return ToolOutput(text, title, f"{len(found) + more} files")


def search(ws: AgentWorkspace, args: Args, view: Callable[[str], SourceText | None] | None = None) -> ToolOutput:
    pattern = args.str("pattern")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise ToolError(f"search: the pattern is not a valid regular expression ({exc})") from None
    folder = ws.confine(args.str("path", required=False), folder=True)
    if folder and (reason := ws.excluded(folder)) is not None:
        raise ToolError(f"refused: {reason}")
    glob = args.str("glob", required=False)
    title = f"Searching `{pattern}`" + (f" in `{folder}`" if folder else "")
    read = view or ws.read
    hits: list[str] = []
    more = 0
    files: set[str] = set()
    for rel in ws.files(folder):
        if glob and not _glob_match(rel, glob):
            continue
        try:
            if ws.path(rel).stat().st_size > SEARCH_FILE_MAX:
                continue
            got = read(rel)
        except (OSError, ToolError):
            continue  # unreadable or not text: not searched
        if got is None or "\0" in got.text[:8192]:
            continue
        for n, line in enumerate(got.text.splitlines(), 1):
            if regex.search(line):
                files.add(rel)
                if len(hits) < SEARCH_MAX:
                    shown = line if len(line) <= SEARCH_LINE_MAX else line[:SEARCH_LINE_MAX] + "…"
                    hits.append(f"{rel}:{n}: {shown}")
                else:
                    more += 1
    if not hits:
        return ToolOutput("no matches", title, "no matches")
    text = "\n".join(hits)
    if more:
        text += f"\n({more} more matches not shown: narrow the pattern, the path or the glob)"
    count = len(hits) + more
    return ToolOutput(text, title, f"{count} match{'es' if count != 1 else ''} in {len(files)} file{'s' if len(files) != 1 else ''}")


def _glob_match(rel: str, glob: str) -> bool:
    """A glob against the whole relative path, or against the name for a glob without "/"."""
    if "/" not in glob:
        return fnmatch.fnmatchcase(PurePosixPath(rel).name, glob)
    return PurePosixPath(rel).full_match(glob) if hasattr(PurePosixPath, "full_match") else fnmatch.fnmatchcase(rel, glob)


# -- what the model is offered -----------------------------------------------------------
def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


_PATH = {"type": "string", "description": "a path relative to the workspace root"}

TOOL_DEFINITIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("read_file",
     f"Read a text file of the workspace, as numbered lines (at most {READ_MAX_LINES} lines a call).",
     _schema({"path": _PATH,
              "start_line": {"type": "integer", "description": "first line, 1-based (default 1)"},
              "end_line": {"type": "integer", "description": "last line, inclusive (default: the end)"}},
             ["path"])),
    ("list_files",
     f"List the workspace's files (or a folder's), skipping ignored and secret files; at most {LIST_MAX}.",
     _schema({"path": {"type": "string", "description": "a folder relative to the workspace root (default: the root)"},
              "glob": {"type": "string", "description": "only files matching this glob, e.g. *.py"}},
             [])),
    ("search",
     f"Search the workspace's files for a regular expression, line by line; at most {SEARCH_MAX} matches.",
     _schema({"pattern": {"type": "string", "description": "a Python regular expression"},
              "path": {"type": "string", "description": "a folder or file to search (default: the workspace)"},
              "glob": {"type": "string", "description": "only files matching this glob, e.g. *.py"}},
             ["pattern"])),
    ("edit_file",
     "Change one file by giving the new code with unchanged parts elided as "
     "'... existing code ...' comments; a fast model merges it into the file. "
     "Prefer apply_patch for precise edits.",
     _schema({"path": _PATH, "code": {"type": "string", "description": "the changed code, unchanged parts elided"}},
             ["path", "code"])),
    ("run_command",
     "Run a command line (tests, linters) in the workspace, without a shell; the user may have to "
     "approve it. Answers the exit code and the end of the output.",
     _schema({"command": {"type": "string", "description": "the command line, e.g. pytest -q"},
              "cwd": {"type": "string", "description": "a folder relative to the workspace root (default: the root)"},
              "timeout_s": {"type": "number", "description": "seconds before it is stopped"}},
             ["command"])),
)
