"""An ``EditPlan`` as one unified diff: what ``sparkforge act`` prints and chat apply shows."""

from __future__ import annotations

import difflib

from .model import EditPlan, SourceText


def _lines(text: str) -> list[str]:
    out = text.splitlines(keepends=True)
    if out and not out[-1].endswith(("\n", "\r")):
        out[-1] += "\n\\ No newline at end of file\n"
    return out


def render_diff(plan: EditPlan, sources: dict[str, SourceText]) -> str:
    """The plan as one unified diff (a/ and b/ prefixes, /dev/null for created or deleted files)."""
    chunks: list[str] = []
    for fe in plan.files:
        old = sources[fe.path].text if fe.kind != "create" and fe.path in sources else ""
        new = fe.new_text if fe.kind != "delete" else ""
        chunks.extend(difflib.unified_diff(
            _lines(old), _lines(new),
            fromfile="/dev/null" if fe.kind == "create" else f"a/{fe.path}",
            tofile="/dev/null" if fe.kind == "delete" else f"b/{fe.path}",
        ))
    return "".join(chunks)
