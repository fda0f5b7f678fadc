"""Helpers for end-to-end tests: a client-side open document, and waiting for a condition."""

from __future__ import annotations

import asyncio
from typing import Any
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from sparkforge.textpos import LineIndex


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
        opened = getattr(client, "opened_docs", None)
        if opened is not None:  # a shared server closes what each test opened (e2e conftest)
            opened.append(self)

    def close(self) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=self.uri)))

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


async def wait_until(predicate, timeout: float = 30.0, interval: float = 0.01) -> bool:
    """Wait for ``predicate`` to hold. The timeout is no threshold under test, only a bound that
    keeps a broken server from hanging the run: it is long enough for a loaded machine."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return predicate()


def plain(obj):
    """JSON-like data from what pygls's client hands over for custom methods (namedtuples)."""
    if hasattr(obj, "_asdict"):
        return {k: plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


async def request(client: LanguageClient, method: str, params):
    return plain(await client.protocol.send_request_async(method, params))


async def raw_request(client: LanguageClient, method: str, params, timeout: float = 5.0):
    """Send a request exactly as given (even one the typed client would refuse to build)."""
    import uuid

    protocol = client.protocol
    msg_id = str(uuid.uuid4())
    future = asyncio.get_running_loop().create_future()
    protocol._request_futures[msg_id] = future
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(future, timeout)


class Pending:
    """A request the test can cancel the way an editor does: a ``$/cancelRequest``
    notification, after which the server answers with an error (or a result that was ready)."""

    def __init__(self, client: LanguageClient, method: str, params):
        import uuid

        self.client = client
        self.id = str(uuid.uuid4())
        self.future = asyncio.get_running_loop().create_future()
        protocol = client.protocol
        protocol._request_futures[self.id] = self.future
        if not isinstance(params, dict):
            params = protocol._converter.unstructure(params)
        protocol._send_data({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})

    def cancel(self) -> None:
        from lsprotocol import types

        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=self.id))

    async def result(self, timeout: float = 10.0):
        return plain(await asyncio.wait_for(self.future, timeout))

    async def settled(self, timeout: float = 10.0) -> None:
        """Wait for the server's answer to a cancelled request, whatever it is."""
        try:
            await asyncio.wait_for(self.future, timeout)
        except Exception:
            pass


def apply_edit(files: dict[str, str], versions: dict[str, int], edit: types.WorkspaceEdit) -> dict[str, str]:
    """Apply a WorkspaceEdit as an editor does: all or nothing, refusing stale versions;
    positions are UTF-16. ``files`` maps URIs to texts; returns the new map."""
    out = dict(files)
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            assert change.uri not in out, f"{change.uri} already exists"
            out[change.uri] = ""
        elif isinstance(change, types.DeleteFile):
            del out[change.uri]
        else:
            uri = change.text_document.uri
            if change.text_document.version is not None:
                assert change.text_document.version == versions[uri], "stale edit refused"
            text = out[uri]
            index = LineIndex.of(text)

            def offset(pos: types.Position) -> int:
                # a position past the last line is the end of the document, as editors clamp it
                if pos.line >= index.line_count:
                    return len(text)
                return index.offset(pos.line, pos.character)

            spans = sorted(((offset(e.range.start), offset(e.range.end), e.new_text) for e in change.edits),
                           reverse=True)
            for s, e, new in spans:
                text = text[:s] + new + text[e:]
            out[uri] = text
    return out

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


def inline_params(uri: str, line: int, character: int, invoked: bool = True) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        ),
    )


def code_action_params(doc: Doc, start: tuple[int, int], end: tuple[int, int] | None = None,
                       diagnostics: list[types.Diagnostic] | None = None,
                       only: list[str] | None = None) -> types.CodeActionParams:
    end = end or start
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=doc.uri),
        range=types.Range(start=types.Position(line=start[0], character=start[1]),
                          end=types.Position(line=end[0], character=end[1])),
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


async def list_actions(client: LanguageClient, doc: Doc, start, end=None, **kw) -> list[types.CodeAction]:
    """textDocument/codeAction, structured as CodeActions (lsprotocol's own hook would read any
    action that carries a command, like Explain, as a bare Command)."""
    protocol = client.protocol
    params = protocol._converter.unstructure(code_action_params(doc, start, end, **kw))
    raw = plain(await raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, params))
    return [protocol._converter.structure(a, types.CodeAction) for a in raw or []]


async def actions_at(client: LanguageClient, doc: Doc, start, end=None, **kw) -> dict[str, types.CodeAction]:
    return {a.data["kind"]: a for a in await list_actions(client, doc, start, end, **kw)}


async def fails(coro) -> JsonRpcException:
    """The error a request answers with (the test fails if it succeeds)."""
    with pytest.raises(JsonRpcException) as err:
        await coro
    return err.value


def message_of(exc: BaseException) -> str:
    return str(getattr(exc, "message", exc))


async def overtake_a_prediction(client: LanguageClient, model_server, doc: "Doc", pos: types.Position,
                                params) -> dict[str, Any]:
    """Ask for ghost text at ``pos`` (the test has loaded a slow answer for it), then type "u"
    while it streams: the newer request alone must close the stale stream, before the editor
    cancels anything. Both requests are then cancelled and settle, and no stream is left open.
    ``params(uri, pos)`` makes the inline-completion params. Returns the model server's stats."""
    first = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, params(doc.uri, pos))
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    pos = doc.type(pos, "u")
    second = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, params(doc.uri, pos))
    assert await wait_until(lambda: model_server.stats()["streams_abandoned"] >= 1)
    first.cancel()
    second.cancel()
    await first.settled()
    await second.settled()
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    return model_server.stats()
