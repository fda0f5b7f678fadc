"""Reading custom methods' params: pygls hands them over as plain JSON (dicts), or as
objects when a client sends typed values; one accessor serves both."""

from __future__ import annotations

from typing import Any


def get(obj: Any, *path: str, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...`` for dicts or attributes; ``default`` where a step is missing."""
    for name in path:
        if obj is None:
            return default
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return default if obj is None else obj
