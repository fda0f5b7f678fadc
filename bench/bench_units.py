"""Pure-Python hot spots timed on their own: the cases the unit tests check for correctness,
at the sizes where a quadratic slip would show. Targets live here, not in the tests.

    python bench/bench_units.py [--repeat 15]

Prints the median and the worst of the repeats for each case, with its target.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from sparkforge.edits import apply_hunks, parse_unified_diff  # noqa: E402
from sparkforge.predict.history import EditHistory  # noqa: E402
from sparkforge.predict.prompt import REGION_END, REGION_START, PromptSettings, build_prompt  # noqa: E402
from sparkforge.predict.streaming import StreamingRewriteParser  # noqa: E402
from sparkforge.privacy import _cached_line_spans, redact_reversibly  # noqa: E402


def streaming_parser() -> Callable[[], None]:
    """~14,000 one-character deltas of a 400-line rewrite with 80 changed lines."""
    doc = "".join(f"    step_{i} = run(step_{i - 1})\n" for i in range(400))
    prompt = build_prompt(doc, "a.py", "python", (200, 0),
                          settings=PromptSettings(lines_above=200, lines_below=199,
                                                  region_max_tokens=10_000, max_tokens=20_000))
    rewrite = "".join(line.replace("run(", "execute(") if i % 5 == 0 else line
                      for i, line in enumerate(prompt.region_text.splitlines(True)))
    raw = f"{REGION_START}\n{rewrite}{REGION_END}"

    def run() -> None:
        parser = StreamingRewriteParser(prompt)
        for ch in raw:
            parser.feed(ch)
        assert parser.finish() == rewrite
    return run


def twenty_hunks() -> Callable[[], None]:
    """A 20-hunk unified diff with line numbers off by 7, on a 10,000-line file."""
    old = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(3334))
    lines = old.splitlines()
    for k in range(20):
        lines[100 + k * 480] += "  # changed"
    new = "\n".join(lines) + "\n"
    diff = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "a/f.txt", "b/f.txt", lineterm=""):
        if line.startswith("@@"):
            head, _, rest = line[3:].partition(" @@")
            o, n = head.split(" ")
            start, _, length = o[1:].partition(",")
            line = f"@@ -{int(start) + 7}{',' + length if length else ''} {n} @@{rest}"
        diff.append(line)
    [patch] = parse_unified_diff("\n".join(diff) + "\n")

    def run() -> None:
        text, _ = apply_hunks(old, patch.hunks)
        assert text == new
    return run


def history_keystrokes() -> Callable[[], None]:
    """200 keystrokes recorded in the middle of a 10,000-line file."""
    doc = "".join(f"line number {i} with some text to make it longer\n" for i in range(10_000))
    start = doc.index("line number 5000 ") + len("line number 5000 ")

    def run() -> None:
        history, text, now, pos = EditHistory(), doc, 0.0, start
        for _ in range(200):
            after = text[:pos] + "x" + text[pos:]
            history.record_change("file:///big.txt", text, after, now)
            text, now, pos = after, now + 0.05, pos + 1
    return run


def _prompt_lines() -> list[str]:
    """A typical 400-line fast-model prompt: code from the standard library, with a few secrets."""
    import sysconfig
    source = Path(sysconfig.get_paths()["stdlib"], "difflib.py").read_text().split("\n")[:396]
    return source[:100] + [
        'API_KEY = "sk-proj-Xz3nkS1X67KqeR4Sp1vE8nSEEiuojVFarGmFgJZaPOxXv8uz"',
        'DATABASE_URL = "postgres://app:Quartz-7419xkQ@db.internal:5432/shop"',
        'token = os.environ.get("SERVICE_TOKEN", "Cinder_8842TmzW")',
        'value = "q8Zr3vN1xK7pL2mW9tY4bC6dF0gH5jS8"',
    ] + source[100:]


def redaction_per_keystroke() -> Callable[[], None]:
    """100 keystrokes on a 400-line prompt: each changes one line into one never seen before
    (a per-line cache miss), as typing does; the other 399 lines are the same."""
    lines = _prompt_lines()
    typed = "        result = self.compute_ratio_for(candidate, threshold=0.75)"
    keystrokes = itertools.count()

    def run() -> None:
        for _ in range(100):
            n = next(keystrokes)
            lines[300] = f"{typed[: 8 + n % (len(typed) - 8)]}  # {n}"
            _, pairs = redact_reversibly("\n".join(lines))
            assert len(pairs) == 4
    return run


def redaction_cold() -> Callable[[], None]:
    """The same 400-line prompt with the per-line cache emptied: the first prompt of a file."""
    text = "\n".join(_prompt_lines())

    def run() -> None:
        _cached_line_spans.cache_clear()
        _, pairs = redact_reversibly(text)
        assert len(pairs) == 4
    return run


def redaction_minified_line() -> Callable[[], None]:
    """One 100 KB line of minified JavaScript full of keyword hints (never cached)."""
    line = 'var a=function(b){return b.password=c.token||"x",b.apiKey=k};' * 1600

    def run() -> None:
        assert redact_reversibly(line)[0] == line
    return run


CASES = [
    ("streaming parser, 14,000 one-character deltas, 80 hunks", streaming_parser, 1500.0),
    ("apply_hunks, 20 hunks on 10,000 lines (numbers off by 7)", twenty_hunks, 20.0),
    ("edit history, 200 keystrokes in a 10,000-line file", history_keystrokes, 1000.0),
    ("redaction, 100 keystrokes on a 400-line prompt (one new line each)", redaction_per_keystroke, 30.0),
    ("redaction, a 400-line prompt with an empty cache", redaction_cold, 20.0),
    ("redaction, one 100 KB minified line", redaction_minified_line, 500.0),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"sparkforge bench_units: Python {platform.python_version()}, {platform.machine()}, "
          f"{len(__import__('os').sched_getaffinity(0))} CPUs, {args.repeat} repeats\n")
    print("| case | median ms | worst ms | target ms (median) |")
    print("| --- | ---: | ---: | ---: |")
    for name, make, target in CASES:
        run = make()
        run()  # warm caches and check the result once
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            run()
            times.append((time.perf_counter() - began) * 1000)
        print(f"| {name} | {statistics.median(times):.1f} | {max(times):.1f} | {target:g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
