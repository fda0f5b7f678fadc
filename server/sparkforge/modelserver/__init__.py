"""sparkforge.modelserver: an OpenAI-compatible model server on loopback for tests and demos.

It answers ``/v1/responses`` and ``/v1/chat/completions`` (streamed or not) from scenarios,
at a configurable time to first token and tokens/s, with injectable faults, and counts
requests and streams (``/_stats``). See ``docs/modelserver.md``.

Entry points: ``add_arguments``/``run_from_args`` for the ``sparkforge model-server`` CLI
(and ``python -m sparkforge.modelserver``), ``start_server`` to run it inside an event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from sparkforge.models.tokens import encoding

from .app import STATE_KEY, ServerState, make_app, make_runner
from .scenarios import (
    DEFAULT_DEEP_MODEL,
    DEFAULT_FAST_MODEL,
    NO_MATCH_TEXT,
    ScenarioError,
    ScenarioStore,
    Timing,
)

__all__ = [
    "DEFAULT_DEEP_MODEL",
    "DEFAULT_FAST_MODEL",
    "NO_MATCH_TEXT",
    "ServerConfig",
    "ServerState",
    "add_arguments",
    "config_from_args",
    "run_from_args",
    "server_state",
    "start_server",
]


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # 0 picks a free port
    scenario_files: list[str] = field(default_factory=list)
    fast_model: str = DEFAULT_FAST_MODEL
    fast_tps: float = 1000.0
    deep_tps: float = 70.0
    fast_ttft_ms: float = 20.0
    deep_ttft_ms: float = 300.0
    port_file: str | None = None
    require_key: str | None = None  # None: any key is accepted
    deny_models: list[str] = field(default_factory=list)
    """Models refused with 404 ``model_not_found``, as for a key without access to them."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = ServerConfig()
    parser.add_argument("--host", default=d.host, help="address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=d.port,
                        help="port to bind; 0 picks a free one (default %(default)s)")
    parser.add_argument("--scenario", action="append", default=[], metavar="FILE",
                        help="scenario JSON file (repeatable; earlier files match first)")
    parser.add_argument("--fast-model", default=d.fast_model,
                        help="name of the fast model; any name containing 'spark' is fast too")
    parser.add_argument("--fast-tps", type=float, default=d.fast_tps,
                        help="fast model tokens/s (default %(default)s; 0 = unpaced)")
    parser.add_argument("--deep-tps", type=float, default=d.deep_tps,
                        help="deep model tokens/s (default %(default)s; 0 = unpaced)")
    parser.add_argument("--fast-ttft-ms", type=float, default=d.fast_ttft_ms,
                        help="fast model time to first token in ms (default %(default)s)")
    parser.add_argument("--deep-ttft-ms", type=float, default=d.deep_ttft_ms,
                        help="deep model time to first token in ms (default %(default)s)")
    parser.add_argument("--port-file", metavar="PATH",
                        help="write the bound port to PATH once listening")
    parser.add_argument("--require-key", metavar="KEY",
                        help="accept only this API key (401 otherwise), like a server that needs one")
    parser.add_argument("--deny-model", action="append", default=[], metavar="ID",
                        help="answer requests and lookups for model ID with 404 model_not_found, "
                             "as OpenAI answers a key without access to it (repeatable)")


def config_from_args(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        host=args.host, port=args.port, scenario_files=list(args.scenario or []),
        fast_model=args.fast_model, fast_tps=args.fast_tps, deep_tps=args.deep_tps,
        fast_ttft_ms=args.fast_ttft_ms, deep_ttft_ms=args.deep_ttft_ms,
        port_file=args.port_file, require_key=args.require_key,
        deny_models=list(args.deny_model or []),
    )


def build_store(config: ServerConfig) -> ScenarioStore:
    """The scenario store for ``config``; raises ScenarioError for a bad scenario file."""
    store = ScenarioStore(
        fast_model=config.fast_model,
        fast=Timing(config.fast_ttft_ms, config.fast_tps),
        deep=Timing(config.deep_ttft_ms, config.deep_tps),
    )
    for path in config.scenario_files:
        store.load_file(path)
    store.denied = dict.fromkeys(config.deny_models, 404)
    return store


async def start_server(config: ServerConfig) -> tuple[web.AppRunner, int]:
    """Start listening in the running loop; returns the runner (``await runner.cleanup()``
    to stop) and the bound port. Does not print or write the port file."""
    store = build_store(config)
    # Load the tokenizer now (about 0.3 s) rather than inside the first request's timing.
    encoding()
    runner = make_runner(make_app(store, config.require_key))
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = getattr(site, "_server", None)
    port = server.sockets[0].getsockname()[1] if server and server.sockets else config.port
    return runner, port


def server_state(runner: web.AppRunner) -> ServerState:
    """The counters and scenarios of an in-process server (for benches)."""
    assert runner.app is not None
    return runner.app[STATE_KEY]


async def _serve(config: ServerConfig) -> int:
    try:
        runner, port = await start_server(config)
    except ScenarioError as exc:
        print(f"sparkforge model-server: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # asyncio's strerror restates the address; the errno's own text says it once
        reason = os.strerror(exc.errno).lower() if exc.errno else (exc.strerror or str(exc))
        print(f"sparkforge model-server: cannot listen on {config.host}:{config.port}: {reason}",
              file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if config.port_file:
            # Write then rename, so a watcher never reads a half-written port.
            tmp = Path(config.port_file + ".tmp")
            tmp.write_text(f"{port}\n", encoding="utf-8")
            tmp.replace(config.port_file)
        print(f"sparkforge model-server listening on http://{config.host}:{port}/v1", flush=True)
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    return 0


def run_from_args(args: argparse.Namespace) -> int:
    """Run the server until SIGTERM/SIGINT; the exit status (0 on a clean stop)."""
    return asyncio.run(_serve(config_from_args(args)))

def run(args: argparse.Namespace) -> int:
    """The ``sparkforge model-server`` entry point (same as run_from_args)."""
    return run_from_args(args)
