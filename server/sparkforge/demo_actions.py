"""The demo's code-action part: list the lightbulb's actions, then resolve two of them."""

from __future__ import annotations

from typing import Any, Callable


async def demo_actions(session: Any, base_url: str, say: Callable[[str], None]) -> list[str]:
    say()
    say("4. code actions: not offered by this server yet")
    return []
