"""Reading custom methods' params: pygls hands them over as plain JSON (dicts), or as
objects (namedtuples) when a client sends typed values; one accessor serves both, and
``Params`` checks each field as it is read: a missing or mistyped field is an InvalidParams
error that names the method, the field, what came and what was expected."""

from __future__ import annotations

import json
from typing import Any

from lsprotocol import types

from sparkforge.errors import InvalidParams

_MISSING = object()
UINTEGER_MAX = 2**31 - 1  # LSP's uinteger: lines and characters


def get(obj: Any, *path: str, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...`` for dicts or attributes; ``default`` where a step is missing."""
    for name in path:
        if obj is None:
            return default
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if obj is None else obj


def is_object(value: Any) -> bool:
    """A JSON object, as pygls hands it over (a dict, or a namedtuple for custom methods)."""
    return isinstance(value, dict) or (isinstance(value, tuple) and hasattr(value, "_fields"))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plain(value: Any) -> Any:
    """JSON-like data from pygls's namedtuples (for messages and for storing)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def shown(value: Any, limit: int = 60) -> str:
    """``value`` as JSON, cut short: how an error message quotes what the client sent."""
    try:
        text = json.dumps(plain(value), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Params:
    """The params of one request or notification, read field by field.

    ``shape`` is the method's params as docs/protocol.md writes them; every error ends with it.
    """

    def __init__(self, method: str, params: Any, shape: str, where: str = "") -> None:
        self.method = method
        self.shape = shape
        self.where = where  # how fields are named: "" for the params, "history[2]." in a list
        if params is None and not where:
            params = {}
        if not is_object(params):
            raise self.error(f"{where.rstrip('.') or 'params'} must be an object, not {shown(params)}")
        self.params = params

    def entry(self, value: Any, where: str) -> "Params":
        """A reader for an object inside the params (a list's entry), named ``where``."""
        return Params(self.method, value, self.shape, f"{where}.")

    def error(self, problem: str) -> InvalidParams:
        return InvalidParams(f"{self.method}: {problem}; expected {self.shape}")

    def _value(self, path: tuple[str, ...]) -> Any:
        obj = self.params
        for i, name in enumerate(path):
            if obj is None:
                return _MISSING
            if not is_object(obj):
                raise self.error(f"{self.where}{'.'.join(path[:i])} must be an object, not {shown(obj)}")
            obj = obj.get(name, _MISSING) if isinstance(obj, dict) else getattr(obj, name, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj

    def _read(self, path: tuple[str, ...], ok: Any, expected: str, required: bool) -> Any:
        value = self._value(path)
        name = self.where + ".".join(path)
        if value is _MISSING or value is None:
            if required:
                raise self.error(f"{name} is missing")
            return None
        if not ok(value):
            raise self.error(f"{name} must be {expected}, not {shown(value)}")
        return value

    def str(self, *path: str, required: bool = True) -> Any:
        return self._read(path, lambda v: isinstance(v, str), "a string", required)

    def int(self, *path: str, required: bool = True, minimum: int | None = None) -> Any:
        expected = "an integer" if minimum is None else f"an integer from {minimum} to {UINTEGER_MAX}"
        return self._read(
            path, lambda v: is_int(v) and (minimum is None or minimum <= v <= UINTEGER_MAX), expected, required
        )

    def number(self, *path: str, required: bool = True) -> Any:
        """A positive JSON number (an integer or not)."""
        return self._read(
            path, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0,
            "a positive number", required,
        )

    def bool(self, *path: str, required: bool = True) -> Any:
        return self._read(path, lambda v: isinstance(v, bool), "true or false", required)

    def one_of(self, *path: str, choices: tuple[str, ...], default: str | None = None) -> Any:
        expected = " or ".join(repr(c) for c in choices)
        value = self._read(path, lambda v: v in choices, expected, default is None)
        return default if value is None else value

    def object(self, *path: str, required: bool = True) -> Any:
        return self._read(path, is_object, "an object", required)

    def list(self, *path: str, required: bool = True) -> Any:
        return self._read(path, lambda v: isinstance(v, list), "a list", required)

    def token(self, *path: str) -> Any:
        """An optional progress token: an integer or a string."""
        return self._read(path, lambda v: is_int(v) or isinstance(v, str), "an integer or a string", False)

    def position(self, *path: str, required: bool = True) -> types.Position | None:
        """A position {line, character} of non-negative integers (whether it exists in the
        document is for the caller to check, in the negotiated encoding)."""
        value = self.object(*path, required=required)
        if value is None:
            return None
        line, character = get(value, "line"), get(value, "character")
        if not all(is_int(v) and 0 <= v <= UINTEGER_MAX for v in (line, character)):
            raise self.error(
                f"{self.where}{'.'.join(path)} must be a position {{line, character}} of "
                f"non-negative integers, not {shown(value)}"
            )
        return types.Position(line=line, character=character)

    def range(self, *path: str, required: bool = True) -> types.Range | None:
        """A range {start, end} whose end is not before its start."""
        if self.object(*path, required=required) is None:
            return None
        start = self.position(*path, "start")
        end = self.position(*path, "end")
        assert start is not None and end is not None
        if (end.line, end.character) < (start.line, start.character):
            raise self.error(
                f"{self.where}{'.'.join(path)} ends before it starts ({start.line}:{start.character} "
                f"to {end.line}:{end.character})"
            )
        return types.Range(start=start, end=end)
