"""Copilot NES recordings, read as they are (docs/eval.md, "Zed and Copilot cases").

Followed (microsoft/vscode-copilot-chat): ``src/platform/workspaceRecorder/common/workspaceLog.ts``
(the log entries), ``src/extension/inlineEdits/common/observableWorkspaceRecordingReplayer.ts``
(how a log is replayed), the simulation tests' ``inlineEditScoringService.ts`` (scored edits:
``bad`` 0, ``valid`` 0.1, ``nextEdit`` 1) and the ``Scoring``/``Recording`` types of the
recording scripts.

``recording.w.json`` is ``{"log": [entry, ...], "nextUserEdit"?: {...}}``. Entries: ``header``
/ ``meta`` (``repoRootUri``), ``documentEncountered`` (``id``, ``relativePath``), ``setContent``
(whole text), ``changed`` (``edit``: ``[start, endEx, text]`` replacements, offsets in the text
before the edit), ``selectionChanged`` (``selection``: ``[start, endEx]`` ranges),
``storeContent``/``restoreContent``, and ``opened``, ``closed``, ``focused``, ``documentEvent``,
``event``, ``bookmark``, ``applicationStart`` (no effect on the text). Offsets are JavaScript
string indices (UTF-16 code units); they are converted to ``str`` indices here.

``scoredEdits.w.json`` (beside it; ``x.recording.w.json`` pairs with ``x.scoredEdits.w.json``)
holds ``edits``: ``{documentUri, edit: [[start, endEx, text], ...] | null, scoreCategory,
score}`` against the documents as they are at the end of the log; ``null`` is "no edit".
Unscored entries are skipped.

The case: the log replayed to its end; the last ``HISTORY_LIMIT`` text changes are the history
(earlier ones are folded into the files), their pauses from the entries' ``time`` (at most 2 s); the cursor
document is the one of the last ``changed`` or ``selectionChanged`` entry, the cursor the end
of its last selection, or of the last edit if that came after; each scored edit is one
``Expected`` with its grade as ``score`` (best first).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sparkforge.textpos import UTF16, units_to_column

from .model import Case, CaseError, Expected, HistoryEdit, language_of

RECORDING = "recording.w.json"
SCORED = "scoredEdits.w.json"
HISTORY_LIMIT = 20  # text changes replayed as edits; earlier ones are part of the files
MAX_DELAY_MS = 2000.0  # a long pause in the recording is replayed as this one
DEFAULT_DELAY_MS = 300.0
GRADES = {"bad": 0.0, "valid": 0.1, "nextEdit": 1.0}
_INERT = {"opened", "closed", "focused", "documentEvent", "event", "bookmark", "applicationStart"}


def is_recording(path: Path) -> bool:
    return path.name.endswith(RECORDING)


def read_recording(path: Path) -> Case:
    """The case of a recording: a folder holding ``recording.w.json``, or the file itself."""
    recording = path / RECORDING if path.is_dir() else path
    name = path.name if path.is_dir() else path.name.removesuffix(RECORDING).rstrip(".") or path.parent.name
    scored = recording.with_name(recording.name.replace(RECORDING, SCORED))
    source = str(recording)
    if not scored.is_file():
        raise CaseError(f"{source}: no {scored.name} beside it (the graded edits)")
    log_data = _load_json(recording)
    scored_data = _load_json(scored)
    try:
        return _Replay(name, source, str(scored)).build(log_data, scored_data)
    except CaseError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CaseError(f"{source}: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"a log entry lacks the field {exc.args[0]!r}"
    return str(exc)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaseError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CaseError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None


@dataclass
class _Document:
    path: str
    text: str | None = None  # raw text, as the editor had it (CRLF kept)
    selection_end: int | None = None  # str index in ``text``


@dataclass
class _Change:
    doc: int
    before: str
    after: str
    pause: float | None  # ms since the log entry before it, when both have a time
    cursor: int  # str index in ``after`` just past the change


@dataclass
class _Replay:
    name: str
    source: str
    scored_source: str
    docs: dict[int, _Document] = field(default_factory=dict)
    stored: dict[str, str] = field(default_factory=dict)
    changes: list[_Change] = field(default_factory=list)
    last_doc: int | None = None
    cursor_from_edit: bool = False
    last_time: float | None = None

    def build(self, log_data: Any, scored_data: Any) -> Case:
        if not isinstance(log_data, dict) or not isinstance(log_data.get("log"), list):
            raise ValueError('expected an object with a "log" list')
        for number, entry in enumerate(log_data["log"], 1):
            try:
                self._step(entry)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise ValueError(f"log entry {number}: {_describe(exc)}") from None
        if self.last_doc is None:
            raise ValueError("the log has no 'changed' or 'selectionChanged' entry: no cursor")
        cursor_doc = self.docs[self.last_doc]
        assert cursor_doc.text is not None
        if self.cursor_from_edit or cursor_doc.selection_end is None:
            last = next((c for c in reversed(self.changes) if c.doc == self.last_doc), None)
            cursor = last.cursor if last else 0
        else:
            cursor = cursor_doc.selection_end

        kept = self.changes[-HISTORY_LIMIT:]
        folded = self.changes[: len(self.changes) - len(kept)]
        initial: dict[int, str] = {}
        for change in kept:
            initial.setdefault(change.doc, change.before)
        files_raw = {
            doc.path: initial.get(doc_id, doc.text)
            for doc_id, doc in self.docs.items()
            if doc.text is not None
        }
        crlf = "\r\n" in cursor_doc.text
        history: list[HistoryEdit] = []
        for change in kept:
            delay = DEFAULT_DELAY_MS if change.pause is None else min(max(change.pause, 0.0), MAX_DELAY_MS)
            history.append(HistoryEdit(self.docs[change.doc].path, _lf(change.before), _lf(change.after), delay))
        expected, notes = self._expected(scored_data, cursor_doc.path)
        best = [e for e in expected if e.score == GRADES["nextEdit"]]
        current = {doc.path: _lf(doc.text) for doc in self.docs.values() if doc.text is not None}
        no_edit = bool(best) and all(e.after == current[e.path] for e in best)
        if no_edit:
            # The expected next edit is none: a case that expects no edit has no alternatives.
            if len(expected) > len(best):
                dropped = len(expected) - len(best)
                notes.append(f"the expected next edit is no edit: {dropped} other graded edit(s) dropped")
            expected = ()
        if folded:
            notes.append(f"the first {len(folded)} of {len(self.changes)} text changes are part of the files")
        return Case(
            name=self.name,
            source=self.source,
            format="copilot",
            files={path: _lf(text) for path, text in files_raw.items()},
            history=tuple(history),
            cursor_path=cursor_doc.path,
            cursor_offset=cursor - cursor_doc.text[:cursor].count("\r\n"),
            expected=expected,
            language=language_of(cursor_doc.path),
            kind="no-edit" if no_edit else "",
            crlf=crlf,
            notes=tuple(notes),
        )

    # -- the log ----------------------------------------------------------------------------

    def _step(self, entry: dict) -> None:
        time = entry.get("time") if isinstance(entry, dict) else None
        pause = None if time is None or self.last_time is None else float(time) - self.last_time
        self._apply_entry(entry, pause)
        if time is not None:
            self.last_time = float(time)

    def _apply_entry(self, entry: dict, pause: float | None) -> None:
        kind = entry["kind"]
        if kind in ("header", "meta") or kind in _INERT:
            return
        if kind == "documentEncountered":
            path = str(entry["relativePath"]).replace("\\", "/").lstrip("/")
            self.docs[entry["id"]] = _Document(path)
            return
        doc = self.docs.get(entry["id"])
        if doc is None:
            raise ValueError(f"{kind} for document {entry['id']}, which no documentEncountered entry named")
        if kind == "setContent" or kind == "restoreContent":
            if kind == "setContent":
                content = entry["content"]
            else:
                if entry["contentId"] not in self.stored:
                    raise ValueError(f"restoreContent of {entry['contentId']!r}, which was never stored")
                content = self.stored[entry["contentId"]]
            if doc.text is not None and doc.text != content:
                self.changes.append(_Change(entry["id"], doc.text, content, pause, len(content)))
            doc.text = content
            return
        if doc.text is None:
            raise ValueError(f"{kind} for {doc.path} before its setContent")
        if kind == "storeContent":
            self.stored[entry["contentId"]] = doc.text
        elif kind == "changed":
            before = doc.text
            doc.text, cursor = apply_edit(before, entry["edit"])
            self.changes.append(_Change(entry["id"], before, doc.text, pause, cursor))
            self.last_doc = entry["id"]
            self.cursor_from_edit = True
        elif kind == "selectionChanged":
            selection = entry["selection"]
            if selection:
                doc.selection_end = _index(doc.text, selection[0][1])
            self.last_doc = entry["id"]
            self.cursor_from_edit = False
        else:
            raise ValueError(f"unknown log entry kind {kind!r}")

    # -- scored edits -----------------------------------------------------------------------

    def _expected(self, data: Any, cursor_path: str) -> tuple[tuple[Expected, ...], list[str]]:
        where = self.scored_source
        if not isinstance(data, dict) or not isinstance(data.get("edits"), list):
            raise CaseError(f'{where}: expected an object with an "edits" list')
        by_path = {doc.path: doc for doc in self.docs.values() if doc.text is not None}
        alternatives: list[Expected] = []
        unscored = 0
        for number, item in enumerate(data["edits"], 1):
            category = item.get("scoreCategory") if isinstance(item, dict) else None
            if category == "unscored" or item.get("score") == "unscored":
                unscored += 1
                continue
            if category not in GRADES:
                raise CaseError(f"{where}: edit {number}: unknown scoreCategory {category!r} (bad, valid, nextEdit)")
            path = _document_path(str(item.get("documentUri", "")), by_path)
            if path is None:
                raise CaseError(f"{where}: edit {number}: {item.get('documentUri')!r} is no document of the recording")
            text = by_path[path].text
            assert text is not None
            try:
                after = apply_edit(text, item["edit"])[0] if item.get("edit") else text
            except (ValueError, TypeError, IndexError) as exc:
                raise CaseError(f"{where}: edit {number}: {exc}") from None
            alternatives.append(Expected(path, _lf(after), GRADES[category]))
        if not alternatives:
            raise CaseError(f"{where}: no scored edit (every edit is unscored)")
        alternatives.sort(key=lambda e: (-e.score, e.path != cursor_path))
        notes = [f"{unscored} unscored edit(s) skipped"] if unscored else []
        return tuple(alternatives), notes


def apply_edit(text: str, edit: list) -> tuple[str, int]:
    """``text`` with the replacements ``[[start, endEx, text], ...]`` (UTF-16 offsets into
    ``text``, sorted, not overlapping), and the str index just past the last one."""
    pieces: list[str] = []
    at = 0
    end = 0
    for replacement in edit:
        start16, end16, new = replacement
        start, stop = _index(text, start16), _index(text, end16)
        if start < at or stop < start:
            raise ValueError(f"replacement {replacement[:2]} overlaps another or is reversed")
        pieces.append(text[at:start])
        pieces.append(new)
        end = sum(map(len, pieces))
        at = stop
    pieces.append(text[at:])
    return "".join(pieces), end


def _index(text: str, utf16: int) -> int:
    if not isinstance(utf16, int) or utf16 < 0:
        raise ValueError(f"offset {utf16!r} is not a non-negative integer")
    return units_to_column(text, utf16, UTF16)


def _document_path(uri: str, by_path: dict[str, _Document]) -> str | None:
    uri = unquote(uri).replace("\\", "/")
    if uri in by_path:
        return uri
    matches = [p for p in by_path if uri.endswith("/" + p)]
    return max(matches, key=len) if matches else None


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")
