"""``sparkforge eval predict`` as a user runs it: the real CLI, which starts ``sparkforge lsp``,
replays each case and scores what the editor received (docs/eval.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from samples import rewrite

RENAME = '''# Propagate a renamed parameter
tags: python, rename-propagation

## File: src/cart.py
```python
def total(items, rate):
    return sum(i.price for i in items) * (1 + rate)
```

## Edit history
```diff 200ms
--- src/cart.py
+++ src/cart.py
@@
-def total(items, rate):
+def total(items, tax_rate):
```

## Cursor: src/cart.py
```python
def total(items, tax_rate<|user_cursor|>):
```

## Expected
```diff
--- src/cart.py
+++ src/cart.py
@@
 def total(items, tax_rate):
-    return sum(i.price for i in items) * (1 + rate)
+    return sum(i.price for i in items) * (1 + tax_rate)
```
'''

COMPLETE = '''# Finish a line
tags: python, completion

## File: stats.py
```python
def mean(values):
    total = sum(values)
    return
```

## Edit history
```diff
--- stats.py
+++ stats.py
@@
     total = sum(values)
-    return
+    return tot
```

## Cursor: stats.py
```python
    return tot<|user_cursor|>
```

## Expected
```diff
--- stats.py
+++ stats.py
@@
-    return tot
+    return total / len(values)
```
'''

NO_EDIT = '''# A finished assignment
tags: python, no-edit

## File: config.py
```python
RETRIES = 1
```

## Edit history
```diff
--- config.py
+++ config.py
@@
-RETRIES = 1
+RETRIES = 3
```

## Cursor: config.py
```python
RETRIES = 3<|user_cursor|>
```

## Expected: no edit
'''

# CRLF line ends, and text before the cursor that is longer in UTF-16 than in code points.
CRLF_UNICODE = '''# Mirror a price in a sibling line
tags: typescript, mirror
crlf: true

## File: prices.ts
```typescript
const eur = "€5 😀";
const usd = "$5";
const gbp = "£5";
```

## Edit history
```diff
--- prices.ts
+++ prices.ts
@@
-const eur = "€5 😀";
+const eur = "€5 😀 each";
```

## Cursor: prices.ts
```typescript
const eur = "€5 😀 each<|user_cursor|>";
```

## Expected
```diff
--- prices.ts
+++ prices.ts
@@
 const eur = "€5 😀 each";
-const usd = "$5";
-const gbp = "£5";
+const usd = "$5 each";
+const gbp = "£5 each";
```
'''

# Two acceptable alternatives: either is an exact match.
ALTERNATIVES = '''# Close the call
tags: python, completion

## File: greet.py
```python
def greet(name):
    print("hello",
```

## Edit history
```diff
--- greet.py
+++ greet.py
@@
-    print("hello",
+    print("hello", na
```

## Cursor: greet.py
```python
    print("hello", na<|user_cursor|>
```

## Expected
```diff
--- greet.py
+++ greet.py
@@
-    print("hello", na
+    print("hello", name)
```

## Expected
```diff
--- greet.py
+++ greet.py
@@
-    print("hello", na
+    print("hello", name, sep=" ")
```
'''

# The expected edit is 14 lines below the cursor: outside the editable region (cursor line
# ± 3), so the fast path cannot suggest it even when the model knows it.
FAR = '''# Rename far below the cursor
tags: python, rename-propagation

## File: far.py
```python
limit = 1
a = 0
b = 0
c = 0
d = 0
e = 0
f = 0
g = 0
h = 0
i = 0
j = 0
k = 0
m = 0
n = 0
print(limit)
```

## Edit history
```diff
--- far.py
+++ far.py
@@
-limit = 1
+max_items = 1
```

## Cursor: far.py
```python
max_items<|user_cursor|> = 1
```

## Expected
```diff
--- far.py
+++ far.py
@@
 n = 0
-print(limit)
+print(max_items)
```
'''


# The edit is on the line below the cursor, with lines to follow that the rewrite copies: the
# server reports it as a partial result before the answer ends.
EARLY = '''# Rename with lines after
tags: python, rename-propagation

## File: cart.py
```python
def total(items, rate):
    base = sum(i.price for i in items) * (1 + rate)
    shipping = compute_shipping(items)
    discount = compute_discount(items)
    return base + shipping - discount
```

## Edit history
```diff
--- cart.py
+++ cart.py
@@
-def total(items, rate):
+def total(items, tax_rate):
```

## Cursor: cart.py
```python
def total(items, tax_rate<|user_cursor|>):
```

## Expected
```diff
--- cart.py
+++ cart.py
@@
 def total(items, tax_rate):
-    base = sum(i.price for i in items) * (1 + rate)
+    base = sum(i.price for i in items) * (1 + tax_rate)
```
'''


def sparkforge(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "OPENAI_API_KEY" and not k.startswith(("SPARKFORGE_FAST_", "SPARKFORGE_DEEP_"))}
    return subprocess.run([sys.executable, "-m", "sparkforge", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def write_cases(folder: Path, **cases: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in cases.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def by_case(report: dict[str, Any], model: int = 0) -> dict[str, dict[str, Any]]:
    return {c["case"]: c for c in report["models"][model]["cases"]}


def table_rows(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def test_the_oracle_is_matched_exactly_and_a_change_out_of_reach_is_a_miss(tmp_path):
    cases = write_cases(tmp_path / "cases", rename=RENAME, complete=COMPLETE, noedit=NO_EDIT,
                        crlf=CRLF_UNICODE, alternatives=ALTERNATIVES, far=FAR, early=EARLY)
    out = sparkforge("eval", "predict", str(cases), "--oracle", "--no-pauses",
                     "--json", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"))
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["oracle"] is True and report["cases"] == 7
    cases = by_case(report)
    assert sorted(cases) == ["alternatives", "complete", "crlf", "early", "far", "noedit", "rename"]
    for name in ("alternatives", "complete", "crlf", "early", "noedit", "rename"):
        assert cases[name]["exact"] is True, (name, cases[name])
        assert cases[name]["error"] is None
    # what the editor was shown
    assert cases["complete"]["ghost"] == "al / len(values)"
    assert cases["alternatives"]["ghost"] == "me)"
    rename_edit = [e for e in cases["rename"]["edits"] if not e.get("ghost")]
    assert [(e["range"]["start"], e["range"]["end"], e["newText"]) for e in rename_edit] == [
        ({"line": 1, "character": 46}, {"line": 1, "character": 46}, "tax_")]
    # UTF-16 positions on the CRLF file: the edits go at the ends of lines 1 and 2
    crlf_edits = sorted((e["range"]["start"]["line"], e["range"]["start"]["character"], e["newText"])
                        for e in cases["crlf"]["edits"])
    assert crlf_edits == [(1, 15, " each"), (2, 15, " each")]
    # shown while the answer streamed, then in the answer
    assert cases["early"]["early_edits"] == 1 and cases["rename"]["early_edits"] == 0
    assert [e["newText"] for e in cases["early"]["edits"]] == ["tax_"]
    assert cases["noedit"]["suggested"] is False and cases["noedit"]["expects_edit"] is False
    for name in ("complete", "rename", "crlf"):
        assert cases[name]["delta_chrf"] == 100.0
        assert cases[name]["line_f1"] == 1.0
    # the far case: the model knew the edit, the region could not hold it
    far = cases["far"]
    assert far["exact"] is False and far["suggested"] is False
    assert far["delta_chrf"] == 0.0 and far["line_f1"] == 0.0
    assert far["diff"] == "" and "-print(limit)\n+print(max_items)\n" in far["expected_diff"]
    assert cases["complete"]["expected_diff"] == ""  # shown only for a miss
    summary = report["models"][0]["summary"]
    assert summary["cases"] == 7 and summary["exact"] == 6 and summary["exact_rate"] == 0.8571
    assert summary["no_edit_cases"] == 1 and summary["no_suggestion_rate"] == 1.0
    assert summary["output_tokens"] > 0 and summary["errors"] == 0
    # the printed table: one row, the configured fast model
    rows = table_rows(out.stdout)
    assert rows[0][:6] == ["model", "cases", "exact", "delta-chrF", "line F1", "no suggestion"]
    assert [r[:3] for r in rows[2:]] == [["fast: gpt-5.3-codex-spark", "7", "85.7%"]]
    assert rows[2][5] == "100.0%"
    md = (tmp_path / "r.md").read_text()
    assert "## fast: gpt-5.3-codex-spark: 1 miss\n" in md
    assert "- **far** (" in md and "): no suggestion" in md


def test_the_oracle_answers_over_chat_completions_too(tmp_path):
    cases = write_cases(tmp_path / "cases", rename=RENAME, crlf=CRLF_UNICODE)
    out = sparkforge("eval", "predict", str(cases), "--oracle", "--no-pauses", "--api", "chat",
                     "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stderr
    cases = by_case(json.loads((tmp_path / "r.json").read_text()))
    assert cases["rename"]["exact"] is True and cases["crlf"]["exact"] is True
    assert [e["newText"] for e in cases["rename"]["edits"]] == ["tax_"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["models"][0]["oracle_requests"] == {"chat": {"gpt-5.3-codex-spark": 2}}


def test_two_models_at_two_speeds_print_one_table_with_a_row_each(tmp_path):
    cases = write_cases(tmp_path / "cases", rename=RENAME, complete=COMPLETE, noedit=NO_EDIT)
    timing = tmp_path / "timing.json"
    timing.write_text(json.dumps({"models": {
        "slow-coder": {"ttft_ms": 150, "tokens_per_s": 300},
        "quick-coder": {"ttft_ms": 5, "tokens_per_s": 20000},
    }}))
    out = sparkforge("eval", "predict", str(cases), "--oracle", "--no-pauses", "--scenario", str(timing),
                     "--model", "slow-coder", "--model", "quick-coder", "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stderr
    rows = table_rows(out.stdout)
    assert len(rows) == 4  # header, separator, a row per model
    assert rows[0] == ["model", "cases", "exact", "delta-chrF", "line F1", "no suggestion",
                       "first ms p50", "last ms p50", "tokens", "cost"]
    assert [r[:6] for r in rows[2:]] == [
        ["slow-coder", "3", "100.0%", "100.0", "1.000", "100.0%"],
        ["quick-coder", "3", "100.0%", "100.0", "1.000", "100.0%"],
    ]
    for row in rows[2:]:
        assert row[6].isdigit() and row[7].isdigit()  # a latency was measured
        assert row[9] == "–"  # no price known for these names
    report = json.loads((tmp_path / "r.json").read_text())
    assert [m["model"] for m in report["models"]] == ["slow-coder", "quick-coder"]
    # each row ran its own model: one request a case
    assert [m["oracle_requests"] for m in report["models"]] == [
        {"responses": {"slow-coder": 3}}, {"responses": {"quick-coder": 3}}]
    assert [c["model"] for m in report["models"] for c in m["cases"]] == ["slow-coder"] * 3 + ["quick-coder"] * 3
    # the same prompts and answers whatever the speed
    slow, quick = (m["summary"] for m in report["models"])
    assert slow["input_tokens"] == quick["input_tokens"] > 0
    assert slow["output_tokens"] == quick["output_tokens"] > 0


def test_a_model_that_suggests_another_edit_scores_a_miss(tmp_path, model_server):
    model_server.reset(scenarios=True)
    # The model finishes the line as "return total" where "total / len(values)" is expected,
    # and proposes an edit in the case that expects none.
    model_server.load([
        rewrite("short", ["return tot<|user_cursor_is_here|>"],
                "def mean(values):\n    total = sum(values)\n    return total\n"),
        rewrite("eager", ["RETRIES = 3<|user_cursor_is_here|>"], "RETRIES = 3  # tries\n"),
    ])
    cases = write_cases(tmp_path / "cases", complete=COMPLETE, noedit=NO_EDIT)
    out = sparkforge("eval", "predict", str(cases), "--model", "gpt-5.3-codex-spark", "--no-pauses",
                     "--base-url", model_server.base_url, "--json", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    cases = by_case(report)
    complete = cases["complete"]
    assert complete["suggested"] is True and complete["exact"] is False
    assert complete["ghost"] == "al"
    # changed lines: expected -"    return tot" +"    return total / len(values)",
    # predicted -"    return tot" +"    return total": one of two right each way
    assert (complete["line_precision"], complete["line_recall"], complete["line_f1"]) == (0.5, 0.5, 0.5)
    assert 0 < complete["delta_chrf"] < 100
    noedit = cases["noedit"]
    assert noedit["suggested"] is True and noedit["exact"] is False
    assert noedit["ghost"] == "  # tries"
    summary = report["models"][0]["summary"]
    assert summary["exact"] == 0 and summary["no_suggestion_rate"] == 0.0
    sent = [r for r in model_server.requests() if r["endpoint"] in ("responses", "chat")]
    assert [r["scenario"] for r in sent] == ["short", "eager"]
    # one server served both cases, and the second saw nothing of the first (closed before it)
    assert "stats.py" in sent[0]["prompt"] and "config.py" not in sent[0]["prompt"]
    assert "config.py" in sent[1]["prompt"]
    assert "stats.py" not in sent[1]["prompt"] and "total" not in sent[1]["prompt"].split("## Recent edits")[1]
    rows = table_rows(out.stdout)
    assert [r[:3] for r in rows[2:]] == [["gpt-5.3-codex-spark", "2", "0.0%"]]


@pytest.mark.parametrize("args, message", [
    (["predict", "{missing}", "--oracle"], "{missing}: no such file or directory"),
    (["predict", "{bad}", "--oracle"], "{bad}: "),
    (["predict", "{cases}", "--scenario", "x.json"], "--scenario goes with --oracle"),
    (["predict", "{cases}", "--oracle", "-k", "zzz"], "no cases in {cases} whose name contains 'zzz'"),
    (["predict", "{cases}", "--oracle", "--model", "a", "--model", "a"], "a model is named twice"),
    (["predict", "{cases}"], "fast: gpt-5.3-codex-spark: no API key for https://api.openai.com/v1: set "
                             "OPENAI_API_KEY (or sparkforge.fast.apiKeyEnv), or run with --oracle"),
])
def test_bad_input_is_one_line_naming_what_is_wrong(tmp_path, args, message):
    cases = write_cases(tmp_path / "cases", noedit=NO_EDIT)
    bad = tmp_path / "bad.md"
    bad.write_text("# A case\n\n## Filez: a.py\n```\nx\n```\n")
    paths = {"missing": str(tmp_path / "nope"), "bad": str(bad), "cases": str(cases)}
    out = sparkforge("eval", *[a.format(**paths) for a in args])
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparkforge eval: ")
    assert message.format(**paths) in lines[0]
    assert "Traceback" not in out.stderr
