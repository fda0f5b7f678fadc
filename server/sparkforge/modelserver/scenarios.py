"""Scenarios for the local model server: what to answer, how fast, and which fault to inject.

A scenario file is JSON with ``models`` (per-model timing) and ``scenarios`` (request
matchers and the answer to give). The format is documented in ``docs/modelserver.md``;
this module validates it, flattens requests into prompt text, and picks the scenario and
timing for each request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_FAST_MODEL = "gpt-5.3-codex-spark"
DEFAULT_DEEP_MODEL = "gpt-5.3-codex"
NO_MATCH_TEXT = "sparkforge model-server: no scenario matched this request."

ENDPOINTS = ("responses", "chat", "any")
FAULT_KINDS = ("429", "500", "stall_before", "stall_during", "drop", "malformed", "other_api", "ws_close")
SSE_STYLES = ("openai", "litellm", "spec")  # see sse.SSE_STYLES
PATCH_TYPES = ("create_file", "update_file", "delete_file")


class ScenarioError(ValueError):
    """A scenario file or runtime scenario payload is invalid."""


@dataclass(frozen=True, slots=True)
class Timing:
    """Time to first token and streaming rate; ``tokens_per_s <= 0`` means no pacing."""

    ttft_ms: float
    tokens_per_s: float


@dataclass(frozen=True, slots=True)
class Patch:
    """One apply_patch operation (a V4A diff for one file)."""

    type: str
    path: str
    diff: str = ""


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function tool call to answer with; ``arguments`` is streamed as written."""

    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ReasoningScript:
    """The reasoning a turn answers with first (Responses only): a ``reasoning`` item whose
    summary parts stream when the request asks for a summary, and whose ``encrypted_content``
    is ``encrypted`` when the request includes ``reasoning.encrypted_content``."""

    summary: tuple[str, ...] = ()
    encrypted: str = ""


@dataclass(frozen=True, slots=True)
class ToolResults:
    """The tool results a request carries: how many in all, and the texts of the latest ones
    (those answering the model's last turn of calls)."""

    count: int
    latest: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Turn:
    """One answer of a multi-turn tool conversation, chosen by the tool results the request
    carries: ``turn`` (None: any) is how many there are, ``after_output_contains`` substrings
    that must all occur in the latest ones."""

    turn: int | None = None
    after_output_contains: tuple[str, ...] = ()
    output: str = ""
    function_calls: tuple[FunctionCall, ...] = ()
    patches: tuple[Patch, ...] = ()
    reasoning: ReasoningScript | None = None

    def matches(self, results: ToolResults) -> bool:
        if self.turn is not None and self.turn != results.count:
            return False
        latest = "\n".join(results.latest)
        return all(s in latest for s in self.after_output_contains)


@dataclass(frozen=True, slots=True)
class OracleEdit:
    """A whole file before and after the edit a next-edit answer should make (LF texts)."""

    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure to inject; ``times`` of None means on every matching request."""

    kind: str
    retry_after: float = 1.0
    stall_ms: float = 5000.0
    after_tokens: int = 5
    times: int | None = None


@dataclass(slots=True)
class Scenario:
    name: str
    endpoint: str = "any"
    model: str | None = None
    input_contains: tuple[str, ...] = ()
    output: str = ""
    chat_output: str | None = None
    rewrite_insert: str | None = None
    oracle: tuple[OracleEdit, ...] = ()
    patches: tuple[Patch, ...] = ()
    turns: tuple[Turn, ...] = ()
    fault: Fault | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    sse_style: str = "openai"
    # Matching requests seen so far; a fault with ``times`` fires while this is below it.
    hits: int = field(default=0, compare=False)

    def matches(self, endpoint: str, model: str, prompt: str) -> bool:
        if self.endpoint not in ("any", endpoint):
            return False
        if self.model is not None and self.model != model:
            return False
        return all(s in prompt for s in self.input_contains)

    def take_fault(self) -> Fault | None:
        """Count one matching request and return the fault to inject into it, if any."""
        self.hits += 1
        if self.fault is None:
            return None
        if self.fault.times is not None and self.hits > self.fault.times:
            return None
        return self.fault


DEFAULT_SCENARIO = Scenario(name="<default>", output=NO_MATCH_TEXT)


def _number(value: Any, what: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ScenarioError(f"{what} must be a non-negative number, got {value!r}")
    return float(value)


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ScenarioError(f"{what} must be a string, got {value!r}")
    return value


def parse_timing_overrides(raw: Any) -> dict[str, dict[str, float]]:
    """``{"MODEL": {"ttft_ms": .., "tokens_per_s": ..}}`` -> validated partial overrides."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ScenarioError("'models' must be an object mapping model names to timing")
    out: dict[str, dict[str, float]] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise ScenarioError(f"models[{name!r}] must be an object")
        unknown = set(spec) - {"ttft_ms", "tokens_per_s"}
        if unknown:
            raise ScenarioError(f"models[{name!r}] has unknown keys {sorted(unknown)}")
        out[name] = {k: _number(v, f"models[{name!r}].{k}") for k, v in spec.items()}
    return out


def _parse_fault(raw: Any, where: str) -> Fault | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}.fault must be an object")
    kind = str(raw.get("kind", ""))
    if kind not in FAULT_KINDS:
        raise ScenarioError(f"{where}.fault.kind must be one of {FAULT_KINDS}, got {kind!r}")
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise ScenarioError(f"{where}.fault.times must be a non-negative integer")
    after = raw.get("after_tokens", 5)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ScenarioError(f"{where}.fault.after_tokens must be a non-negative integer")
    return Fault(
        kind=kind,
        retry_after=_number(raw.get("retry_after", 1), f"{where}.fault.retry_after"),
        stall_ms=_number(raw.get("stall_ms", 5000), f"{where}.fault.stall_ms"),
        after_tokens=after,
        times=times,
    )


def _parse_patch(raw: Any, where: str) -> Patch:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where} must be an object")
    kind = raw.get("type")
    if kind not in PATCH_TYPES:
        raise ScenarioError(f"{where}.type must be one of {PATCH_TYPES}, got {kind!r}")
    return Patch(
        type=kind,
        path=_string(raw.get("path"), f"{where}.path"),
        diff=_string(raw.get("diff", ""), f"{where}.diff"),
    )


def _strings(raw: Any, what: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]  # a lone string is an easy mistake; accept it
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise ScenarioError(f"{what} must be a list of strings")
    return tuple(raw)


def _parse_call(raw: Any, where: str) -> FunctionCall:
    if not isinstance(raw, dict) or not set(raw) <= {"name", "arguments"}:
        raise ScenarioError(f"{where} must be an object with 'name' and 'arguments'")
    name = _string(raw.get("name"), f"{where}.name")
    if not name:
        raise ScenarioError(f"{where}.name must not be empty")
    args = raw.get("arguments", {})
    if isinstance(args, dict):
        args = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
    return FunctionCall(name, _string(args, f"{where}.arguments (an object, or a string sent as is)"))


TURN_KEYS = {"turn", "after_output_contains", "output", "function_calls", "patches", "reasoning"}


def _parse_reasoning(raw: Any, where: str) -> ReasoningScript | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not set(raw) <= {"summary", "encrypted"}:
        raise ScenarioError(f"{where} must be an object with 'summary' (a string or a list of strings) "
                            "and 'encrypted' (a string)")
    summary = _strings(raw.get("summary", []), f"{where}.summary")
    encrypted = _string(raw.get("encrypted", ""), f"{where}.encrypted")
    return ReasoningScript(summary, encrypted or f"enc_{uuid.uuid4().hex}")


def _parse_turns(raw: Any, where: str) -> tuple[Turn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}.turns must be a non-empty list of turns")
    turns = []
    for i, item in enumerate(raw):
        at = f"{where}.turns[{i}]"
        if not isinstance(item, dict):
            raise ScenarioError(f"{at} must be an object")
        if unknown := set(item) - TURN_KEYS:
            raise ScenarioError(f"{at} has unknown keys {sorted(unknown)} (known: {sorted(TURN_KEYS)})")
        n = item.get("turn")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ScenarioError(f"{at}.turn must be a non-negative integer (the number of tool results)")
        calls, patches = item.get("function_calls", []), item.get("patches", [])
        if not isinstance(calls, list):
            raise ScenarioError(f"{at}.function_calls must be a list")
        if not isinstance(patches, list):
            raise ScenarioError(f"{at}.patches must be a list")
        turns.append(Turn(
            turn=n,
            after_output_contains=_strings(item.get("after_output_contains", []), f"{at}.after_output_contains"),
            output=_string(item.get("output", ""), f"{at}.output"),
            function_calls=tuple(_parse_call(c, f"{at}.function_calls[{j}]") for j, c in enumerate(calls)),
            patches=tuple(_parse_patch(p, f"{at}.patches[{j}]") for j, p in enumerate(patches)),
            reasoning=_parse_reasoning(item.get("reasoning"), f"{at}.reasoning"),
        ))
    return tuple(turns)


def _parse_oracle(raw: Any, where: str) -> tuple[OracleEdit, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}.oracle must be a list of {{before, after}} objects")
    edits = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"before", "after"}:
            raise ScenarioError(f"{where}.oracle[{i}] must be an object with exactly 'before' and 'after'")
        edits.append(OracleEdit(_string(item["before"], f"{where}.oracle[{i}].before"),
                                _string(item["after"], f"{where}.oracle[{i}].after")))
    return tuple(edits)


def parse_scenario(raw: Any, index: int) -> Scenario:
    where = f"scenarios[{index}]"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where} must be an object")
    endpoint = raw.get("endpoint", "any")
    if endpoint not in ENDPOINTS:
        raise ScenarioError(f"{where}.endpoint must be one of {ENDPOINTS}, got {endpoint!r}")
    contains = raw.get("input_contains", [])
    if isinstance(contains, str):
        contains = [contains]  # a lone string is an easy mistake; accept it
    if not isinstance(contains, list) or not all(isinstance(s, str) for s in contains):
        raise ScenarioError(f"{where}.input_contains must be a list of strings")
    patches = raw.get("patches", [])
    if not isinstance(patches, list):
        raise ScenarioError(f"{where}.patches must be a list")
    model = raw.get("model")
    chat_output = raw.get("chat_output")
    style = raw.get("sse_style", "openai")
    if style not in SSE_STYLES:
        raise ScenarioError(f"{where}.sse_style must be one of {SSE_STYLES}, got {style!r}")
    return Scenario(
        name=str(raw.get("name") or f"scenario-{index}"),
        endpoint=endpoint,
        model=None if model is None else _string(model, f"{where}.model"),
        input_contains=tuple(contains),
        output=_string(raw.get("output", ""), f"{where}.output"),
        chat_output=None if chat_output is None else _string(chat_output, f"{where}.chat_output"),
        rewrite_insert=None if raw.get("rewrite_insert") is None
        else _string(raw["rewrite_insert"], f"{where}.rewrite_insert"),
        oracle=_parse_oracle(raw.get("oracle"), where),
        patches=tuple(_parse_patch(p, f"{where}.patches[{i}]") for i, p in enumerate(patches)),
        turns=_parse_turns(raw.get("turns"), where),
        fault=_parse_fault(raw.get("fault"), where),
        ttft_ms=_number(raw.get("ttft_ms"), f"{where}.ttft_ms", allow_none=True),
        tokens_per_s=_number(raw.get("tokens_per_s"), f"{where}.tokens_per_s", allow_none=True),
        sse_style=style,
    )


def parse_document(doc: Any) -> tuple[list[Scenario], dict[str, dict[str, float]]]:
    """A scenario document (file contents or /_scenarios body) -> (scenarios, model timing)."""
    if isinstance(doc, list):
        doc = {"scenarios": doc}  # a bare list of scenarios is accepted too
    if not isinstance(doc, dict):
        raise ScenarioError("a scenario document must be a JSON object")
    raw_scenarios = doc.get("scenarios", [])
    if not isinstance(raw_scenarios, list):
        raise ScenarioError("'scenarios' must be a list")
    scenarios = [parse_scenario(s, i) for i, s in enumerate(raw_scenarios)]
    return scenarios, parse_timing_overrides(doc.get("models"))


def load_file(path: str | Path) -> tuple[list[Scenario], dict[str, dict[str, float]]]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"scenario file {path} is not valid JSON: {exc}") from exc
    try:
        return parse_document(doc)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from exc


def _collect_text(value: Any, out: list[str]) -> None:
    """Append every piece of text in a Responses input / chat message structure."""
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, out)
    elif isinstance(value, dict):
        # Message content, input_text/text parts, and tool-call outputs all carry the text
        # the model would read; ids, roles and types do not.
        for key in ("content", "text", "output", "arguments", "input", "tool_calls", "function"):
            if key in value:
                _collect_text(value[key], out)


_CALL_ITEMS = ("function_call", "apply_patch_call", "custom_tool_call", "local_shell_call", "shell_call")
_RESULT_ITEMS = tuple(f"{t}_output" for t in _CALL_ITEMS)


def tool_results(endpoint: str, body: dict[str, Any]) -> ToolResults:
    """The tool results in a request. The latest are, on Chat Completions, the ``tool``
    messages after the last assistant message; on Responses, the result items after the
    start of the last run of calls (a call that follows a result starts a new turn, so a
    turn's calls are expected before their results, as the model made them)."""
    if endpoint != "responses":
        messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
        results = [m for m in messages if m.get("role") == "tool"]
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=-1)
        latest = [m for m in messages[last + 1:] if m.get("role") == "tool"]
        return ToolResults(len(results), tuple(_text_of(m.get("content")) for m in latest))
    items = body.get("input")
    items = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    results = [i for i in items if i.get("type") in _RESULT_ITEMS]
    start, after_result = 0, False
    for k, item in enumerate(items):
        kind = item.get("type")
        if kind in _RESULT_ITEMS:
            after_result = True
        elif kind in _CALL_ITEMS and after_result:
            start, after_result = k, False
    latest = [i for i in items[start:] if i.get("type") in _RESULT_ITEMS]
    return ToolResults(len(results), tuple(_text_of(i.get("output")) for i in latest))


def reasoning_items(endpoint: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``reasoning`` items of a Responses request's input, as sent (none on Chat)."""
    items = body.get("input") if endpoint == "responses" else None
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and i.get("type") == "reasoning"]


def _text_of(value: Any) -> str:
    parts: list[str] = []
    _collect_text(value, parts)
    return "\n".join(parts)


def flatten_prompt(endpoint: str, body: dict[str, Any]) -> str:
    """The text the model reads: instructions plus every input/message text, joined by newlines."""
    parts: list[str] = []
    if endpoint == "responses":
        _collect_text(body.get("instructions"), parts)
        _collect_text(body.get("input"), parts)
    else:
        _collect_text(body.get("messages"), parts)
    return "\n".join(p for p in parts if p)


class ScenarioStore:
    """File scenarios, runtime scenarios (matched first) and the timing table."""

    def __init__(
        self,
        *,
        fast_model: str = DEFAULT_FAST_MODEL,
        fast: Timing = Timing(20, 1000),
        deep: Timing = Timing(300, 70),
    ) -> None:
        self.fast_model = fast_model
        self.fast = fast
        self.deep = deep
        self.file_scenarios: list[Scenario] = []
        self.file_models: dict[str, dict[str, float]] = {}
        self.runtime_scenarios: list[Scenario] = []
        self.runtime_models: dict[str, dict[str, float]] = {}
        self.denied: dict[str, int] = {}
        """Models refused from the start (``--deny-model``): model -> 404 or 403."""
        self.runtime_denied: dict[str, int] = {}
        """Models refused by ``POST /_models`` (dropped by ``/_reset`` with scenarios)."""

    def load_file(self, path: str | Path) -> None:
        scenarios, models = load_file(path)
        self.file_scenarios.extend(scenarios)
        for name, spec in models.items():
            self.file_models.setdefault(name, {}).update(spec)

    def load_runtime(self, doc: Any, *, replace: bool) -> int:
        """Load scenarios at runtime; the newest batch is matched before older ones."""
        scenarios, models = parse_document(doc)
        if replace:
            self.runtime_scenarios = scenarios
            self.runtime_models = models
        else:
            self.runtime_scenarios = scenarios + self.runtime_scenarios
            for name, spec in models.items():
                self.runtime_models.setdefault(name, {}).update(spec)
        return len(scenarios)

    def clear_runtime(self) -> None:
        self.runtime_scenarios = []
        self.runtime_models = {}
        self.runtime_denied = {}

    def refusal(self, model: str) -> int | None:
        """How a request for ``model`` is refused, as OpenAI refuses a key without access to
        it: 404 (``model_not_found`` for lookups and requests alike) or 403 (listed and
        looked up, but every request refused); None: served."""
        return self.runtime_denied.get(model, self.denied.get(model))

    def reset_hits(self) -> None:
        for s in self.file_scenarios + self.runtime_scenarios:
            s.hits = 0

    def match(self, endpoint: str, model: str, prompt: str) -> Scenario:
        for s in self.runtime_scenarios + self.file_scenarios:
            if s.matches(endpoint, model, prompt):
                return s
        return DEFAULT_SCENARIO

    def is_fast(self, model: str) -> bool:
        return "spark" in model or model == self.fast_model

    def timing(self, model: str, scenario: Scenario) -> Timing:
        """Scenario override, then runtime model timing, then file, then the fast/deep default."""
        base = self.fast if self.is_fast(model) else self.deep
        ttft, tps = base.ttft_ms, base.tokens_per_s
        for table in (self.file_models, self.runtime_models):
            spec = table.get(model, {})
            ttft = spec.get("ttft_ms", ttft)
            tps = spec.get("tokens_per_s", tps)
        if scenario.ttft_ms is not None:
            ttft = scenario.ttft_ms
        if scenario.tokens_per_s is not None:
            tps = scenario.tokens_per_s
        return Timing(ttft, tps)

    def model_names(self) -> list[str]:
        names = [DEFAULT_FAST_MODEL, DEFAULT_DEEP_MODEL, self.fast_model]
        names += list(self.file_models) + list(self.runtime_models)
        names += [s.model for s in self.file_scenarios + self.runtime_scenarios if s.model]
        # a key sees only the models it may use; a 403 one is listed, as OpenAI lists it
        return [n for n in dict.fromkeys(names) if self.refusal(n) != 404]
