"""The ``sparkforge`` command: lsp | model-server | doctor | demo | act | agent | eval, and ``--version``.

Each subcommand's module is imported only when that subcommand runs, so ``sparkforge lsp``
starts without loading the model server's HTTP stack.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# name -> (module, help); each module has add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "lsp": ("sparkforge.cli", "run the language server (stdio by default)"),
    "model-server": ("sparkforge.modelserver", "run the local OpenAI-compatible model server"),
    "doctor": ("sparkforge.doctor", "check the configuration and reach each model"),
    "demo": ("sparkforge.demo", "a scripted editing session against the local model server"),
    "act": ("sparkforge.act", "run a code action from the terminal and print its diff"),
    "agent": ("sparkforge.agent_terminal", "carry out a task with the agent's tools in a terminal"),
}
# name -> (module, help); the module's main(argv) -> int parses the rest of the command line
HANDOVER: dict[str, tuple[str, str]] = {
    "eval": ("sparkforge.evaluation.command", "measure suggestion quality: eval predict | eval actions"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")


def run(args: argparse.Namespace) -> int:
    from sparkforge.app import create_server

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print sparkforge's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import sparkforge

        print(f"sparkforge {sparkforge.__version__}")
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="sparkforge",
        description="An AI pair programmer as a language server: a fast model while you type, "
        "a deep model on request.",
    )
    parser.add_argument("-V", "--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen in HANDOVER and argv.index(chosen) == 0:  # its own parser reads the rest
        return int(importlib.import_module(HANDOVER[chosen][0]).main(argv[1:]) or 0)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(func=module.run)
    for name, (module_name, help_text) in HANDOVER.items():
        p = sub.add_parser(name, help=help_text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=lambda a, m=module_name: importlib.import_module(m).main(a.rest))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
