"""End-to-end fixtures: ``sparkforge lsp`` as a process, driven by pytest-lsp, talking over
real HTTP to the session's ``sparkforge model-server`` process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]


def lsp_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings pointing both roles at the local model server, fast enough for tests."""
    settings: dict[str, Any] = {
        "fast": {"baseUrl": base_url, "model": "gpt-5.3-codex-spark", "maxRetries": 0},
        "deep": {"baseUrl": base_url, "model": "gpt-5.3-codex", "maxRetries": 0},
        "inline": {"debounceMs": 0},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def settings(model_server) -> dict[str, Any]:
    return lsp_settings(model_server.base_url)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, model_server, workspace: Path, settings):
    model_server.reset(scenarios=True)
    lsp_client.status_updates = []  # type: ignore[attr-defined]

    @lsp_client.feature("sparkforge/status")
    def on_status(params: Any) -> None:
        lsp_client.status_updates.append(params)  # type: ignore[attr-defined]

    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=settings,
        )
    )
    yield
    await lsp_client.shutdown_session()


class Doc:
    """An open document on the client side: keeps the text and version in step."""

    def __init__(self, client: LanguageClient, path: Path, text: str, language: str = "python"):
        self.client = client
        self.path = path
        self.uri = path.as_uri()
        self.text = text
        self.version = 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self.uri, language_id=language, version=1, text=text
                )
            )
        )

    def _offset(self, line: int, char: int) -> int:
        from sparkforge.textpos import LineIndex

        return LineIndex.of(self.text).offset(line, char)

    def position_after(self, needle: str) -> types.Position:
        from sparkforge.textpos import LineIndex

        offset = self.text.index(needle) + len(needle)
        line, char = LineIndex.of(self.text).position(offset)
        return types.Position(line=line, character=char)

    def edit(self, line: int, char: int, end_line: int, end_char: int, new_text: str) -> None:
        start = self._offset(line, char)
        end = self._offset(end_line, end_char)
        self.text = self.text[:start] + new_text + self.text[end:]
        self.version += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=char),
                            end=types.Position(line=end_line, character=end_char),
                        ),
                        text=new_text,
                    )
                ],
            )
        )

    def type(self, position: types.Position, text: str) -> types.Position:
        """Insert ``text`` at ``position`` as one change; the position after it."""
        from sparkforge.textpos import LineIndex

        self.edit(position.line, position.character, position.line, position.character, text)
        offset = self._offset(position.line, position.character) + len(text)
        line, char = LineIndex.of(self.text).position(offset)
        return types.Position(line=line, character=char)


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()
