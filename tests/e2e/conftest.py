"""End-to-end fixtures: ``sparkforge lsp`` as a process, driven by pytest-lsp, talking over
real HTTP to the session's ``sparkforge model-server`` process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import lsp_settings, plain

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]




@pytest.fixture
def settings(model_server) -> dict[str, Any]:
    return lsp_settings(model_server.base_url)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, model_server, workspace: Path, settings):
    model_server.reset(scenarios=True)
    lsp_client.status_updates = []  # type: ignore[attr-defined]
    lsp_client.applied = []  # type: ignore[attr-defined]

    @lsp_client.feature("sparkforge/status")
    def on_status(params: Any) -> None:
        lsp_client.status_updates.append(plain(params))  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        lsp_client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)

    lsp_client.init_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=settings,
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def plain_client(lsp_client: LanguageClient, model_server, workspace: Path, settings):
    """A client without resolve support: actions run as sparkforge.runAction, and the edits it
    receives through workspace/applyEdit are recorded in ``applied``."""
    model_server.reset(scenarios=True)
    lsp_client.applied = []  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        lsp_client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)

    capabilities = client_capabilities("visual-studio-code")
    capabilities.text_document.code_action.resolve_support = None
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=settings,
        )
    )
    yield
    await lsp_client.shutdown_session()
