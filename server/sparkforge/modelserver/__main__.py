"""``python -m sparkforge.modelserver``: the model server without the sparkforge CLI."""

from __future__ import annotations

import argparse

from . import add_arguments, run_from_args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparkforge.modelserver",
        description="OpenAI-compatible local model server for sparkforge tests and demos.",
    )
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
