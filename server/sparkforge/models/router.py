"""Which model serves which request.

Code actions default to the deep model; ``sparkforge.actions.routing`` moves an action to the
fast one (e.g. ``{"document": "fast"}``). When a model fails, its error message points at the
other role, so the user has a way out that does not wait for the outage to end.
"""

from __future__ import annotations

from sparkforge.config import ACTION_KINDS, Role, Settings

ACTION_DEFAULT_ROLE: Role = "deep"


class Router:
    """Decides the role for a request from the current settings (cheap: build one per request)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def role_for(self, action_kind: str) -> Role:
        """The role that runs ``action_kind`` (one of config.ACTION_KINDS)."""
        if action_kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {action_kind!r}: expected one of {', '.join(ACTION_KINDS)}")
        return self.settings.actions.routing.get(action_kind, ACTION_DEFAULT_ROLE)

    @staticmethod
    def other(role: Role) -> Role:
        return "fast" if role == "deep" else "deep"

    def model(self, role: Role) -> str:
        """The model name a role uses, for progress titles and messages."""
        return self.settings.role(role).model
