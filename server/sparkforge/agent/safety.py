"""What the agent may run, and how: the command policy, the allowlist, the environment and the
process itself (no LSP imports: the editor's approval arrives through a callback).

A command line is split with ``shlex`` and run without a shell (``a; rm -rf ~`` is one
program's arguments, not two commands), in the workspace root or a folder inside it, with a
timeout, an environment without the API keys, its output capped (the tail is kept: that is
where test runners say what failed). Cancelling the task that waits for it kills the whole
process group at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

CommandMode = Literal["ask", "allowlist", "never"]
OUTPUT_CAP = 16 * 1024
# Variables a command never sees: whatever looks like a credential, and the OpenAI client's own.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.I)


class CommandRefused(Exception):
    """A command the agent may not run; the message is what the model is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CommandPolicy:
    """``sparkforge.agent.commands`` and what goes with it."""

    mode: CommandMode = "ask"
    allow: tuple[str, ...] = ()
    trusted: bool = True
    timeout_s: float = 120.0


def split_command(command: str) -> list[str]:
    """The argument vector of a command line, or CommandRefused (quotes left open, empty)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise CommandRefused(f"refused: cannot read the command line ({exc})") from None
    if not argv:
        raise CommandRefused("refused: the command line is empty")
    return argv


def allowlisted(argv: Sequence[str], prefixes: Sequence[str]) -> bool:
    """True when one of ``prefixes`` starts ``argv`` word for word (``pytest`` allows
    ``pytest -q tests`` but not ``pytest-foo``; ``npm test`` does not allow ``npm install``)."""
    for prefix in prefixes:
        try:
            words = shlex.split(prefix)
        except ValueError:
            continue
        if words and list(argv[: len(words)]) == words:
            return True
    return False


def decide(policy: CommandPolicy, argv: Sequence[str], session_allow: Sequence[str] = ()) -> Literal["run", "ask"]:
    """Whether ``argv`` runs at once, needs the user's approval, or (CommandRefused) never runs."""
    if not policy.trusted:
        raise CommandRefused(
            "refused: the workspace is not trusted, so the agent runs no commands "
            "(trust the workspace in the editor to allow them)"
        )
    if policy.mode == "never":
        raise CommandRefused("refused: running commands is turned off (sparkforge.agent.commands is \"never\")")
    if allowlisted(argv, [*policy.allow, *session_allow]):
        return "run"
    if policy.mode == "allowlist":
        raise CommandRefused(
            f"refused: `{shlex.join(argv)}` is not in sparkforge.agent.allowCommands, "
            "and sparkforge.agent.commands is \"allowlist\""
        )
    return "ask"


def command_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets: this process's, without the variables that hold keys."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if not (_SECRET_NAME.search(k) or k.upper().startswith("OPENAI_"))}


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None  # None: killed at the timeout
    output: str  # stdout and stderr as they interleaved, the tail kept within the cap
    truncated: int = 0  # bytes left out from the start
    timed_out: bool = False


async def run_command(
    argv: Sequence[str],
    cwd: os.PathLike[str] | str,
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cap: int = OUTPUT_CAP,
) -> CommandResult:
    """Run ``argv`` (no shell) in ``cwd``; the process group is killed at the timeout or when
    the waiting task is cancelled. OSError (no such program) is the caller's to report."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=os.fspath(cwd),
        env=dict(command_env() if env is None else env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group: killing it kills what it started
    )
    tail = bytearray()
    dropped = 0

    async def read() -> None:
        nonlocal dropped
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(65536):
            tail.extend(chunk)
            if len(tail) > cap:
                dropped += len(tail) - cap
                del tail[: len(tail) - cap]

    timed_out = False
    reader = asyncio.ensure_future(read())
    try:
        try:
            await asyncio.wait_for(asyncio.shield(reader), timeout_s)
        except asyncio.TimeoutError:
            timed_out = True
            _kill(proc)
            await reader
        code = await proc.wait()
    except BaseException:
        _kill(proc)
        reader.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    text = tail.decode("utf-8", errors="replace")
    if dropped:
        text = text.split("\n", 1)[-1] if "\n" in text else text  # start on a whole line
    return CommandResult(None if timed_out else code, text, dropped, timed_out)


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    if hasattr(os, "killpg"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
