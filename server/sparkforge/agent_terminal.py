"""``sparkforge agent``: the agent's task loop in a terminal, without an editor.

    sparkforge agent "TASK" [--yes] [--model deep|fast|NAME] [--root DIR]
                     [--base-url URL] [--api responses|chat] [--settings FILE] [--max-steps N]

The same engine as the editor's agent mode (``sparkforge.agent``): the model reads, searches
and edits the workspace with tools until it answers without a call. Here each step's edit is
written to the files directly (all of a step or none), and a command the settings do not
allow (``agent.allowCommands``) is asked on the terminal (y/N) unless ``--yes`` approves every
one; ``agent.commands: "never"`` still runs none. Each step is printed on stderr as it
happens; the diff of everything changed goes to stdout at the end. Exit status: 0 done,
1 failed or stopped (a budget ran out), 2 a bad command line, 130 interrupted (the step being
applied is finished first).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from sparkforge.agent.changes import ChangeSet, FileApplier
from sparkforge.agent.loop import AgentRun, Approval, Budget
from sparkforge.agent.steps import Step
from sparkforge.agent.safety import CommandPolicy
from sparkforge.agent.tools import AgentWorkspace
from sparkforge.config import Settings, SettingsFileError, command_settings
from sparkforge.privacy import ExclusionPolicy

PROG = "sparkforge agent"
MARKS = {"running": "…", "done": "✓", "failed": "✗"}


class CommandError(Exception):
    """A problem with the command line or the settings; printed, exit 2."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", help="what to do, in words")
    p.add_argument("--yes", "-y", action="store_true",
                   help="run every command the model asks for without asking (unless agent.commands is never)")
    p.add_argument("--model", metavar="deep|fast|NAME", default="deep",
                   help="the role that carries the task, or a model name for the deep role (default: deep)")
    p.add_argument("--root", metavar="DIR", help="the workspace root (default: the current directory)")
    p.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible base URL for both models")
    p.add_argument("--api", choices=["responses", "chat"], help="the API both models speak")
    p.add_argument("--settings", metavar="FILE", help="a JSON file with the sparkforge settings section")
    p.add_argument("--max-steps", metavar="N", type=int, help="lower the budget of tool calls")


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args)
        root = workspace_root(args.root)
        if not args.task.strip():
            raise CommandError("the task is empty: say what to do")
    except CommandError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_agent(args, settings, root))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def load_settings(args: argparse.Namespace) -> Settings:
    try:
        settings, problems = command_settings(args.settings, args.base_url, args.api)
    except SettingsFileError as exc:
        raise CommandError(str(exc)) from None
    for problem in problems:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    if args.model not in ("deep", "fast"):
        settings.deep.model = args.model
        settings.origins["deep.model"] = "--model"
    if args.max_steps is not None and args.max_steps < 1:
        raise CommandError(f"--max-steps must be 1 or more, not {args.max_steps}")
    return settings


def workspace_root(path: str | None) -> Path:
    root = Path(path or ".").resolve()
    if not root.is_dir():
        raise CommandError(f"--root {path}: not a folder")
    return root


class TerminalHost:
    """Steps printed as they end (on a terminal, a running step is shown in place until it
    ends); commands approved by ``--yes`` or asked on the terminal."""

    def __init__(self, yes: bool, out: TextIO = sys.stderr, answers: TextIO = sys.stdin) -> None:
        self.yes = yes
        self.out = out
        self.answers = answers
        self.live = _isatty(out)
        self._running: int | None = None
        """The step whose running line is on screen, not ended by a newline yet."""

    def step(self, step: Step, usage: dict[str, Any]) -> None:
        if step.kind == "message" and step.detail:
            self._print(f"{step.detail.strip()}\n")
            return
        if step.status == "running":
            if self.live and self._running in (None, step.index):
                self._clear()
                self.out.write(f"  {MARKS['running']} {step.title}")
                self.out.flush()
                self._running = step.index
            return
        line = f"  {MARKS.get(step.status, '·')} {step.title}"
        # (the detail of a command that ran is its output: the title says how it went)
        ran = step.kind == "command" and step.title.startswith("Running")
        if step.status == "failed" and step.detail and not ran and step.detail not in step.title:
            line += f": {_first_line(step.detail)}"
        if self._running == step.index:
            self._clear()
            self._running = None
        self._print(line)

    async def approve(self, command: str, cwd: str) -> Approval:
        if self.yes:
            return Approval(True)
        self._print(f"{PROG} wants to run `{command}` in {cwd}")
        self.out.write("Run it? [y]es / [N]o / [a]lways this command: ")
        self.out.flush()
        line = await _read_line(self.answers)
        if not _isatty(self.answers):  # nobody typed it: show what was read
            self.out.write(f"{line.strip()}\n" if line else "(no answer)\n")
        answer = line.strip().lower()
        if answer in ("a", "always"):
            return Approval(True, always=True)
        return Approval(answer in ("y", "yes"))

    def _print(self, text: str) -> None:
        if self._running is not None:  # the running line stays, ended
            self.out.write("\n")
            self._running = None
        print(text, file=self.out, flush=True)

    def _clear(self) -> None:
        if self._running is not None:
            self.out.write("\r\x1b[K")


async def _read_line(stream: TextIO) -> str:
    """A line from ``stream`` ("" at its end), read on a daemon thread so that an interrupt
    does not wait for the user to press Enter."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[str] = loop.create_future()

    def settle(line: str) -> None:
        if not got.done():
            got.set_result(line)

    def read() -> None:
        try:
            line = stream.readline()
        except (OSError, ValueError):
            line = ""
        loop.call_soon_threadsafe(settle, line)

    threading.Thread(target=read, name="sparkforge-agent-answer", daemon=True).start()
    return await got


async def _agent(args: argparse.Namespace, settings: Settings, root: Path) -> int:
    from sparkforge.models.gateway import ModelGateway

    cfg = settings.agent
    role = "fast" if args.model == "fast" else "deep"
    gateway = ModelGateway(settings, one_shot=True)
    gateway.cache_scope = str(root)
    changes = ChangeSet(FileApplier(root), "apply")
    budget = Budget(cfg.max_steps, cfg.max_tokens, cfg.max_cost_usd, cfg.max_seconds)
    if args.max_steps is not None:
        budget = budget.lowered(steps=args.max_steps)
    agent = AgentRun(
        gateway=gateway,
        workspace=AgentWorkspace(root, ExclusionPolicy(root, settings.exclude)),
        changes=changes,
        host=TerminalHost(args.yes),
        policy=CommandPolicy(cfg.commands, tuple(cfg.allow_commands), True, cfg.command_timeout_s),
        budget=budget,
        role=role,  # type: ignore[arg-type]
    )
    print(f"{PROG}: {agent.model()} ({role}) in {root}", file=sys.stderr)
    task = asyncio.ensure_future(agent.run(args.task))
    try:
        result = await asyncio.shield(task)
    except asyncio.CancelledError:  # Ctrl-C: the run finishes the step being applied, then stops
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print_changes(changes)
        print(f"{PROG}: stopped after {agent.calls} steps; the changes above are written", file=sys.stderr)
        raise
    finally:
        await gateway.aclose()
    print_changes(changes)
    spent = agent.spent
    cost = "" if spent.cost_usd is None else f", ${spent.cost_usd:.4f}"
    print(f"{PROG}: {result.status} after {result.steps} steps with {result.model}: "
          f"{spent.input_tokens} input tokens ({spent.cached_input_tokens} cached), "
          f"{spent.output_tokens} output tokens{cost}", file=sys.stderr)
    return 0 if result.status == "done" else 1


def print_changes(changes: ChangeSet) -> None:
    """The diff of every file the task changed, on stdout."""
    for change in changes.changes():
        sys.stdout.write(change.diff())
    sys.stdout.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"

