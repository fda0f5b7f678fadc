"""The ``sparkforge`` command: lsp | model-server | doctor | demo | act."""

from __future__ import annotations

import argparse
import logging
import sys


def _lsp(args: argparse.Namespace) -> int:
    from sparkforge.server import create_server

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sparkforge",
        description="An AI pair programmer as a language server: a fast model while you type, "
        "a deep model on request.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lsp", help="run the language server (stdio by default)")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    p.set_defaults(func=_lsp)

    p = sub.add_parser("model-server", help="run the local OpenAI-compatible model server")
    from sparkforge import modelserver

    modelserver.add_arguments(p)
    p.set_defaults(func=modelserver.run_from_args)

    p = sub.add_parser("doctor", help="check the configuration and reach each model")
    from sparkforge import doctor

    doctor.add_arguments(p)
    p.set_defaults(func=doctor.run)

    p = sub.add_parser("demo", help="a scripted editing session against the local model server")
    from sparkforge import demo

    demo.add_arguments(p)
    p.set_defaults(func=demo.run)

    try:
        from sparkforge import act
    except ModuleNotFoundError:
        act = None  # type: ignore[assignment]
    if act is not None:
        p = sub.add_parser("act", help="run a code action from the terminal and print its diff")
        act.add_arguments(p)
        p.set_defaults(func=act.run)

    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
