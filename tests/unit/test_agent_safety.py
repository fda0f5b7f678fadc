"""The agent's command policy and runner: what may run, with what environment, and that a
cancelled or timed-out command is killed with what it started."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from sparkforge.agent.safety import (
    CommandPolicy,
    CommandRefused,
    allowlisted,
    command_env,
    decide,
    run_command,
    split_command,
)


def test_allowlist_matches_whole_words_from_the_start():
    assert allowlisted(["pytest", "-q", "tests"], ["pytest"])
    assert allowlisted(["npm", "test"], ["npm test"])
    assert not allowlisted(["pytest-watch"], ["pytest"])
    assert not allowlisted(["npm", "install"], ["npm test"])
    assert not allowlisted(["python", "-m", "pytest"], ["pytest"])
    assert not allowlisted(["pytest"], ["pytest -q"])  # the prefix is longer than the command
    assert not allowlisted(["rm", "-rf", "x"], [])


def test_decide_follows_the_mode_the_allowlist_and_trust():
    argv = ["pytest", "-q"]
    assert decide(CommandPolicy(mode="ask"), argv) == "ask"
    assert decide(CommandPolicy(mode="ask", allow=("pytest",)), argv) == "run"
    assert decide(CommandPolicy(mode="allowlist", allow=("pytest",)), argv) == "run"
    assert decide(CommandPolicy(mode="ask"), argv, session_allow=["pytest -q"]) == "run"
    with pytest.raises(CommandRefused, match="not in sparkforge.agent.allowCommands"):
        decide(CommandPolicy(mode="allowlist", allow=("npm test",)), argv)
    with pytest.raises(CommandRefused, match="turned off"):
        decide(CommandPolicy(mode="never", allow=("pytest",)), argv)
    with pytest.raises(CommandRefused, match="not trusted"):
        decide(CommandPolicy(mode="ask", allow=("pytest",), trusted=False), argv)


def test_split_command_refuses_what_it_cannot_read():
    assert split_command("pytest -q 'a b'") == ["pytest", "-q", "a b"]
    assert split_command("echo a; rm -rf x") == ["echo", "a;", "rm", "-rf", "x"]  # no shell: one program
    with pytest.raises(CommandRefused, match="cannot read"):
        split_command("echo 'open")
    with pytest.raises(CommandRefused, match="empty"):
        split_command("   ")


def test_the_environment_has_no_keys():
    env = command_env({"PATH": "/bin", "OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "u", "GITHUB_TOKEN": "t",
                       "AWS_SECRET_ACCESS_KEY": "s", "DB_PASSWORD": "p", "HOME": "/root", "my_api_key": "k"})
    assert env == {"PATH": "/bin", "HOME": "/root"}


async def test_a_command_runs_in_its_folder_with_the_tail_of_its_output(tmp_path: Path):
    script = "import os,sys; print(os.getcwd()); print('x' * 50000); print('the end'); sys.exit(3)"
    result = await run_command([sys.executable, "-c", script], tmp_path, timeout_s=60, cap=1000)
    assert result.exit_code == 3
    assert result.output.endswith("the end\n")
    assert len(result.output.encode()) <= 1000
    assert result.truncated > 50000 - 1000
    assert str(tmp_path) not in result.output  # the start (the cwd line) was cut


async def test_the_environment_reaches_the_command(tmp_path: Path):
    env = command_env({**os.environ, "SPARKFORGE_TEST_TOKEN": "secret-value", "SPARKFORGE_PLAIN": "visible"})
    script = "import os; print(os.environ.get('SPARKFORGE_TEST_TOKEN')); print(os.environ.get('SPARKFORGE_PLAIN'))"
    result = await run_command([sys.executable, "-c", script], tmp_path, timeout_s=60, env=env)
    assert result.output.split() == ["None", "visible"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is dead for our purpose
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


CHILD = ("import subprocess,sys,time; p=subprocess.Popen([sys.executable,'-c','import time; time.sleep(300)']);"
         "open(sys.argv[1],'w').write(str(p.pid)); time.sleep(300)")


async def test_a_timeout_kills_the_command_and_what_it_started(tmp_path: Path):
    pid_file = tmp_path / "child.pid"
    result = await run_command([sys.executable, "-c", CHILD, str(pid_file)], tmp_path, timeout_s=2)
    assert result.timed_out and result.exit_code is None
    child = int(pid_file.read_text())
    from lsphelp import wait_until
    assert await wait_until(lambda: not _alive(child), timeout=10)


async def test_cancel_kills_the_command_and_what_it_started(tmp_path: Path):
    pid_file = tmp_path / "child.pid"
    task = asyncio.ensure_future(run_command([sys.executable, "-c", CHILD, str(pid_file)], tmp_path, timeout_s=300))
    from lsphelp import wait_until
    assert await wait_until(lambda: pid_file.exists() and pid_file.read_text() != "")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    child = int(pid_file.read_text())
    assert await wait_until(lambda: not _alive(child), timeout=10)
