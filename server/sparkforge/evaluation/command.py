"""``sparkforge eval predict|actions``: the command line (docs/eval.md, "Running").

    sparkforge eval predict CASES... [--model ROLE_OR_NAME ...] [--oracle] [--repo-root DIR]
                            [--json FILE] [--markdown FILE] [--settings FILE] [--base-url URL]
                            [--api responses|chat] [--scenario FILE] [--no-pauses] [--timeout S]
                            [-k TEXT]
    sparkforge eval actions ...   (sparkforge.evaluation.actions)

``predict`` prints one Markdown table with a row per model on stdout and progress on stderr.
Exit status: 0 when every case ran (misses included), 1 on bad input or a server that would
not start, 130 when interrupted. Nothing here reaches the network unless a real model is
asked for: with ``--oracle`` the model server runs in this process, on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from sparkforge.evaluation.options import ROLES, CommandError, add_report_and_endpoint_options, check_labels, model_settings

PROG = "sparkforge eval"


def add_predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("cases", nargs="+", metavar="CASES",
                   help="case files or folders (ours, Zed's .md cases, Copilot recordings)")
    p.add_argument("--model", action="append", metavar="ROLE_OR_NAME",
                   help="fast, deep, or a model name for the fast role (repeatable: one row each; "
                        "default: the configured fast model)")
    p.add_argument("--oracle", action="store_true",
                   help="answer each case with its expected edit from a local model server: "
                        "every miss is then the pipeline's")
    p.add_argument("--repo-root", metavar="DIR", help="the checkout Zed cases name")
    add_report_and_endpoint_options(p)
    p.add_argument("--scenario", action="append", default=[], metavar="FILE",
                   help="with --oracle: a model-server scenario file, e.g. a `models` timing table")
    p.add_argument("--no-pauses", action="store_true",
                   help="replay the edit history without the pauses between edits")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="how long to wait for one case's suggestions (default %(default)s s)")
    p.add_argument("-k", dest="select", metavar="TEXT", help="only the cases whose name contains TEXT")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, description="Measure suggestion quality (docs/eval.md).")
    sub = parser.add_subparsers(dest="what", required=True)
    add_predict_arguments(sub.add_parser(
        "predict", help="next edits and ghost text, replayed through sparkforge lsp"))
    actions_parser = sub.add_parser("actions", help="code actions scored by tests")
    actions = _actions_module()
    if actions is not None:
        actions.add_arguments(actions_parser)
    else:
        actions_parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.what == "actions":
        if actions is None:
            print(f"{PROG} actions: not available in this installation", file=sys.stderr)
            return 1
        return int(actions.run(args) or 0)
    try:
        return run_predict(args, argv)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except CommandError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _actions_module() -> Any:
    """``sparkforge.evaluation.actions`` if it is installed and complete, else None."""
    try:
        module = importlib.import_module("sparkforge.evaluation.actions")
    except ModuleNotFoundError as exc:
        if exc.name and "sparkforge.evaluation.actions".startswith(exc.name):
            return None
        raise
    if not (hasattr(module, "add_arguments") and hasattr(module, "run")):
        return None
    return module


def model_specs(args: argparse.Namespace) -> list[Any]:
    """One ``ModelSpec`` per ``--model``: the settings section the server runs with."""
    from sparkforge.config import merge_raw
    from sparkforge.evaluation.predict import ModelSpec

    raw, settings = model_settings(args, PROG)
    specs = []
    for asked in args.model or ["fast"]:
        role = settings.role(asked if asked in ROLES else "fast")  # type: ignore[arg-type]
        model = role.model if asked in ROLES else asked
        fast: dict[str, Any] = {
            "model": model, "baseUrl": args.base_url or role.base_url, "api": args.api or role.api,
            "apiKeyEnv": role.api_key_env, "transport": role.transport,
            # the model asked for, not a fallback that would answer in its place
            "fallbackModels": [],
        }
        if asked == "deep" and role.reasoning_effort:
            fast["reasoningEffort"] = role.reasoning_effort
        label = f"{asked}: {model}" if asked in ROLES else asked
        # the fast path alone is measured: the deep role goes where the fast one does, so that
        # it does not look its own model up on another endpoint (or warn about its key)
        settings_section = merge_raw(raw, {"fast": fast, "deep": fast})
        specs.append(ModelSpec(label=label, model=model, settings=settings_section))
    check_labels(specs)
    return specs


def check_keys(specs: Sequence[Any]) -> None:
    """A model off this machine with no key would leave every case without a suggestion (the
    server sends nothing): say so at once instead."""
    import os

    from sparkforge.models.gateway import is_local

    for spec in specs:
        fast = spec.settings["fast"]
        if not is_local(fast["baseUrl"]) and not os.environ.get(fast["apiKeyEnv"]):
            raise CommandError(
                f"{spec.label}: no API key for {fast['baseUrl']}: set {fast['apiKeyEnv']} "
                "(or sparkforge.fast.apiKeyEnv), or run with --oracle to measure offline")


def run_predict(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from sparkforge.evaluation import predict, report
    from sparkforge.evaluation.cases import CaseError, load_cases

    if args.scenario and not args.oracle:
        raise CommandError("--scenario goes with --oracle (the local model server's scenarios)")
    repo_root = Path(args.repo_root) if args.repo_root else None
    if repo_root is not None and not repo_root.is_dir():
        raise CommandError(f"--repo-root {repo_root}: not a directory")
    for path in args.scenario:
        if not Path(path).is_file():
            raise CommandError(f"--scenario {path}: no such file")
    try:
        cases = load_cases(args.cases, repo_root=repo_root)
    except CaseError as exc:
        raise CommandError(str(exc)) from None
    if args.select:
        cases = [c for c in cases if args.select in c.name]
    if not cases:
        raise CommandError(f"no cases in {' '.join(args.cases)}"
                           + (f" whose name contains {args.select!r}" if args.select else ""))
    specs = model_specs(args)
    if not args.oracle:
        check_keys(specs)
    oracle = predict.Oracle(args.scenario) if args.oracle else None
    started = time.strftime("%Y-%m-%d %H:%M %Z")

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        results = asyncio.run(predict.run(specs, cases, oracle=oracle, pauses=not args.no_pauses,
                                          timeout=args.timeout, progress=progress))
    except predict.EvalError as exc:
        raise CommandError(str(exc)) from None
    meta = {"command": "sparkforge eval " + shlex.join(argv), "date": started, "oracle": args.oracle,
            "cases": len(cases)}
    print(report.markdown_table(results))
    served = oracle.served if oracle is not None else None
    outputs = ((args.markdown, lambda: report.markdown_report(results, meta)),
               (args.json, lambda: json.dumps(report.json_report(results, meta, served), indent=2) + "\n"))
    for target, text in outputs:
        if target:
            try:
                Path(target).write_text(text(), encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {target}: {exc.strerror}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
