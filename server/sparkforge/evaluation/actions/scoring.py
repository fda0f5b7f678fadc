"""Score what an action did, by running tests (``python -m pytest`` in a subprocess, in a
temporary copy of the workspace):

- Generate tests: the tests it wrote run and pass on the original code, and at least one
  fails on the case's seeded mutant; the code itself is left alone.
- Document: every Python file it touched still parses, the documented definition has a
  docstring, and the hidden tests still pass.
- Fix: the failing hidden tests now pass, and the others still do.
- Refactor: the code changed, and the hidden tests still pass.

Installed pytest plugins are not loaded unless asked (``plugins=True``): loading them costs
about a second per run, and the cases need none.
"""

from __future__ import annotations

import ast
import asyncio
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sparkforge.evaluation.actions.cases import ActionCase
from sparkforge.evaluation.actions.editor import write_tree


@dataclass(frozen=True, slots=True)
class PytestConfig:
    python: str = sys.executable
    timeout: float = 60.0
    plugins: bool = False


@dataclass
class PytestRun:
    returncode: int  # pytest's exit status; -1 when it timed out
    outcomes: dict[str, str] = field(default_factory=dict)  # test name -> passed | failed | error | skipped
    output: str = ""  # the end of what pytest printed

    def named(self, outcome: str) -> list[str]:
        return [name for name, got in self.outcomes.items() if got == outcome]

    def problems(self) -> list[str]:
        return [f"{name} ({got})" if got == "error" else name
                for name, got in self.outcomes.items() if got in ("failed", "error")]

    def summary(self) -> str:
        """A line saying what went wrong (for a run that did not pass)."""
        if self.returncode == -1:
            return self.output
        if self.returncode == 5:
            return "no tests were collected"
        bad = self.problems()
        if bad:
            return ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        last = [line for line in self.output.splitlines() if line.strip()]
        return f"pytest exited with {self.returncode}" + (f": {last[-1].strip()}" if last else "")


@dataclass
class Verdict:
    passed: bool
    reason: str  # why it failed, or what passing meant


async def run_pytest(root: Path, targets: list[str], config: PytestConfig) -> PytestRun:
    """``python -m pytest TARGETS`` in ``root``; per-test outcomes from its JUnit XML."""
    report = root / ".sparkforge-junit.xml"
    report.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0")
    env.pop("PYTHONPATH", None)
    if not config.plugins:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    args = [config.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(root), "--confcutdir", str(root),
            f"--junitxml={report}", "-o", "junit_family=xunit2", *targets]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=root, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), config.timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return PytestRun(-1, {}, f"pytest did not finish in {config.timeout:g} s")
    except asyncio.CancelledError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode("utf-8", "replace")
    return PytestRun(proc.returncode or 0, _outcomes(report), "\n".join(text.splitlines()[-30:]))


def _outcomes(report: Path) -> dict[str, str]:
    try:
        tree = ElementTree.parse(report)
    except (OSError, ElementTree.ParseError):
        return {}
    outcomes: dict[str, str] = {}
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        if case.find("failure") is not None:
            got = "failed"
        elif case.find("error") is not None:
            got = "error"
        elif case.find("skipped") is not None:
            got = "skipped"
        else:
            got = "passed"
        # a test that fails in teardown is listed twice: keep the worse outcome
        if outcomes.get(name) not in ("failed", "error"):
            outcomes[name] = got
    return outcomes


class Scorer:
    """Scores cases in temporary folders under one directory, removed by ``close()``."""

    def __init__(self, config: PytestConfig) -> None:
        self.config = config
        self.base = Path(tempfile.mkdtemp(prefix="sparkforge-eval-score-"))
        self._count = 0

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def _folder(self, files: dict[str, str]) -> Path:
        self._count += 1
        root = self.base / f"run{self._count}"
        root.mkdir()
        write_tree(root, files)
        return root

    async def pytest(self, files: dict[str, str], targets: list[str]) -> PytestRun:
        root = self._folder(files)
        try:
            return await run_pytest(root, targets, self.config)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    # -- the cases themselves, before any model (``--check``) --------------------------------
    async def check(self, case: ActionCase) -> Verdict:
        """Whether the case means what it says: its hidden tests pass on its code (except the
        ``failing`` ones of a fix, which must fail), and fail on its mutant."""
        tests = sorted(case.tests)
        run = await self.pytest({**case.files, **case.tests}, tests)
        if case.kind == "fix":
            missing = [t for t in case.failing if t not in run.outcomes]
            if missing:
                return Verdict(False, f"no hidden test named {', '.join(missing)}")
            still = [t for t in case.failing if run.outcomes[t] == "passed"]
            if still:
                return Verdict(False, f"{', '.join(still)} passes before the fix")
            others = [name for name in run.problems() if name not in case.failing]
            if others:
                return Verdict(False, f"hidden tests other than the failing ones fail: {', '.join(others)}")
            return Verdict(True, f"{len(case.failing)} of {len(run.outcomes)} hidden tests fail before the fix")
        if run.returncode != 0:
            return Verdict(False, f"the hidden tests fail on the case's own code: {run.summary()}")
        if case.kind == "generate-tests":
            mutated = await self.pytest({**case.mutant, **case.tests}, tests)
            if mutated.returncode == 0:
                return Verdict(False, "the hidden tests all pass on the mutant: it seeds no bug they catch")
            if mutated.returncode != 1:
                return Verdict(False, f"the hidden tests do not run on the mutant: {mutated.summary()}")
            caught = len(mutated.problems())
            return Verdict(True, f"{len(run.outcomes)} hidden tests pass; {caught} fail{'s' if caught == 1 else ''} on the mutant")
        return Verdict(True, f"{len(run.outcomes)} hidden tests pass")

    # -- an action's result --------------------------------------------------------------------
    async def score(self, case: ActionCase, after: dict[str, str]) -> Verdict:
        changed = sorted(p for p in set(after) | set(case.files) if after.get(p) != case.files.get(p))
        if not changed:
            return Verdict(False, "the edit changed nothing")
        if case.kind == "generate-tests":
            return await self._generate_tests(case, after, changed)
        broken = _syntax_errors(after, changed)
        if broken:
            return Verdict(False, broken)
        if case.kind == "document":
            return await self._document(case, after)
        if case.kind == "fix":
            return await self._fix(case, after)
        return await self._refactor(case, after)

    async def _generate_tests(self, case: ActionCase, after: dict[str, str], changed: list[str]) -> Verdict:
        touched_code = [p for p in changed if p in case.files and not is_test_file(p)]
        if touched_code:
            return Verdict(False, f"the action changed {', '.join(touched_code)} (tests must leave the code alone)")
        written = [p for p in changed if p.endswith(".py") and after.get(p) is not None]
        # conftest.py and helper modules go with the tests; pytest is pointed at the test modules
        targets = [p for p in written if is_test_file(p) and PurePosixPath(p).name != "conftest.py"]
        if not targets:
            return Verdict(False, f"no Python test file was written (changed: {', '.join(changed)})")
        tests = {p: after[p] for p in written}
        broken = _syntax_errors(tests, written)
        if broken:
            return Verdict(False, broken)
        original = await self.pytest({**case.files, **tests}, targets)
        if original.returncode != 0 or not original.named("passed"):
            return Verdict(False, f"the generated tests do not pass on the original code: {original.summary()}")
        mutated = await self.pytest({**case.mutant, **tests}, targets)
        caught = mutated.named("failed") + mutated.named("error")
        if mutated.returncode == 0 or not caught:
            return Verdict(False, f"no generated test fails on the seeded mutant "
                                  f"({len(original.named('passed'))} pass on both)")
        return Verdict(True, f"{len(original.named('passed'))} generated tests pass on the original, "
                             f"{len(caught)} fail{'s' if len(caught) == 1 else ''} on the mutant")

    async def _document(self, case: ActionCase, after: dict[str, str]) -> Verdict:
        text = after.get(case.path)
        if text is None:
            return Verdict(False, f"{case.path} was deleted")
        if not _has_docstring(text, case.function):
            return Verdict(False, f"{case.function} has no docstring")
        run = await self._hidden(case, after)
        if run.returncode != 0:
            return Verdict(False, f"hidden tests fail after Document: {run.summary()}")
        return Verdict(True, f"{case.function} has a docstring; {len(run.outcomes)} hidden tests pass")

    async def _fix(self, case: ActionCase, after: dict[str, str]) -> Verdict:
        run = await self._hidden(case, after)
        still = [t for t in case.failing if run.outcomes.get(t) != "passed"]
        if still:
            detail = "" if run.outcomes else f" ({run.summary()})"
            return Verdict(False, f"still failing: {', '.join(still)}{detail}")
        if run.returncode != 0:
            return Verdict(False, f"the fix broke other tests: {run.summary()}")
        return Verdict(True, f"{', '.join(case.failing)} now pass{'es' if len(case.failing) == 1 else ''}; "
                             f"{len(run.outcomes)} hidden tests pass")

    async def _refactor(self, case: ActionCase, after: dict[str, str]) -> Verdict:
        if after.get(case.path) == case.files[case.path]:
            return Verdict(False, f"{case.path} did not change")
        run = await self._hidden(case, after)
        if run.returncode != 0:
            return Verdict(False, f"hidden tests fail after Refactor: {run.summary()}")
        return Verdict(True, f"{case.path} changed; {len(run.outcomes)} hidden tests pass")

    async def _hidden(self, case: ActionCase, after: dict[str, str]) -> PytestRun:
        files = {p: t for p, t in after.items() if p not in case.tests}
        return await self.pytest({**files, **case.tests}, sorted(case.tests))


def is_test_file(path: str) -> bool:
    """A test module or pytest's conftest.py (what Generate tests may write)."""
    name = PurePosixPath(path).name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _syntax_errors(files: dict[str, str], paths: list[str]) -> str:
    """"" or why a changed Python file no longer parses."""
    for path in paths:
        text = files.get(path)
        if text is None or not path.endswith(".py"):
            continue
        try:
            ast.parse(text, filename=path)
        except SyntaxError as exc:
            return f"{path} no longer parses: line {exc.lineno}: {exc.msg}"
    return ""


def _has_docstring(text: str, name: str) -> bool:
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            doc = ast.get_docstring(node)
            if doc and doc.strip():
                return True
    return False
