"""A new language server with every feature wired to it (what ``sparkforge lsp`` runs)."""

from __future__ import annotations

from sparkforge.features import actions, agent, chat, inline, lifecycle, next_edit, suggestions
from sparkforge.server import SparkforgeServer


def create_server() -> SparkforgeServer:
    server = SparkforgeServer()
    lifecycle.setup(server)
    shared = suggestions.setup(server)  # what ghost text and next edits share
    inline.setup(server, shared)
    next_edit.setup(server, shared)
    actions.setup(server)
    chat.setup(server)
    agent.setup(server)
    return server
