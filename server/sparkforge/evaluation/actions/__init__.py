"""``sparkforge eval actions``: code actions scored by tests (docs/eval.md, "Actions").

    sparkforge eval actions CASES... [--model ROLE_OR_NAME ...] [--oracle] [--check]
                            [--json FILE] [--markdown FILE] [--settings FILE] [--base-url URL]
                            [--api responses|chat] [--client vscode|plain] [--timeout S] [--python PATH]
                            [--pytest-plugins] [--jobs N] [-k TEXT]

Each case is a small Python module with a hidden pytest suite (``cases.py``). For each model,
one ``sparkforge lsp`` serves every case in turn (``editor.py``): the action is listed,
picked, resolved and applied as an editor does; then the result is scored by running tests
in a temporary folder (``scoring.py``), while the next case's action already runs.
``--oracle`` answers each case with its own answer from a local model server
(``oracle.py``); ``--check`` checks the cases themselves without any model.

Prints the summary table (a row per model) and each case's result on stdout, progress on
stderr. Exit status: 0 when every case ran (failures included; with ``--check``, only when
every case holds), 1 on bad input or a server that would not start, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sparkforge.evaluation.options import ROLES, CommandError, add_report_and_endpoint_options, check_labels, model_settings

PROG = "sparkforge eval actions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cases", nargs="+", metavar="CASES", help="action case files (.md) or folders of them")
    p.add_argument("--model", action="append", metavar="ROLE_OR_NAME",
                   help="deep, fast, or a model name for the deep role (repeatable: one row each; "
                        "default: the configured deep model)")
    p.add_argument("--oracle", action="store_true",
                   help="answer each case with its own answer from a local model server: "
                        "every failure is then the pipeline's")
    p.add_argument("--check", action="store_true",
                   help="check the cases themselves (hidden tests pass, fail where they should, "
                        "catch the mutant) without running any action")
    add_report_and_endpoint_options(p)
    p.add_argument("--client", choices=["vscode", "plain"], default="vscode",
                   help="vscode: resolve each action's edit (the default); plain: a client without "
                        "resolve support, which runs the action's command and gets workspace/applyEdit")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="how long one action may take (default %(default)s s)")
    p.add_argument("--test-timeout", type=float, default=60.0, metavar="S",
                   help="how long one pytest run may take (default %(default)s s)")
    p.add_argument("--python", default=sys.executable, metavar="PATH",
                   help="the Python that runs the tests (needs pytest; default: this one)")
    p.add_argument("--pytest-plugins", action="store_true",
                   help="let pytest load the installed plugins (off by default: about 1 s a run)")
    p.add_argument("--jobs", type=int, default=2, metavar="N",
                   help="pytest runs at a time (default %(default)s)")
    p.add_argument("-k", dest="select", metavar="TEXT", help="only the cases whose name contains TEXT")


def run(args: argparse.Namespace) -> int:
    argv = getattr(args, "argv", None) or sys.argv[1:]
    try:
        return _run(args, argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except CommandError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from sparkforge.evaluation.actions import report
    from sparkforge.evaluation.actions.cases import ActionCaseError, load_action_cases
    from sparkforge.evaluation.actions.oracle import OracleError, scenario
    from sparkforge.evaluation.actions.runner import EvalError, check_cases, evaluate
    from sparkforge.evaluation.actions.scoring import PytestConfig

    try:
        cases = load_action_cases(args.cases)
    except ActionCaseError as exc:
        raise CommandError(str(exc)) from None
    if args.select:
        cases = [c for c in cases if args.select in c.name]
    if not cases:
        raise CommandError(f"no cases in {' '.join(args.cases)}" + (f" named *{args.select}*" if args.select else ""))
    if args.jobs < 1:
        raise CommandError("--jobs must be 1 or more")
    if args.check and (args.oracle or args.model):
        raise CommandError("--check runs no model: leave out --oracle and --model")
    if args.oracle:
        missing = [c.source for c in cases if c.answer is None]
        if missing:
            raise CommandError(f"{missing[0]}: no '## Answer' section, which --oracle needs"
                               + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        for case in cases:  # every answer renders for both APIs before anything starts
            try:
                scenario(case)
            except OracleError as exc:
                raise CommandError(str(exc)) from None
    _check_python(args.python)
    started = time.strftime("%Y-%m-%d %H:%M %Z")
    meta = {"command": "sparkforge eval actions " + shlex.join(_after_actions(argv)), "date": started,
            "oracle": args.oracle, "cases": len(cases)}

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    config = PytestConfig(python=args.python, timeout=args.test_timeout, plugins=args.pytest_plugins)
    try:
        if args.check:
            results = [asyncio.run(check_cases(cases, config, jobs=args.jobs, progress=progress))]
        else:
            specs = model_specs(args)
            results = asyncio.run(evaluate(
                specs, cases, config, oracle=args.oracle, api=args.api, timeout=args.timeout,
                resolve=args.client == "vscode", jobs=args.jobs, progress=progress))
    except (EvalError, OracleError) as exc:
        raise CommandError(str(exc)) from None
    print(report.markdown_report(results, meta), end="")
    _write(args.markdown, lambda: report.markdown_report(results, meta))
    _write(args.json, lambda: json.dumps(report.json_report(results, meta), indent=2) + "\n")
    if args.check:
        return 0 if all(r.passed for r in results[0].cases) else 1
    return 0


def _write(target: str | None, text: Callable[[], str]) -> None:
    if not target:
        return
    try:
        Path(target).write_text(text(), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror}") from None


def _after_actions(argv: Sequence[str]) -> list[str]:
    argv = list(argv)
    return argv[argv.index("actions") + 1:] if "actions" in argv else argv


def _check_python(python: str) -> None:
    import subprocess

    try:
        found = subprocess.run([python, "-c", "import pytest"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"--python {python}: cannot run it ({exc})") from None
    if found.returncode != 0:
        raise CommandError(f"{python} has no pytest, which scores the cases: "
                           f"install it there (pip install pytest) or pass --python")


def model_specs(args: argparse.Namespace) -> list[Any]:
    """One ``ModelSpec`` per ``--model``: the settings the server runs with. A role routes
    every action to it; a model name runs as the deep role's model."""
    from sparkforge.config import merge_raw
    from sparkforge.evaluation.actions.runner import ModelSpec

    raw, settings = model_settings(args, PROG)
    specs = []
    for asked in args.model or ["deep"]:
        role_name = asked if asked in ROLES else "deep"
        role = settings.role(role_name)  # type: ignore[arg-type]
        model = role.model if asked in ROLES else asked
        section: dict[str, Any] = {
            "model": model, "baseUrl": args.base_url or role.base_url, "api": args.api or role.api,
            "apiKeyEnv": role.api_key_env,
            "fallbackModels": [],  # the model asked for, not a fallback answering in its place
        }
        overlay: dict[str, Any] = {role_name: section}
        if role_name == "fast":
            overlay["actions"] = {"routing": {k: "fast" for k in ("refactor", "tests", "document", "fix")}}
        label = f"{asked}: {model}" if asked in ROLES else asked
        specs.append(ModelSpec(label=label, model=model, settings=merge_raw(raw, overlay)))
    check_labels(specs)
    return specs


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sparkforge.evaluation.actions``: the same as ``sparkforge eval actions``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description="Score code actions by tests (docs/eval.md).")
    add_arguments(parser)
    args = parser.parse_args(argv)
    args.argv = argv
    return run(args)


__all__ = ["add_arguments", "main", "model_specs", "run"]
