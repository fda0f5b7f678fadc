"""One object per open document: what every feature knows about it, created on didOpen and
dropped on didClose, so nothing about a closed document lingers in a side table.

The text and version themselves stay pygls's (``server.workspace``); this holds what is
derived from them (the line index in the negotiated position encoding, the workspace-relative
path, why it may not reach a model) and what features keep per document (the text the edit
history last saw, the ghost text on screen, where actions put their files).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkforge.textpos import LineIndex


@dataclass
class DocumentState:
    uri: str
    # derived, each with the key it was computed for
    index: tuple[int | None, LineIndex] | None = None  # (version, index)
    relative: tuple[Path | None, str] | None = None  # (root, workspace-relative path)
    exclusion: tuple[Any, str | None] | None = None  # (policy key, reason or None)
    located: tuple[Path | None, tuple[Path, str] | None] | None = None  # actions: (root, (root, rel))
    # kept by features
    seen_text: str | None = None  # the text the edit history last saw
    shown_ghost: Any = None  # the ghost text on screen (predict.engine.ShownGhost)
