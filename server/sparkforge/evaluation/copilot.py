"""Copilot NES recordings (work in progress)."""

from __future__ import annotations

from pathlib import Path

from .model import Case, CaseError

RECORDING = "recording.w.json"


def read_recording(path: Path) -> Case:
    raise CaseError(f"{path}: Copilot recordings are not read yet")
