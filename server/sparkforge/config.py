"""Typed settings: defaults, validation, and parsing from the editor's options.

Settings arrive as ``initializationOptions`` and again through
``workspace/didChangeConfiguration``, as the ``sparkforge`` section (camelCase keys, the shape
VS Code's configuration gives). A bad value never crashes the server: it is reported and the
default is kept. API keys are never settings: a role names the environment variable that
holds its key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["fast", "deep"]
ROLES: tuple[Role, ...] = ("fast", "deep")
ACTION_KINDS = ("refactor", "tests", "document", "fix", "explain")


@dataclass
class Timeouts:
    connect: float = 5.0
    """Seconds to open the connection."""
    first_token: float = 20.0
    """Seconds one try waits for the model's first token (and for any pause mid-answer).
    Ghost text and next edits make one try: this is their deadline."""
    total: float = 120.0
    """Seconds for the whole answer."""
    first_token_deadline: float = 25.0
    """Seconds actions, chat and fast apply wait for the first token, whatever the retries:
    no try starts after it, and the last try is cut at it."""


@dataclass
class RoleConfig:
    model: str
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str = "OPENAI_API_KEY"
    api: Literal["responses", "chat"] = "responses"
    transport: Literal["auto", "websocket", "http"] = "auto"
    """How Responses requests travel: ``auto`` keeps a WebSocket open where the endpoint
    offers one (``responses.connect()``) and uses HTTP where it does not; ``websocket`` only
    the socket; ``http`` one request each. Chat Completions is HTTP only."""
    reasoning_effort: str | None = None
    max_output_tokens: int = 1024
    max_input_tokens: int = 64000
    """The most tokens one request to this model may carry (instructions and input): a
    bigger one is refused before it is sent, naming this setting."""
    max_retries: int = 2
    timeouts: Timeouts = field(default_factory=Timeouts)
    fallback_models: list[str] = field(default_factory=list)
    """Models to use, in order, when the key has no access to ``model`` (404
    ``model_not_found`` or 403): checked once, never a failure per keystroke."""

    def api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) or None


def _fast_default() -> RoleConfig:
    return RoleConfig(
        model="gpt-5.3-codex-spark",
        max_output_tokens=512,
        # Spark is a research preview: a key without access gets ghost text from gpt-5.3-codex
        fallback_models=["gpt-5.3-codex"],
        timeouts=Timeouts(connect=3.0, first_token=5.0, total=20.0, first_token_deadline=12.0),
    )


def _deep_default() -> RoleConfig:
    return RoleConfig(model="gpt-5.3-codex", reasoning_effort="medium", max_output_tokens=8192)


@dataclass
class InlineConfig:
    enabled: bool = True
    debounce_ms: int | None = None
    """None: adaptive (learned from keystroke intervals and model latency)."""
    lines_above: int = 3
    lines_below: int = 3
    prompt_tokens: int = 1500
    max_output_tokens: int = 400


@dataclass
class NextEditConfig:
    enabled: bool = True


@dataclass
class ActionsConfig:
    routing: dict[str, Role] = field(default_factory=dict)
    """Per-action role override, e.g. {"document": "fast"}; actions default to deep."""
    prompt_tokens: int = 24000
    preview: Literal["never", "multiFile", "always"] = "never"
    """When an action's edit asks the editor for confirmation (``needsConfirmation``) instead of
    applying at once: never (one click applies), for edits that touch several files or create
    one, or always."""


@dataclass
class ChatConfig:
    message_tokens: int = 16000
    """The longest chat message (what the user types or pastes; attached context has its own
    budget)."""
    apply_tokens: int = 16000
    """Fast apply: the largest file a model rewrites with a code block merged in, and the
    largest code block it merges (a unified diff is applied without a model, at any size)."""


@dataclass
class AgentConfig:
    max_steps: int = 30
    """Tool calls one agent task may make before it stops."""
    max_tokens: int = 400000
    """Tokens (input and output, every turn) one agent task may use."""
    max_cost_usd: float = 2.0
    """Dollars one agent task may spend (where the model's price is known)."""
    max_seconds: float = 600.0
    """Wall-clock seconds one agent task may run."""
    commands: Literal["ask", "allowlist", "never"] = "ask"
    """Whether the agent may run commands: ``ask`` the user for each command line not in
    ``allowCommands``, run only ``allowlist``ed ones, or ``never``."""
    allow_commands: list[str] = field(default_factory=list)
    """Command-line prefixes run without asking, matched word by word (``pytest``, ``npm test``)."""
    command_timeout_s: float = 120.0
    """Seconds a command may run before it is killed."""
    trusted: bool = True
    """Whether the workspace is trusted (VS Code sends ``workspace.isTrusted``): no commands
    run in an untrusted one."""
    review: Literal["apply", "pending"] = "apply"
    """``apply``: each step's edit reaches the editor as it happens (Undo takes it back);
    ``pending``: the edits wait until Keep."""


@dataclass
class Settings:
    fast: RoleConfig = field(default_factory=_fast_default)
    deep: RoleConfig = field(default_factory=_deep_default)
    exclude: list[str] = field(default_factory=list)
    """Globs (workspace-relative) of files that never reach a model, besides .env-like files."""
    inline: InlineConfig = field(default_factory=InlineConfig)
    next_edit: NextEditConfig = field(default_factory=NextEditConfig)
    actions: ActionsConfig = field(default_factory=ActionsConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    log_level: Literal["error", "warning", "info", "debug"] = "info"
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False, metadata={"setting": False})
    """Not a setting: values the user gave some other way, by setting path (``"deep.baseUrl"``)
    -> what they set (``"SPARKFORGE_DEEP_BASE_URL"``, ``"--base-url"``). Advice names that."""

    def role(self, role: Role) -> RoleConfig:
        return self.fast if role == "fast" else self.deep

    def name_of(self, path: str) -> str:
        """What the user set for ``path`` (``"deep.baseUrl"``): the environment variable or
        command-line option it came from, else the setting ``sparkforge.deep.baseUrl``."""
        return self.origins.get(path, f"sparkforge.{path}")

    def named(self, text: str) -> str:
        """``text`` with every ``sparkforge.ROLE.KEY`` it names replaced by what the user
        actually set for it (messages name settings; the user may have used the environment)."""
        if not self.origins:
            return text
        return _SETTING_RE.sub(lambda m: self.name_of(m[1]), text)


_SETTING_RE = re.compile(r"\bsparkforge\.((?:fast|deep)\.[A-Za-z]+(?:\.[A-Za-z]+)*)")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _check(value: Any, tp: Any, path: str) -> Any:
    """Validate ``value`` against a simple annotation; raise ValueError naming the setting."""
    origin = getattr(tp, "__origin__", None)
    if tp == "int | None" or tp == (int | None):
        if value is None:
            return None
        tp = int
    if tp == "str | None" or tp == (str | None):
        if value is None:
            return None
        tp = str
    if isinstance(tp, str):
        tp = {"int": int, "float": float, "bool": bool, "str": str}.get(tp, tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{path} must be true or false, not {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{path} must be a non-negative integer, not {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{path} must be a positive number, not {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{path} must be a non-empty string, not {value!r}")
        return value
    if origin is Literal or str(tp).startswith("typing.Literal"):
        if value not in tp.__args__:
            allowed = ", ".join(repr(a) for a in tp.__args__)
            raise ValueError(f"{path} must be one of {allowed}, not {value!r}")
        return value
    raise TypeError(f"no validator for {tp!r}")


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def _types_of(cls: type) -> dict[str, Any]:
    if cls not in _FIELD_TYPES:
        import typing

        _FIELD_TYPES[cls] = typing.get_type_hints(cls)
    return _FIELD_TYPES[cls]


def _merge(obj: Any, raw: Any, path: str, problems: list[str]) -> None:
    """Overlay the camelCase mapping ``raw`` onto dataclass ``obj``; bad values are reported."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(f"{path} must be an object, not {raw!r}")
        return
    hints = _types_of(type(obj))
    names = {_camel(f.name): f.name for f in dataclasses.fields(obj) if f.metadata.get("setting", True)}
    for key, value in raw.items():
        name = names.get(key) or (key if key in names.values() else None)
        where = f"{path}.{key}"
        if name is None:
            problems.append(f"{where} is not a sparkforge setting (ignored)")
            continue
        current = getattr(obj, name)
        tp = hints[name]
        try:
            if dataclasses.is_dataclass(current):
                _merge(current, value, where, problems)
            elif name == "exclude":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{where} must be a list of glob strings")
                setattr(obj, name, list(value))
            elif name == "allow_commands":
                if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                    raise ValueError(f"{where} must be a list of command lines, not {value!r}")
                setattr(obj, name, list(value))
            elif name == "fallback_models":
                if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                    raise ValueError(f"{where} must be a list of model names, not {value!r}")
                setattr(obj, name, list(value))
            elif name == "routing":
                if not isinstance(value, dict):
                    raise ValueError(f"{where} must map an action to 'fast' or 'deep'")
                routing: dict[str, Role] = {}
                for action, role in value.items():
                    if action not in ACTION_KINDS or role not in ROLES:
                        problems.append(
                            f"{where}.{action} must map one of {', '.join(ACTION_KINDS)} "
                            f"to 'fast' or 'deep', not {role!r} (ignored)"
                        )
                        continue
                    routing[action] = role
                setattr(obj, name, routing)
            else:
                setattr(obj, name, _check(value, tp, where))
        except ValueError as exc:
            problems.append(f"{exc}; using the default {current!r}")


# Settings of the editor extension itself (VS Code's interpreter and trace), which arrive in
# the same section when the server pulls it: not the server's, and not worth a warning.
CLIENT_KEYS = frozenset({"python", "trace"})


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from the editor's ``sparkforge`` section, plus messages for bad values.

    Accepts either the section itself or an object that holds it under ``sparkforge``.
    """
    settings = Settings()
    problems: list[str] = []
    if isinstance(raw, dict) and isinstance(raw.get("sparkforge"), dict):
        raw = raw["sparkforge"]
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k not in CLIENT_KEYS}
    if raw in (None, {}):
        return settings, problems
    _merge(settings, raw, "sparkforge", problems)
    return settings, problems


def settings_from_env(settings: Settings | None = None) -> Settings:
    """Overlay SPARKFORGE_* environment variables (used by the CLI, the demo and doctor);
    ``settings.origins`` records each one used, so advice names the variable."""
    settings = settings or Settings()
    for role in ROLES:
        cfg = settings.role(role)
        for suffix, key in ENV_KEYS.items():
            name = f"SPARKFORGE_{role.upper()}_{suffix}"
            value = os.environ.get(name)
            if not value or (key == "api" and value not in ("responses", "chat")):
                continue
            setattr(cfg, _snake(key), value)
            settings.origins[f"{role}.{key}"] = name
    return settings


class SettingsFileError(ValueError):
    """A settings file a command was given cannot be read."""


def load_settings_file(path: str) -> dict[str, Any]:
    """A settings file of a terminal command: a JSON object, the settings themselves or a
    ``sparkforge`` section holding them."""
    try:
        with open(path, encoding="utf-8") as f:
            loaded = json.load(f)
    except OSError as exc:
        raise SettingsFileError(f"cannot read the settings file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SettingsFileError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("sparkforge"), dict):
        loaded = loaded["sparkforge"]
    if not isinstance(loaded, dict):
        raise SettingsFileError(f"{path}: the settings must be a JSON object")
    return loaded


def command_settings(settings_file: str | None, base_url: str | None = None, api: str | None = None,
                     ) -> tuple[Settings, list[str]]:
    """The settings of a terminal command (``sparkforge act``, ``sparkforge agent``): a JSON
    settings file if given, then SPARKFORGE_* variables, then ``--base-url`` / ``--api`` for
    both roles; and the file's problems, for the command to print as warnings."""
    raw = load_settings_file(settings_file) if settings_file else None
    settings, problems = parse_settings(raw)
    settings = settings_from_env(settings)
    for role in ROLES:
        cfg = settings.role(role)
        if base_url:
            cfg.base_url = base_url
            settings.origins[f"{role}.baseUrl"] = "--base-url"
        if api:
            cfg.api = api
            settings.origins[f"{role}.api"] = "--api"
    return settings, problems


# SPARKFORGE_{FAST,DEEP}_<suffix> -> the role's setting it stands for.
ENV_KEYS = {"BASE_URL": "baseUrl", "MODEL": "model", "API": "api", "API_KEY_ENV": "apiKeyEnv"}


def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), name)


def mask_secret(value: str | None) -> str:
    """A key as it may be shown: never more than its first three and last four characters."""
    if not value:
        return "(not set)"
    if len(value) <= 12:
        return "*" * len(value)
    return f"{value[:3]}…{value[-4:]}"


def merge_raw(base: Any, overlay: Any) -> Any:
    """``overlay`` on top of ``base``: mappings merge key by key, anything else replaces."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return overlay
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge_raw(base.get(key), value) if key in base else value
    return out


def section_of(raw: Any) -> dict[str, Any]:
    """The ``sparkforge`` section of what a client sent: the section itself, or an object
    holding it under ``sparkforge``; anything else is no settings at all."""
    if isinstance(raw, dict) and isinstance(raw.get("sparkforge"), dict):
        return raw["sparkforge"]
    return raw if isinstance(raw, dict) else {}


# Settings that say where code and keys go: taken from the user (initializationOptions, the
# client's global configuration), never from a workspace folder's own settings.
MACHINE_KEYS = ("fast", "deep")


@dataclass
class SettingsLayers:
    """Where settings come from, in increasing precedence: ``initializationOptions``, what
    ``workspace/didChangeConfiguration`` pushed (merged: an empty or partial push resets
    nothing), what ``workspace/configuration`` answered for the whole workspace, and what it
    answered per workspace folder (which overrides the rest for documents in that folder)."""

    initialization: dict[str, Any] = field(default_factory=dict)
    pushed: dict[str, Any] = field(default_factory=dict)
    pulled: dict[str, Any] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def push(self, raw: Any) -> None:
        self.pushed = merge_raw(self.pushed, section_of(raw))

    def effective(self) -> dict[str, Any]:
        return merge_raw(merge_raw(self.initialization, self.pushed), self.pulled)

    def folder(self, key: str) -> dict[str, Any] | None:
        """The settings of one folder, where its own answer differs from the workspace's."""
        own = {k: v for k, v in self.folders.get(key, {}).items() if k not in MACHINE_KEYS}
        merged = merge_raw(self.effective(), own)
        return merged if merged != self.effective() else None
