"""Pure parts of the agent's loop: budgets a request lowers, a command's outcome in a step
title, a patch's secret markers put back only within their own file."""

from __future__ import annotations

from sparkforge.agent.loop import Budget, _restore
from sparkforge.agent.steps import outcome
from sparkforge.agent.safety import CommandResult
from sparkforge.edits import FilePatch, Hunk
from sparkforge.privacy import Redaction


def test_a_request_may_lower_a_budget_never_raise_it():
    base = Budget(steps=30, tokens=400000, cost_usd=2.0, seconds=600.0)
    lowered = base.lowered(steps=5, tokens=10**9, cost_usd=0.5, seconds=None)
    assert lowered == Budget(steps=5, tokens=400000, cost_usd=0.5, seconds=600.0)
    assert base == Budget(30, 400000, 2.0, 600.0)  # the settings' budget is not changed


def test_the_outcome_is_pytests_summary_or_the_exit_code():
    assert outcome(CommandResult(1, "F.\nFAILED test_x.py::t\n1 failed, 1 passed in 0.03s\n")) == "1 failed, 1 passed"
    assert outcome(CommandResult(0, "===== 3 passed, 1 warning in 1.20s =====\n")) == "3 passed, 1 warning"
    assert outcome(CommandResult(0, "all good\n")) == "exit 0"
    assert outcome(CommandResult(2, "usage: x\n")) == "failed (exit 2)"
    assert outcome(CommandResult(None, "", timed_out=True)) == "stopped at the timeout"


def test_markers_come_back_only_within_their_own_file():
    redaction = Redaction()
    shown = redaction('KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"')
    assert shown == 'KEY = "sk-live-[REDACTED-1]"'
    patch = FilePatch("a.py", "update", (Hunk(((" ", shown), ("+", "OTHER = 1"))),))
    back = _restore(patch, redaction, within='KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"\n')
    assert back.hunks[0].ops == ((" ", 'KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"'), ("+", "OTHER = 1"))
    elsewhere = _restore(FilePatch("b.py", "create", content=shown + "\n"), redaction, within="")
    assert elsewhere.content == shown + "\n"  # another file's secret stays a marker (then refused)
