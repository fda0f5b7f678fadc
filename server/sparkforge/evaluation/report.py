"""Reports of ``sparkforge eval predict``: one Markdown table with a row per model, a Markdown
report with every miss, and JSON with per-case rows (docs/eval.md, "Reports")."""

from __future__ import annotations

import statistics
from typing import Any, Mapping, Sequence

from sparkforge.evaluation.predict import CaseScore

COLUMNS = ("model", "cases", "exact", "delta-chrF", "line F1", "no suggestion",
           "first ms p50", "last ms p50", "tokens", "cost")


def summary(scores: Sequence[CaseScore]) -> dict[str, Any]:
    """One model's figures. Rates are over all cases (exact), the cases that expect an edit
    (delta-chrF, line F1) and those that expect none (no suggestion); latencies over the cases
    where something was suggested."""
    edit = [s for s in scores if s.expects_edit]
    none = [s for s in scores if not s.expects_edit]
    first = [s.first_ms for s in scores if s.first_ms is not None]
    last = [s.last_ms for s in scores if s.last_ms is not None]
    costs = [s.cost_usd for s in scores if s.cost_usd is not None]
    graded = [s for s in scores if s.format == "copilot"]
    return {
        "cases": len(scores),
        "exact": sum(s.exact for s in scores),
        "exact_rate": _rate(sum(s.exact for s in scores), len(scores)),
        "delta_chrf": _mean([s.delta_chrf or 0.0 for s in edit], 2),
        "line_precision": _mean([s.line_precision or 0.0 for s in edit], 4),
        "line_recall": _mean([s.line_recall or 0.0 for s in edit], 4),
        "line_f1": _mean([s.line_f1 or 0.0 for s in edit], 4),
        "no_edit_cases": len(none),
        "no_suggestion_rate": _rate(sum(not s.suggested for s in none), len(none)),
        "suggested": sum(s.suggested for s in scores),
        "first_ms_p50": _median(first),
        "last_ms_p50": _median(last),
        "input_tokens": sum(s.input_tokens for s in scores),
        "cached_input_tokens": sum(s.cached_input_tokens for s in scores),
        "output_tokens": sum(s.output_tokens for s in scores),
        "cost_usd": round(sum(costs), 6) if costs else None,
        "errors": sum(s.error is not None for s in scores),
        # Copilot's grading: the grade of the edit matched exactly (bad 0, valid 0.1, expected 1)
        "copilot_cases": len(graded),
        "copilot_grade": _mean([s.grade or 0.0 for s in graded], 4),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Sequence[float], digits: int) -> float | None:
    return round(statistics.fmean(values), digits) if values else None


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def table_row(label: str, s: Mapping[str, Any]) -> list[str]:
    return [
        label, str(s["cases"]), _pct(s["exact_rate"]), _num(s["delta_chrf"], ".1f"),
        _num(s["line_f1"], ".3f"), _pct(s["no_suggestion_rate"]), _num(s["first_ms_p50"], ".0f"),
        _num(s["last_ms_p50"], ".0f"), f"{s['input_tokens'] + s['output_tokens']:,}",
        "–" if s["cost_usd"] is None else f"${s['cost_usd']:.4f}",
    ]


def markdown_table(results: Mapping[str, Sequence[CaseScore]]) -> str:
    """One table, a row per model, in the order the models were given."""
    rows = [list(COLUMNS), ["---"] * len(COLUMNS)]
    rows += [table_row(label, summary(scores)) for label, scores in results.items()]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def _why(s: CaseScore) -> str:
    if s.error:
        return f"error: {s.error}"
    if not s.expects_edit:
        return "a suggestion where none is expected"
    if not s.suggested:
        return "no suggestion"
    if s.grade:
        return f"a graded edit (score {s.grade:g}), not the expected one"
    return f"a different edit (delta-chrF {_num(s.delta_chrf, '.1f')}, line F1 {_num(s.line_f1, '.3f')})"


def markdown_report(results: Mapping[str, Sequence[CaseScore]], meta: Mapping[str, Any]) -> str:
    out = ["# sparkforge eval predict", ""]
    out.append(f"`{meta['command']}`, {meta['date']}" + (" (oracle)" if meta.get("oracle") else ""))
    out += ["", markdown_table(results), ""]
    for label, scores in results.items():
        misses = [s for s in scores if not s.exact]
        out.append(f"## {label}: {len(misses)} miss{'es' if len(misses) != 1 else ''}")
        out.append("")
        for s in misses:
            out.append(f"- **{s.case}** ({s.source}): {_why(s)}")
            out += [f"  - {note}" for note in s.notes]
            for title, diff in (("shown", s.diff), ("expected", s.expected_diff)):
                if diff:
                    out += ["", f"  {title}:", "", "  ```diff",
                            *("  " + line for line in diff.rstrip("\n").split("\n")), "  ```", ""]
        noted = [s for s in scores if s.exact and s.notes]
        for s in noted:
            out.append(f"- {s.case} (exact): " + "; ".join(s.notes))
        out.append("")
    return "\n".join(out)


def json_report(results: Mapping[str, Sequence[CaseScore]], meta: Mapping[str, Any],
                served: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``served``: with --oracle, what the model server answered for each model (per API and
    model name), so a report shows which model each row really ran."""
    models = []
    for label, scores in results.items():
        row: dict[str, Any] = {"model": label, "summary": summary(scores)}
        if served is not None:
            row["oracle_requests"] = served.get(label, {})
        row["cases"] = [s.as_json() for s in scores]
        models.append(row)
    return {**meta, "models": models}
