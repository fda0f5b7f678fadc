"""Initialization, settings, document lifecycle hooks, status and shutdown."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from sparkforge.documents import LinesWorkspace
from sparkforge.features.params import Params

if TYPE_CHECKING:
    from sparkforge.server import SparkforgeServer

GET_STATUS = "sparkforge/getStatus"


def setup(server: "SparkforgeServer") -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: "SparkforgeServer", params: types.InitializeParams) -> None:
        root = None
        if params.workspace_folders:
            root = to_fs_path(params.workspace_folders[0].uri)
        elif params.root_uri:
            root = to_fs_path(params.root_uri)
        elif params.root_path:
            root = params.root_path
        ls.root = Path(root).resolve() if root else None
        # Documents kept as lines, changed in place: see documents.LinesDocument.
        ls.protocol._workspace = LinesWorkspace.like(ls.workspace)
        ls.gateway.cache_scope = str(ls.root or "")  # one prompt_cache_key per workspace and role
        ls.negotiated(params.capabilities)
        ls.apply_settings(params.initialization_options)
        # Load the tokenizer now (about 0.3 s, before the editor opens documents), not on the
        # first keystroke; loading it while documents arrive would also leave its freed
        # loading buffers scattered between theirs, and the process about 8 MB larger.
        from sparkforge.models.tokens import encoding

        encoding()

    @server.feature(types.INITIALIZED)
    def initialized(ls: "SparkforgeServer", params: types.InitializedParams) -> None:
        # Settings the client keeps (VS Code's, eglot's workspace configuration) are pulled
        # on top of initializationOptions; a client that cannot answer keeps those.
        if ls.supports_configuration():
            ls.spawn(ls.pull_settings(), name="pull settings")
        s = ls.settings
        ls.log(
            f"sparkforge {ls.version}: fast = {s.fast.model} at {s.fast.base_url} ({s.fast.api}), "
            f"deep = {s.deep.model} at {s.deep.base_url} ({s.deep.api})"
        )
        for role in ("fast", "deep"):
            if (err := ls.gateway.status()[role]["lastError"]) is not None:
                ls.show(err, types.MessageType.Warning)
        ls.send_status()
        # Load the tokenizer now (about 0.3 s) rather than on the first keystroke's prompt.
        # Move everything loaded so far (SDK and LSP types, the tokenizer) out of the garbage
        # collector's sight: full collections then take a fraction of the time.
        gc.collect()
        gc.freeze()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(
        ls: "SparkforgeServer", params: types.DidChangeConfigurationParams
    ) -> None:
        # Merged, never a reset: eglot sends {settings: {}} right after initialized.
        ls.layers.push(params.settings)
        ls.recompute_settings()
        if ls.supports_configuration():
            ls.spawn(_pull_then_status(ls), name="pull settings")
        else:
            ls.send_status()

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(
        ls: "SparkforgeServer", params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        ls.spawn(_pull_then_status(ls), name="pull settings")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: "SparkforgeServer", params: types.DidOpenTextDocumentParams) -> None:
        ls.opened(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: "SparkforgeServer", params: types.DidChangeTextDocumentParams) -> None:
        ls.changed(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: "SparkforgeServer", params: types.DidCloseTextDocumentParams) -> None:
        ls.closed(params.text_document.uri)

    @server.feature(GET_STATUS)
    def get_status(ls: "SparkforgeServer", params: Any) -> dict[str, Any]:
        Params(GET_STATUS, params, "no params, or {}")
        return ls.status_payload()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: "SparkforgeServer", params: Any) -> None:
        await ls.cancel_all()
        await ls.gateway.aclose()


async def _pull_then_status(ls: "SparkforgeServer") -> None:
    await ls.pull_settings()
    ls.send_status()
