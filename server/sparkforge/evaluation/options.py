"""What `sparkforge eval predict` and `sparkforge eval actions` share on the command line:
the error they print as one line, the report and model-endpoint options, and the settings the
models run with."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from sparkforge.config import Settings, SettingsFileError, load_settings_file, parse_settings, settings_from_env

ROLES = ("fast", "deep")


class CommandError(Exception):
    """Bad input (or a server that would not start): printed as one line, exit 1."""


def add_report_and_endpoint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="write the JSON report (per-case rows) to FILE")
    p.add_argument("--markdown", metavar="FILE", help="write the Markdown report to FILE")
    p.add_argument("--settings", metavar="FILE", help="a JSON file with the sparkforge settings section")
    p.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible base URL for the models")
    p.add_argument("--api", choices=["responses", "chat"], help="the API the models speak")


def model_settings(args: argparse.Namespace, prog: str) -> tuple[dict[str, Any], Settings]:
    """The ``--settings`` file's section (raw, for the server) and the settings it makes with
    the SPARKFORGE_* variables; the file's problems are printed as warnings."""
    raw: dict[str, Any] = {}
    if args.settings:
        try:
            raw = load_settings_file(args.settings)
        except SettingsFileError as exc:
            raise CommandError(str(exc)) from None
    settings, problems = parse_settings(raw)
    for problem in problems:
        print(f"{prog}: warning: {problem}", file=sys.stderr)
    return raw, settings_from_env(settings)


def check_labels(specs: Sequence[Any]) -> None:
    """Each row of the report names one model."""
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise CommandError(f"a model is named twice: {', '.join(labels)}")
