"""``sparkforge agent`` in a terminal: the real command as a subprocess against the local model
server, which scripts a task of several steps (read two files, search, patch two files, run
pytest, see a failure, fix it, run it green, finish). The files the task must leave, the diff
it prints and the steps it shows are written by hand."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEEP = "gpt-5.3-codex"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"
TASK = "Let total_weight() take weights in grams too (units.to_kg) and make the tests pass."
SECRET = "sk-live-4b3a29180f7e6d5c4b3a29180f7e6d5c"

STOCK = 'def total_weight(items):\n    return sum(item["kg"] for item in items)\n'
UNITS = f'SCALE_API_TOKEN = "{SECRET}"\n\n\ndef to_kg(value, unit):\n    return value\n'
TESTS = (
    "from stock import total_weight\n\n\n"
    "def test_kilograms():\n"
    '    assert total_weight([{"kg": 2}, {"kg": 3}]) == 5\n\n\n'
    "def test_grams():\n"
    '    assert total_weight([{"g": 500}, {"kg": 1}]) == 1.5\n'
)
STOCK_DONE = (
    "from units import to_kg\n\n\n"
    "def total_weight(items):\n"
    "    return sum(to_kg(value, unit) for item in items for unit, value in item.items())\n"
)
UNITS_FIRST = f'SCALE_API_TOKEN = "{SECRET}"\n\n\ndef to_kg(value, unit):\n    return value / 100 if unit == "g" else value\n'
UNITS_DONE = f'SCALE_API_TOKEN = "{SECRET}"\n\n\ndef to_kg(value, unit):\n    return value / 1000 if unit == "g" else value\n'

# The first patch divides grams by 100: one test fails, the model fixes it.
FIRST_PATCH = [
    {"type": "update_file", "path": "stock.py", "diff": (
        "@@\n"
        "-def total_weight(items):\n"
        '-    return sum(item["kg"] for item in items)\n'
        "+from units import to_kg\n"
        "+\n"
        "+\n"
        "+def total_weight(items):\n"
        "+    return sum(to_kg(value, unit) for item in items for unit, value in item.items())\n")},
    {"type": "update_file", "path": "units.py", "diff": (
        "@@ def to_kg(value, unit):\n"
        "-    return value\n"
        '+    return value / 100 if unit == "g" else value\n')},
]
FIX = [{"type": "update_file", "path": "units.py", "diff": (
    "@@ def to_kg(value, unit):\n"
    '-    return value / 100 if unit == "g" else value\n'
    '+    return value / 1000 if unit == "g" else value\n')}]
SUMMARY = "Done: total_weight() converts grams with units.to_kg; the tests pass."

SCENARIO = {
    "name": "grams-task", "model": DEEP, "input_contains": ["take weights in grams too"],
    "ttft_ms": 0, "tokens_per_s": 0,
    "turns": [
        {"turn": 0, "output": "Reading the code first.", "function_calls": [
            {"name": "read_file", "arguments": {"path": "stock.py"}},
            {"name": "read_file", "arguments": {"path": "units.py"}}]},
        {"turn": 2, "function_calls": [{"name": "search", "arguments": {"pattern": r"total_weight\(", "glob": "*.py"}}]},
        {"turn": 3, "patches": FIRST_PATCH},
        {"after_output_contains": ["updated stock.py", "updated units.py"],
         "function_calls": [{"name": "run_command", "arguments": {"command": PYTEST}}]},
        {"after_output_contains": ["1 failed"], "patches": FIX},
        {"after_output_contains": ["applied: updated units.py"],
         "function_calls": [{"name": "run_command", "arguments": {"command": PYTEST}}]},
        {"after_output_contains": ["2 passed"], "output": SUMMARY},
        {"after_output_contains": ["did not approve"], "output": "Stopped: the tests were not run."},
    ],
}

# What stdout must be: the diff of both files, from before the task to after it.
DIFF = (
    "--- a/stock.py\n"
    "+++ b/stock.py\n"
    "@@ -1,2 +1,5 @@\n"
    "+from units import to_kg\n"
    "+\n"
    "+\n"
    " def total_weight(items):\n"
    '-    return sum(item["kg"] for item in items)\n'
    "+    return sum(to_kg(value, unit) for item in items for unit, value in item.items())\n"
    "--- a/units.py\n"
    "+++ b/units.py\n"
    "@@ -2,4 +2,4 @@\n"
    " \n"
    " \n"
    " def to_kg(value, unit):\n"
    "-    return value\n"
    '+    return value / 1000 if unit == "g" else value\n'
)


def project(root: Path) -> None:
    (root / "stock.py").write_text(STOCK)
    (root / "units.py").write_text(UNITS)
    (root / "test_stock.py").write_text(TESTS)


def agent(root: Path, base_url: str, *extra: str, answers: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SPARKFORGE_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a command that runs leaves its __pycache__
    return subprocess.run(
        [sys.executable, "-m", "sparkforge", "agent", TASK, "--root", str(root), "--base-url", base_url, *extra],
        input=answers, capture_output=True, text=True, timeout=180, env=env, cwd=root,
    )


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_the_terminal_agent_carries_a_task_to_green_tests(model_server, workspace, api):
    model_server.reset(scenarios=True)
    model_server.load([SCENARIO])
    project(workspace)

    done = agent(workspace, model_server.base_url, "--yes", "--api", api)

    assert done.returncode == 0, done.stderr
    assert (workspace / "stock.py").read_text() == STOCK_DONE
    assert (workspace / "units.py").read_text() == UNITS_DONE
    assert (workspace / "test_stock.py").read_text() == TESTS
    assert done.stdout == DIFF
    ended = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ✓ ") or line.startswith("  ✗ ")]
    assert ended == [
        "✓ Reading `stock.py` 1-2",
        "✓ Reading `units.py` 1-5",
        "✓ Searching `total_weight\\(`",
        "✓ Editing 2 files",
        f"✗ Running `{PYTEST}`: 1 failed, 1 passed",
        "✓ Editing `units.py`",
        f"✓ Running `{PYTEST}`: 2 passed",
    ]
    assert "Reading the code first." in done.stderr and SUMMARY in done.stderr
    assert "sparkforge agent: done after 7 steps with gpt-5.3-codex" in done.stderr
    assert "wants to run" not in done.stderr  # --yes: nothing asked

    requests = model_server.requests()
    assert [(r["endpoint"], r["turn"]) for r in requests] == [(api, n) for n in range(7)]
    # the model saw the secret's marker, never the secret
    sent = json.dumps([r["body"] for r in requests])
    assert SECRET not in sent and "[REDACTED-1]" in sent


def test_a_command_the_user_declines_never_runs(model_server, workspace):
    model_server.reset(scenarios=True)
    model_server.load([SCENARIO])
    project(workspace)

    done = agent(workspace, model_server.base_url, answers="n\n")

    assert done.returncode == 0, done.stderr
    assert f"sparkforge agent wants to run `{PYTEST}` in {workspace}" in done.stderr
    assert "Run it? [y]es / [N]o / [a]lways this command: n\n" in done.stderr
    assert (f"  ✗ Waiting for approval to run `{PYTEST}`: the user did not approve running `{PYTEST}`; "
            "it was not run\n") in done.stderr
    assert not (workspace / "__pycache__").exists()  # pytest never imported the tests
    assert (workspace / "units.py").read_text() == UNITS_FIRST
    assert "Stopped: the tests were not run." in done.stderr
    last = model_server.requests()[-1]["body"]["input"][-1]
    assert last["type"] == "function_call_output"
    assert last["output"] == f"error: the user did not approve running `{PYTEST}`; it was not run"


def test_the_steps_budget_stops_the_task(model_server, workspace):
    model_server.reset(scenarios=True)
    model_server.load([SCENARIO])
    project(workspace)

    done = agent(workspace, model_server.base_url, "--yes", "--max-steps", "2")

    assert done.returncode == 1, done.stderr
    ended = [line.strip() for line in done.stderr.splitlines() if line.startswith(("  ✓ ", "  ✗ "))]
    assert ended == ["✓ Reading `stock.py` 1-2", "✓ Reading `units.py` 1-5",
                     "✓ stopped: the budget of 2 steps ran out"]
    assert "sparkforge agent: stopped after 2 steps with gpt-5.3-codex" in done.stderr
    assert done.stdout == ""  # nothing was changed
    assert (workspace / "stock.py").read_text() == STOCK and (workspace / "units.py").read_text() == UNITS


def test_a_bad_root_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nowhere"
    done = subprocess.run([sys.executable, "-m", "sparkforge", "agent", "do it", "--root", str(missing)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"sparkforge agent: --root {missing}: not a folder\n"


SLOW = (f"{sys.executable} -c \"import os, pathlib, time; pathlib.Path('started').write_text(str(os.getpid())); "
        "time.sleep(600)\"")


def test_ctrl_c_stops_the_task_and_prints_what_was_written(model_server, workspace):
    model_server.reset(scenarios=True)
    model_server.load([{"name": "slow-task", "model": DEEP, "input_contains": ["take weights in grams too"],
                        "ttft_ms": 0, "tokens_per_s": 0, "turns": [
                            {"turn": 0, "patches": FIRST_PATCH[:1]},
                            {"turn": 1, "function_calls": [{"name": "run_command", "arguments": {"command": SLOW}}]},
                            {"output": "never reached"}]}])
    project(workspace)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SPARKFORGE_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparkforge", "agent", TASK, "--yes", "--root", str(workspace),
         "--base-url", model_server.base_url],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    started = workspace / "started"
    try:
        while not started.exists() or not started.read_text():  # the command runs
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert stderr.endswith("sparkforge agent: stopped after 2 steps; the changes above are written\n"
                           "sparkforge agent: interrupted\n")
    assert "  ✓ Editing `stock.py`\n" in stderr
    assert (workspace / "stock.py").read_text() == STOCK_DONE
    assert stdout == DIFF.split("--- a/units.py")[0]
    assert len(model_server.requests()) == 2  # no turn after the interrupt
    status = Path(f"/proc/{int(started.read_text())}/status")  # the command was killed
    assert not status.exists() or "\nState:\tZ" in status.read_text()
