"""``sparkforge doctor``: show the resolved configuration, reach each model, say how to fix it."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from sparkforge.config import ROLES, Settings, mask_secret, parse_settings, settings_from_env
from sparkforge.models.events import TextDelta
from sparkforge.models.gateway import ModelError, ModelGateway, is_local


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settings", type=Path, help="a JSON file with the sparkforge settings section")
    p.add_argument("--base-url", help="base URL for both roles (e.g. http://127.0.0.1:8765/v1)")
    p.add_argument("--api", choices=("responses", "chat"), help="API for both roles")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per check (default 10)")


def resolve_settings(args: argparse.Namespace) -> tuple[Settings, list[str]]:
    raw = json.loads(args.settings.read_text(encoding="utf-8")) if args.settings else None
    settings, problems = parse_settings(raw)
    settings = settings_from_env(settings)
    for role in ROLES:
        cfg = settings.role(role)
        if args.base_url:
            cfg.base_url = args.base_url
        if args.api:
            cfg.api = args.api
        cfg.max_retries = 0
        cfg.timeouts.connect = min(cfg.timeouts.connect, args.timeout)
        cfg.timeouts.first_token = min(cfg.timeouts.first_token, args.timeout)
        cfg.timeouts.total = min(cfg.timeouts.total, args.timeout)
    return settings, problems


async def check(settings: Settings) -> list[tuple[str, bool, str]]:
    gateway = ModelGateway(settings)
    results = []
    try:
        for role in ROLES:
            started = time.perf_counter()
            first: float | None = None
            try:
                async for event in gateway.stream(
                    role, instructions="Reply with OK.", input="ping", max_output_tokens=16
                ):
                    if first is None and isinstance(event, TextDelta):
                        first = time.perf_counter()
                total = (time.perf_counter() - started) * 1000
                ttft = ((first or time.perf_counter()) - started) * 1000
                results.append((role, True, f"reachable: first token {ttft:.0f} ms, total {total:.0f} ms"))
            except ModelError as exc:
                results.append((role, False, str(exc)))
    finally:
        await gateway.aclose()
    return results


def run(args: argparse.Namespace) -> int:
    settings, problems = resolve_settings(args)
    print("sparkforge doctor")
    for problem in problems:
        print(f"  setting: {problem}")
    for role in ROLES:
        cfg = settings.role(role)
        key = cfg.api_key()
        key_text = mask_secret(key) if key else ("(not needed: local server)" if is_local(cfg.base_url) else "(not set)")
        print(f"  {role}: model {cfg.model}, api {cfg.api}, {cfg.base_url}")
        print(f"        key from ${cfg.api_key_env}: {key_text}")
    ok = True
    for role, good, text in asyncio.run(check(settings)):
        print(f"  {'ok  ' if good else 'FAIL'} {role}: {text}")
        ok = ok and good
    if not ok:
        print("sparkforge doctor: some checks failed; see the messages above for the fix.")
    return 0 if ok else 1
