"""Code actions: Refactor…, Generate tests, Document, Fix, Explain (the deep path).

``textDocument/codeAction`` lists them at once, with no model call (``listing``);
``codeAction/resolve`` runs the routed model under cancellable work-done progress and returns
the edit (``resolving``), built by ``features.workspace_edit`` for what the client supports.
Clients that cannot resolve ``edit`` run the same flow through the ``sparkforge.runAction``
command, which applies the edit with ``workspace/applyEdit``. The flow itself lives in
``sparkforge.deep`` (no LSP), shared with ``sparkforge act``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import get_capability

from sparkforge.edits import SourceText
from sparkforge.features.actions.listing import ADVERTISED_KINDS, KINDS, RUN_ACTION, list_actions

if TYPE_CHECKING:
    from sparkforge.deep.flow import Workspace
    from sparkforge.server import SparkforgeServer


class ActionsFeature:
    """State the code-action handlers share: path mapping and client capabilities."""

    def __init__(self, server: "SparkforgeServer") -> None:
        self.server = server

    # -- client capabilities -------------------------------------------------------------
    def resolves_edits(self) -> bool:
        caps = self.server.client_capabilities
        return "edit" in get_capability(caps, "text_document.code_action.resolve_support.properties", [])

    def supports_progress(self) -> bool:
        return bool(get_capability(self.server.client_capabilities, "window.work_done_progress", False))

    # -- paths ---------------------------------------------------------------------------
    def root_for(self, path: Path) -> Path:
        """The workspace root, or the file's folder when it lies outside any workspace."""
        root = self.server.root
        resolved = path.resolve()
        if root is not None and resolved.is_relative_to(root):
            return root
        return resolved.parent

    def locate(self, uri: str) -> tuple[Path, str] | None:
        """(root, workspace-relative posix path) of ``uri``; cached, as listing runs on every move."""
        state = self.server.cache_for(uri)
        cached = state.located
        if cached is not None and cached[0] == self.server.root:
            return cached[1]
        path = self.server.path_of(uri)
        found = None
        if path is not None:
            root = self.root_for(path)
            found = (root, path.resolve().relative_to(root).as_posix())
        state.located = (self.server.root, found)
        return found

    def relative(self, uri: str) -> str | None:
        found = self.locate(uri)
        return found[1] if found else None

    def workspace(self, root: Path) -> tuple["Workspace", dict[str, str]]:
        """A Workspace holding every open document under ``root`` as it is now, and rel -> uri."""
        from sparkforge.deep.flow import Workspace

        ls = self.server
        snapshots: dict[str, SourceText] = {}
        uris: dict[str, str] = {}
        for uri, doc in list(ls.workspace.text_documents.items()):
            found = self.locate(uri)
            if found is None or found[0] != root:
                continue
            snapshots[found[1]] = SourceText(doc.source, doc.version)
            uris[found[1]] = uri
        return Workspace(root, snapshots, lambda rel: ls.exclusions.reason(root / rel)), uris

    # -- actions -------------------------------------------------------------------------
    def action(
        self, title: str, kind: str, data: dict[str, Any], diagnostics: list[types.Diagnostic] | None = None
    ) -> types.CodeAction:
        action = types.CodeAction(title=title, kind=KINDS[kind], diagnostics=diagnostics, data=data)
        if not self.resolves_edits():
            action.command = types.Command(title=title, command=RUN_ACTION, arguments=[data])
        return action


def setup(server: "SparkforgeServer") -> None:
    from sparkforge.features.actions import resolving

    feature = ActionsFeature(server)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=ADVERTISED_KINDS, resolve_provider=True),
    )
    def code_action(ls: "SparkforgeServer", params: types.CodeActionParams) -> list[types.CodeAction]:
        return list_actions(feature, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: "SparkforgeServer", params: types.CodeAction) -> types.CodeAction:
        return await resolving.resolve(feature, params)

    @server.command(RUN_ACTION)
    async def run_action(ls, *args):  # no annotations: pygls would structure the arguments
        return await resolving.run_command(feature, args)
