"""LSP features: one module per feature, each with ``setup(server)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer


def setup_all(server: "SparkforgeServer") -> None:
    from sparkforge.features import lifecycle

    lifecycle.setup(server)
    for name in ("inline", "next_edit", "actions", "chat"):
        try:
            module = __import__(f"sparkforge.features.{name}", fromlist=["setup"])
        except ModuleNotFoundError as exc:
            if exc.name != f"sparkforge.features.{name}":
                raise
            continue
        module.setup(server)
