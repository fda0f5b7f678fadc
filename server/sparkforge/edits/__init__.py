"""Model output -> edits: parse patches (unified, V4A, envelope), locate hunks, plan edits.

Pure Python with no LSP imports; the LSP layer turns an ``EditPlan`` into a WorkspaceEdit.
"""

from .apply import PatchApplier, apply_hunks, whole_text_change
from .extract import CodeBlock, extract_code_blocks, find_diffs
from .model import EditPlan, FileEdit, FilePatch, Hunk, PatchError, SourceText, TextChange, text_sha256
from .render import render_diff
from .patch import parse_operations, parse_patch_envelope, parse_patches, parse_unified_diff, parse_v4a

__all__ = [
    "CodeBlock",
    "EditPlan",
    "FileEdit",
    "FilePatch",
    "Hunk",
    "PatchApplier",
    "PatchError",
    "SourceText",
    "TextChange",
    "apply_hunks",
    "extract_code_blocks",
    "find_diffs",
    "parse_operations",
    "parse_patch_envelope",
    "parse_patches",
    "parse_unified_diff",
    "parse_v4a",
    "render_diff",
    "text_sha256",
    "whole_text_change",
]
