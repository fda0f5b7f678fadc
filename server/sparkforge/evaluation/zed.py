"""Zed's edit-prediction eval cases (work in progress)."""

from __future__ import annotations

from pathlib import Path

from .model import Case, CaseError


def is_zed_case(text: str) -> bool:
    head = text.lstrip("\ufeff")
    return head.startswith("+++\n") or "\n## Cursor Position" in head or "\n## Expected Patch" in head


def parse_zed_case(text: str, source: str, *, repo_root: Path | None = None) -> Case:
    raise CaseError(f"{source}: Zed cases are not read yet")
