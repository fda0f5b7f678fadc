"""End-to-end fixtures: ``sparkforge lsp`` as a process, driven by pytest-lsp, talking over
real HTTP to the session's ``sparkforge model-server`` process."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import lsp_settings, plain

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]



@pytest.fixture
def settings(model_server) -> dict[str, Any]:
    return lsp_settings(model_server.base_url)


def record(lsp_client: LanguageClient) -> None:
    """Keep what the server sends: ``status_updates`` (sparkforge/status), ``applied``
    (workspace/applyEdit, answered as applied) and ``chat_deltas`` (sparkforge/chatDelta)."""
    lsp_client.status_updates = []  # type: ignore[attr-defined]
    lsp_client.applied = []  # type: ignore[attr-defined]
    lsp_client.chat_deltas = []  # type: ignore[attr-defined]

    @lsp_client.feature("sparkforge/status")
    def on_status(params: Any) -> None:
        lsp_client.status_updates.append(plain(params))  # type: ignore[attr-defined]

    @lsp_client.feature("sparkforge/chatDelta")
    def on_delta(params: Any) -> None:
        lsp_client.chat_deltas.append(plain(params))  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        lsp_client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)


async def start_session(lsp_client: LanguageClient, root: Path, settings: dict[str, Any]) -> None:
    lsp_client.init_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
            initialization_options=settings,
        )
    )


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, model_server, workspace: Path, settings):
    model_server.reset(scenarios=True)
    record(lsp_client)
    await start_session(lsp_client, workspace, settings)
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


# -- one server for a whole module ------------------------------------------------------------
# Starting ``sparkforge lsp`` costs 2-3.5 s. A module whose tests need no fresh server (no
# settings changed, no model paused) opts in with
#
#     pytestmark = pytest.mark.asyncio(loop_scope="module")
#
#     @pytest.fixture
#     def client(shared_client): return shared_client
#
#     @pytest.fixture
#     def workspace(module_workspace): return module_workspace
#
# Each test still starts clean where it matters: the model server is reset, the client's
# recorders are emptied, and the documents the test opened are closed when it ends.


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shared") / "project"
    root.mkdir()
    return root


@pytest_lsp.fixture(scope="module", config=ClientServerConfig(server_command=SERVER))
async def module_lsp(lsp_client: LanguageClient, model_server, module_workspace: Path):
    record(lsp_client)
    lsp_client.opened_docs = []  # type: ignore[attr-defined]
    await start_session(lsp_client, module_workspace, lsp_settings(model_server.base_url))
    yield
    await lsp_client.shutdown_session()


@pytest_asyncio.fixture(loop_scope="module")
async def shared_client(module_lsp: LanguageClient, model_server):
    """The module's client, with this test's slate clean (see above)."""
    client = module_lsp
    model_server.reset(scenarios=True)
    for recorded in (client.status_updates, client.applied, client.chat_deltas,  # type: ignore[attr-defined]
                     client.messages):
        recorded.clear()
    client.progress_reports.clear()
    yield client
    for doc in client.opened_docs:  # type: ignore[attr-defined]
        doc.close()
    client.opened_docs.clear()  # type: ignore[attr-defined]
