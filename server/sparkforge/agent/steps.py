"""What the agent's steps say: the ``Step`` the user sees, and the words of its titles."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sparkforge.agent.safety import CommandResult
from sparkforge.edits.patch import PatchError, parse_patch_envelope
from sparkforge.models.tools import APPLY_PATCH, ToolCall


@dataclass
class Step:
    """One entry of the task's progress, as the user sees it."""

    index: int
    kind: str  # thinking | read | list | search | edit | command | message | budget | error | switch
    title: str
    status: str = "running"  # running | done | failed
    detail: str | None = None


def count(n: float, unit: str) -> str:
    return f"{n:g} {unit}{'' if n == 1 else 's'}"


def first_line(text: str, limit: int = 120) -> str:
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def thought_title(summary: str) -> str:
    """A thinking step's title: the summary's first line, without its bold (summaries open
    with a heading such as ``**Reading the cart module**``)."""
    line = first_line(summary)
    if line.startswith("**") and line.endswith("**") and len(line) > 4:
        line = line[2:-2].strip()
    return line or "Thinking"


def opening_title(call: ToolCall) -> str:
    try:
        raw = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        raw = {}
    raw = raw if isinstance(raw, dict) else {}
    name = call.name
    if name == "read_file":
        return f"Reading `{raw.get('path', '?')}`"
    if name == "list_files":
        return f"Listing `{raw.get('path') or '.'}`"
    if name == "search":
        return f"Searching `{raw.get('pattern', '?')}`"
    if name == "edit_file":
        return f"Editing `{raw.get('path', '?')}`"
    if name == "run_command":
        return f"Running `{raw.get('command', '?')}`"
    if name == APPLY_PATCH:
        try:
            return editing(p.path for p in parse_patch_envelope(str(raw.get("input", ""))))
        except PatchError:
            return "Editing files"
    return f"Calling {name}"


def editing(paths: Any) -> str:
    names = list(dict.fromkeys(paths))
    if len(names) == 1:
        return f"Editing `{names[0]}`"
    return f"Editing {len(names)} files"


def verb(kind: str) -> str:
    return {"create": "created", "delete": "deleted"}.get(kind, "updated")


_PYTEST_SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+s")


def outcome(result: CommandResult) -> str:
    """A few words for the step's title: pytest's summary where there is one, else the exit code."""
    if result.timed_out:
        return "stopped at the timeout"
    for line in reversed(result.output.strip().splitlines()[-5:]):
        if m := _PYTEST_SUMMARY.match(line.strip()):
            return m[1].rstrip(", ")
    return "exit 0" if result.exit_code == 0 else f"failed (exit {result.exit_code})"
