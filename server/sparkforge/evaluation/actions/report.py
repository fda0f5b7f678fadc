"""The actions eval's reports: one summary table with a row per model, then each model's
cases with the reason for each result; the same in JSON."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from sparkforge.evaluation.actions.cases import KINDS
from sparkforge.evaluation.actions.runner import ModelResult


def summary(result: ModelResult) -> dict[str, Any]:
    cases = result.cases
    passed = sum(c.passed for c in cases)
    by_kind = {}
    for kind in KINDS:
        of_kind = [c for c in cases if c.kind == kind]
        if of_kind:
            by_kind[kind] = {"passed": sum(c.passed for c in of_kind), "cases": len(of_kind)}
    seconds = [c.seconds for c in cases if c.seconds is not None]
    costs = [c.cost_usd for c in cases if c.cost_usd is not None]
    return {
        "model": result.label,
        "passed": passed,
        "cases": len(cases),
        "pass_rate": round(passed / len(cases), 4) if cases else None,
        "by_kind": by_kind,
        "seconds_p50": round(statistics.median(seconds), 3) if seconds else None,
        "seconds_max": round(max(seconds), 3) if seconds else None,
        "input_tokens": sum(c.input_tokens for c in cases),
        "output_tokens": sum(c.output_tokens for c in cases),
        "cost_usd": round(sum(costs), 6) if costs else None,
    }


def _fraction(passed: int, total: int) -> str:
    return f"{passed}/{total}"


def markdown_table(results: Sequence[ModelResult]) -> str:
    """The summary: a row per model."""
    kinds = [k for k in KINDS if any(c.kind == k for r in results for c in r.cases)]
    head = ["model", "passed", *kinds, "resolve p50 s", "tokens in / out", "cost"]
    rows = []
    for result in results:
        s = summary(result)
        rate = f"{s['pass_rate']:.0%}" if s["pass_rate"] is not None else "-"
        rows.append([
            s["model"], f"{_fraction(s['passed'], s['cases'])} ({rate})",
            *(_fraction(s["by_kind"][k]["passed"], s["by_kind"][k]["cases"]) if k in s["by_kind"] else "-"
              for k in kinds),
            f"{s['seconds_p50']:.2f}" if s["seconds_p50"] is not None else "-",
            f"{s['input_tokens']:,} / {s['output_tokens']:,}",
            f"${s['cost_usd']:.4f}" if s["cost_usd"] is not None else "-",
        ])
    return _table(head, rows)


def _table(head: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_report(results: Sequence[ModelResult], meta: dict[str, Any]) -> str:
    parts = [f"# sparkforge eval actions: {meta.get('cases', 0)} cases"
             + (" (oracle)" if meta.get("oracle") else "") + "\n",
             f"`{meta.get('command', '')}` on {meta.get('date', '')}\n", markdown_table(results)]
    for result in results:
        rows = [[c.name, c.kind, "pass" if c.passed else "**fail**", c.reason,
                 f"{c.seconds:.2f}" if c.seconds is not None else "-"] for c in result.cases]
        parts.append(f"## {result.label}\n")
        parts.append(_table(["case", "kind", "result", "why", "resolve s"], rows))
    return "\n".join(parts)


def json_report(results: Sequence[ModelResult], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "models": [{"model": r.label, "summary": {k: v for k, v in summary(r).items() if k != "model"},
                    **({"oracle_requests": r.oracle_requests} if r.oracle_requests is not None else {}),
                    "cases": [c.as_json() for c in r.cases]} for r in results],
    }
