"""``sparkforge doctor``: show the resolved configuration, reach each model, say how to fix it.

Each role's model is looked up (``GET /models/{id}``: may this key use it? if not, which
fallback serves), then the role is checked with one small request through the gateway, as the
editor sends it.
Whether a key is needed is said from what the server answered, never guessed from its
address (a local proxy may need one); advice names what the user set (an environment
variable, an option or a setting), offers the fast model for actions only when it answered,
and points at ``sparkforge model-server`` for trying sparkforge offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path

from sparkforge.config import ROLES, Role, RoleConfig, Settings, mask_secret, parse_settings, settings_from_env
from sparkforge.deep.failures import http_status, model_failure
from sparkforge.models.events import TextDelta
from sparkforge.models.access import Lookup
from sparkforge.models.errors import AuthError, ModelError, NoAccessError
from sparkforge.models.gateway import ModelGateway, is_local

# Where ``sparkforge model-server`` listens when started with no options.
OFFLINE_URL = "http://127.0.0.1:8765/v1"


class SettingsFileError(Exception):
    """The --settings file cannot be read; printed, exit 2."""


@dataclass
class Check:
    role: Role
    ok: bool
    text: str
    error: ModelError | None = None
    access: str | None = None
    """What the model lookup found (``access_text``); None where it learned nothing to say."""
    looked_up: bool = False
    """The lookup was answered (the model, or model_not_found): the server took the key, or none."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--settings", type=Path, help="a JSON file with the sparkforge settings section")
    p.add_argument("--base-url", help="base URL for both roles (e.g. http://127.0.0.1:8765/v1)")
    p.add_argument("--api", choices=("responses", "chat"), help="API for both roles")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per check (default 10)")


def resolve_settings(args: argparse.Namespace) -> tuple[Settings, list[str]]:
    raw = None
    if args.settings:
        try:
            raw = json.loads(args.settings.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsFileError(f"cannot read the settings file {args.settings}: {exc}") from exc
    settings, problems = parse_settings(raw)
    settings = settings_from_env(settings)
    for role in ROLES:
        cfg = settings.role(role)
        if args.base_url:
            cfg.base_url = args.base_url
            settings.origins[f"{role}.baseUrl"] = "--base-url"
        if args.api:
            cfg.api = args.api
            settings.origins[f"{role}.api"] = "--api"
        cfg.max_retries = 0
        cfg.timeouts.connect = min(cfg.timeouts.connect, args.timeout)
        cfg.timeouts.first_token = min(cfg.timeouts.first_token, args.timeout)
        cfg.timeouts.total = min(cfg.timeouts.total, args.timeout)
    return settings, problems


async def check(settings: Settings) -> list[Check]:
    gateway = ModelGateway(settings, one_shot=True)
    results = []
    try:
        for role in ROLES:
            lookups = await gateway.check_access(role)
            access = access_text(role, lookups, gateway)
            looked_up = any(found.verdict != "unknown" for found in lookups)
            model = gateway.serving_model(role)
            by = f" (answered by {model})" if model is not None and model != gateway.config(role).model else ""
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
                results.append(Check(role, True, f"reachable{by}: first token {ttft:.0f} ms, total {total:.0f} ms",
                                     access=access, looked_up=looked_up))
            except NoAccessError as exc:  # the lookup's finding is the failure: said once
                results.append(Check(role, False, str(exc), exc, looked_up=looked_up))
            except ModelError as exc:
                results.append(Check(role, False, str(exc), exc, access=access, looked_up=looked_up))
    finally:
        await gateway.aclose()
    return results


def access_text(role: Role, lookups: list[Lookup], gateway: ModelGateway) -> str | None:
    """The model lookup's finding: the model is available, the key has no access to it (and
    what serves instead), or the server offers no lookup; None when it did not answer at all
    (the request's own failure says why)."""
    if not lookups:
        return None
    if (text := gateway.access_message(role)) is not None:
        return text
    last = lookups[-1]
    if last.verdict == "ok":
        return f"{last.model} is available to this key"
    if last.detail.startswith("HTTP "):
        return f"{last.model} could not be looked up ({last.detail}); the first request will tell whether this key may use it"
    return None


def key_text(cfg: RoleConfig, result: Check) -> str:
    """The key as it may be shown, or, with none set, what the server's answer showed."""
    key = cfg.api_key()
    if key:
        return mask_secret(key)
    if not is_local(cfg.base_url):
        return "(not set)"  # no request goes out without one
    if result.ok or result.looked_up:
        return f"not set, and not needed: {cfg.base_url} answered without one"
    status = http_status(result.error) if isinstance(result.error, AuthError) else None
    if status in (401, 403):
        return f"not set, but needed: {cfg.base_url} answered {status} without one"
    return f"not set; whether {cfg.base_url} needs one is unknown (it did not answer)"


def failure_text(result: Check, settings: Settings, by_role: dict[Role, Check]) -> str:
    assert result.error is not None
    cfg = settings.role(result.role)
    text = model_failure(result.error, cfg.model, settings)
    fast = by_role["fast"]
    if result.role == "deep" and fast.ok:
        # Only where the other model really answered: a way out with the same problem is none.
        text += (f"; meanwhile the fast model ({settings.fast.model}) answers: actions can run on it, "
                 'e.g. sparkforge.actions.routing = {"refactor": "fast"}')
    return text


def run(args: argparse.Namespace) -> int:
    try:
        settings, problems = resolve_settings(args)
    except SettingsFileError as exc:
        print(f"sparkforge doctor: {exc}")
        return 2
    results = asyncio.run(check(settings))
    by_role = {r.role: r for r in results}
    print("sparkforge doctor")
    for problem in problems:
        print(f"  setting: {problem}")
    for role in ROLES:
        cfg = settings.role(role)
        set_by = sorted({v for k, v in settings.origins.items() if k.startswith(f"{role}.")})
        print(f"  {role}: model {cfg.model}, api {cfg.api}, {cfg.base_url}"
              + (f" (from {', '.join(set_by)})" if set_by else ""))
        print(f"        key from ${cfg.api_key_env}: {key_text(cfg, by_role[role])}")
    for result in results:
        if result.access is not None:
            print(f"  model {result.role}: {result.access}")
        if result.ok:
            print(f"  ok   {result.role}: {result.text}")
        else:
            print(f"  FAIL {result.role}: {failure_text(result, settings, by_role)}")
    if all(r.ok for r in results):
        return 0
    print("sparkforge doctor: some checks failed; see the messages above for the fix.")
    print(f"To try sparkforge offline, with no key: `sparkforge model-server` answers from scripted "
          f"scenarios on {OFFLINE_URL}; check it with `sparkforge doctor --base-url {OFFLINE_URL}`, "
          "or run `sparkforge demo`, which starts its own.")
    return 1
