"""``sparkforge act``: run a code action from the terminal and print its diff.

    sparkforge act KIND FILE[:LINE[-LINE]] [--instruction TEXT] [--diagnostic MESSAGE]
                   [--apply] [--base-url URL] [--api responses|chat] [--settings FILE] [--root DIR]

The same flow as the editor's code actions (``sparkforge.deep.flow``): FILE:LINE works on the
function or class around LINE, FILE:A-B on those lines, FILE alone on the whole file. The
plan is printed as a unified diff on stdout (Explain prints the answer); ``--apply`` writes
the files, only once the whole plan succeeded, each atomically (a temporary file renamed
over the old one). Progress goes to stderr. Exit status: 0 done, 1 failed (with the reason on
stderr, nothing written), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from sparkforge.config import ACTION_KINDS, Settings, SettingsFileError, command_settings
from sparkforge.deep.flow import ActionError, ActionRequest, ActionResult, ActionRun, Workspace, read_disk
from sparkforge.deep.prompt import Diagnostic
from sparkforge.deep.targets import Target, find_definition
from sparkforge.edits import EditPlan, SourceText, render_diff, text_sha256
from sparkforge.predict.text import split_lines
from sparkforge.privacy import ExclusionPolicy

LANGUAGES = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascriptreact", ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin",
    ".cs": "csharp", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp", ".rb": "ruby",
    ".php": "php", ".swift": "swift", ".lua": "lua", ".ex": "elixir", ".exs": "elixir", ".sh": "shellscript",
}
_SPEC_RE = re.compile(r"^(?P<file>.+?):(?P<first>\d+)(?:-(?P<last>\d+))?$")


class CommandError(Exception):
    """A problem with the command line or the files; printed, exit 1."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=ACTION_KINDS, help="the action to run")
    p.add_argument("target", metavar="FILE[:LINE[-LINE]]",
                   help="the file; LINE: the function or class around it; A-B: those lines (1-based)")
    p.add_argument("--instruction", metavar="TEXT", help="what to do (refactor; added to the task otherwise)")
    p.add_argument("--diagnostic", metavar="MESSAGE", help="the problem to fix (required for fix)")
    p.add_argument("--apply", action="store_true", help="write the changes (all or nothing)")
    p.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible base URL for both models")
    p.add_argument("--api", choices=["responses", "chat"], help="the API both models speak")
    p.add_argument("--settings", metavar="FILE", help="a JSON file with the sparkforge settings section")
    p.add_argument("--root", metavar="DIR", help="the workspace root (default: the current directory)")


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_act(args))
    except KeyboardInterrupt:
        print("sparkforge act: interrupted; nothing was written", file=sys.stderr)
        return 130
    except (CommandError, ActionError) as exc:
        print(f"sparkforge act: {exc}", file=sys.stderr)
        return 1


def load_settings(args: argparse.Namespace) -> Settings:
    try:
        settings, problems = command_settings(args.settings, args.base_url, args.api)
    except SettingsFileError as exc:
        raise CommandError(str(exc)) from None
    for problem in problems:
        print(f"sparkforge act: warning: {problem}", file=sys.stderr)
    return settings


def parse_target(spec: str, root: Path | None) -> tuple[Path, Path, int | None, int | None]:
    """(file, root, first line, last line), lines 1-based."""
    first = last = None
    path = Path(spec)
    if not path.is_file() and (m := _SPEC_RE.match(spec)):
        path, first = Path(m["file"]), int(m["first"])
        last = int(m["last"]) if m["last"] else None
    if not path.is_file():
        raise CommandError(f"{path} is not a file")
    path = path.resolve()
    if root is None:
        cwd = Path.cwd().resolve()
        root = cwd if path.is_relative_to(cwd) else path.parent
    root = root.resolve()
    if not path.is_relative_to(root):
        raise CommandError(f"{path} is outside the workspace root {root}; pass --root")
    return path, root, first, last


def make_target(lines: list[str], first: int | None, last: int | None, language: str) -> Target:
    n = len(lines)
    if first is None:
        return Target("file", 0, 0, n - 1, len(lines[-1]))
    if not 1 <= first <= n or (last is not None and not first <= last <= n):
        raise CommandError(f"lines {first}-{last or first} are not in the file (it has {n})")
    if last is None:
        found = find_definition(lines, first - 1, language)
        if found is not None:
            return found
        last = first
    return Target("selection", first - 1, 0, last - 1, len(lines[last - 1]))


async def _act(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    path, root, first, last = parse_target(args.target, Path(args.root) if args.root else None)
    rel = path.relative_to(root).as_posix()
    policy = ExclusionPolicy(root, settings.exclude)
    workspace = Workspace(root, {}, lambda r: policy.reason(root / r))
    try:
        source = workspace.read(rel)
    except OSError as exc:
        raise CommandError(f"cannot read {rel}: {exc}") from exc
    assert source is not None
    language = LANGUAGES.get(path.suffix.lower(), "")
    lines, _ = split_lines(source.text)
    target = make_target(lines, first, last, language)
    diagnostic = None
    if args.kind == "fix":
        if not args.diagnostic:
            raise CommandError("fix needs --diagnostic MESSAGE: the error or warning to fix")
        diagnostic = Diagnostic(args.diagnostic, target.start_line)
    request = ActionRequest(args.kind, rel, language, target, args.instruction, diagnostic)

    from sparkforge.models.gateway import ModelGateway

    gateway = ModelGateway(settings, one_shot=True)
    gateway.cache_scope = str(root)  # the editor's prompt_cache_key for this workspace
    try:
        action = ActionRun(gateway, settings, request, workspace)
        action.prepare()
        print(f"{action.title}: {target.describe()} in {rel}…", file=sys.stderr)
        result = await action.run(_progress(action.model))
    finally:
        await gateway.aclose()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if result.plan is None:
        print(result.text.rstrip("\n"))
        return 0
    sys.stdout.write(render_diff(result.plan, result.sources))
    if args.apply:
        written = write_plan(root, result.plan, result.sources)
        print(f"sparkforge act: wrote {', '.join(written)}", file=sys.stderr)
    elif result.text.strip():
        print(f"sparkforge act: {result.model}: {result.text.strip()}", file=sys.stderr)
    return 0


def _progress(model: str):
    last = 0.0
    tty = sys.stderr.isatty()

    def on_tokens(count: int) -> None:
        nonlocal last
        now = time.monotonic()
        if tty and now - last >= 0.1:
            last = now
            print(f"\r  {count} tokens from {model}", end="", file=sys.stderr, flush=True)

    return on_tokens


def write_plan(root: Path, plan: EditPlan, sources: dict[str, SourceText]) -> list[str]:
    """Write every file of ``plan``, or none if any changed on disk since it was read."""
    for fe in plan.files:
        now = read_disk(root, fe.path)
        if fe.kind == "create" and now is not None:
            raise ActionError(f"{fe.path} appeared while the model was working; nothing was written")
        if fe.kind != "create" and (now is None or text_sha256(now.text) != fe.old_text_sha256):
            raise ActionError(f"{fe.path} changed while the model was working; nothing was written")
    staged: list[tuple[str, Path | None, Path]] = []
    try:
        for fe in plan.files:
            dest = root / fe.path
            if fe.kind == "delete":
                staged.append((fe.path, None, dest))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".sparkforge", dir=dest.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(fe.new_text)
            # mkstemp makes the file private; keep the old file's mode, or the usual one.
            os.chmod(tmp, dest.stat().st_mode & 0o7777 if dest.exists() else 0o666 & ~_umask())
            staged.append((fe.path, Path(tmp), dest))
    except OSError as exc:
        for _, tmp, _ in staged:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        raise ActionError(f"cannot write {exc.filename or 'a file'}: {exc.strerror}; nothing was written") from exc
    for _, tmp, dest in staged:
        if tmp is None:
            dest.unlink()
        else:
            os.replace(tmp, dest)
    return [p for p, _, _ in staged]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["ActionResult", "add_arguments", "render_diff", "run", "write_plan"]
