"""Whether the key may use a role's model, and which model serves the role instead.

``gpt-5.3-codex-spark`` is a research preview: a key without access gets 404
``model_not_found`` (or 403) for every request. Each role's model is looked up once
(``GET /models/{id}``, in the background) and every real request's refusal counts too; a model
found inaccessible is never asked again, the role's ``fallbackModels`` serve in order, and the
user reads one message that says so. Pure state and text; the gateway does the asking.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from sparkforge.config import Role, RoleConfig

NOTES = {"gpt-5.3-codex-spark": "a research preview"}
"""What the user should know about a model they may lack access to."""
PURPOSE: dict[Role, str] = {"fast": "ghost text", "deep": "code actions and chat"}
WITHOUT: dict[Role, str] = {"fast": "there is no ghost text", "deep": "code actions and chat cannot run"}
FALLBACK_EFFORT: dict[Role, str] = {"fast": "low"}
"""Reasoning effort for a role's fallback when the role sets none (Responses API only): ghost
text from a reasoning model must not think for long."""

Verdict = Literal["ok", "denied", "unknown"]


@dataclass(frozen=True)
class Lookup:
    """What the check learned about one model."""

    model: str
    verdict: Verdict
    detail: str = ""
    """The server's words (denied), or why the check could not tell (unknown)."""


@dataclass
class RoleAccess:
    """One role's models the key may not use, and whether they were checked."""

    denied: dict[str, str] = field(default_factory=dict)
    """Model -> the server's answer that refused it ("HTTP 404 model_not_found: ...")."""
    checked: bool = False
    """The lookup at start has begun (it runs once per role configuration)."""
    lookups: list[Lookup] = field(default_factory=list)
    announced: str | None = None
    """The last message the user was told, so that it is told once."""


def chain(cfg: RoleConfig) -> list[str]:
    """The role's model, then its fallbacks, each once."""
    return list(dict.fromkeys([cfg.model, *cfg.fallback_models]))


def serving(cfg: RoleConfig, access: RoleAccess) -> str | None:
    """The model requests go to: the first of the chain the key may use, or None."""
    return next((m for m in chain(cfg) if m not in access.denied), None)


def serving_config(role: Role, cfg: RoleConfig, model: str) -> RoleConfig:
    """The role's settings with ``model`` serving it (a fallback: low effort for ghost text,
    where the role sets none and the API takes one)."""
    if model == cfg.model:
        return cfg
    effort = cfg.reasoning_effort or (FALLBACK_EFFORT.get(role) if cfg.api == "responses" else None)
    return dataclasses.replace(cfg, model=model, reasoning_effort=effort)


def denial(exc: BaseException, model: str, *, lookup: bool = False) -> str | None:
    """The server's answer, if ``exc`` (an ``openai.APIStatusError``) says the key may not
    use ``model``: 404 ``model_not_found`` (or a 404 naming the model: a wrong URL is a 404
    too, and says nothing about the model), or 403. A lookup's 403 counts only as
    ``model_not_found``: a restricted key may be refused the models endpoint and still use
    the model."""
    status = getattr(exc, "status_code", None)
    if status not in (403, 404):
        return None
    error = _error_object(exc)
    code = getattr(exc, "code", None) or error.get("code")
    text = _server_message(exc, error)
    named = code == "model_not_found" or (status == 404 and model in text)
    if not named and (status == 404 or lookup):
        return None
    return f"HTTP {status}{f' {code}' if code else ''}: {text}" if text else f"HTTP {status}"


def _error_object(exc: BaseException) -> dict[str, Any]:
    """The API's error object: the body over HTTP, the event's ``error`` over a WebSocket."""
    body: Any = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return body if isinstance(body, dict) else {}


def _server_message(exc: BaseException, error: dict[str, Any]) -> str:
    text = str(error.get("message") or getattr(exc, "message", "") or "")
    return " ".join(text.split())[:200]


def message(role: Role, cfg: RoleConfig, access: RoleAccess) -> str | None:
    """What the user should read about the role's access, or None while its model serves.

    "your key has no access to gpt-5.3-codex-spark (a research preview); using gpt-5.3-codex
    at low reasoning effort for ghost text — set sparkforge.fast.model to choose"."""
    denied = [m for m in chain(cfg) if m in access.denied]
    if not denied:
        return None
    names = " nor to ".join(f"{m} ({NOTES[m]})" if m in NOTES else m for m in denied)
    model = serving(cfg, access)
    setting = f"sparkforge.{role}"
    if model is None:
        return (f"your key has no access to {names}, so {WITHOUT[role]}: set {setting}.model "
                f"to a model it may use, or list some in {setting}.fallbackModels "
                f"(the server answered {access.denied[denied[0]]})")
    effort = serving_config(role, cfg, model).reasoning_effort
    at = f" at {effort} reasoning effort" if effort and cfg.api == "responses" else ""
    return f"your key has no access to {names}; using {model}{at} for {PURPOSE[role]} — set {setting}.model to choose"
