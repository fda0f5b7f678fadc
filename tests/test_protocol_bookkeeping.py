"""The protocol forgets each message once it is handled.

pygls keeps a future per message it is handling, to cancel it by id. For a notification
handled by a generator (its builtin didOpen and didChange are, and hand over to ours), it makes
up an id and never lets go of the future: one per keystroke, for as long as the editor is
open. Here the real server's protocol (``create_server()``) is fed an editing session's
messages, as its reader hands them over, and must be left holding none of them.
"""

from __future__ import annotations

import asyncio
import json

from sparkforge.app import create_server


class _Sink:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    def write(self, data: bytes) -> None:
        body = data.split(b"\r\n\r\n", 1)[1]
        self.messages.append(json.loads(body))

    def flush(self) -> None:
        pass


def test_no_message_is_kept_once_handled(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # no model: ghost text answers None at once

    async def session() -> tuple[int, list[dict]]:
        server = create_server()
        protocol = server.protocol
        sink = _Sink()
        protocol.set_writer(sink)

        def send(message: dict) -> None:
            protocol.handle_message(json.loads(json.dumps(message), object_hook=protocol.structure_message))

        send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {"capabilities": {}, "rootUri": None}})
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        uri = "file:///project/cart.py"
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
              "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}})
        for version in range(2, 202):
            at = {"line": 0, "character": 3 + version}
            send({"jsonrpc": "2.0", "method": "textDocument/didChange",
                  "params": {"textDocument": {"uri": uri, "version": version},
                             "contentChanges": [{"range": {"start": at, "end": at}, "text": "1"}]}})
            send({"jsonrpc": "2.0", "id": f"inline-{version}", "method": "textDocument/inlineCompletion",
                  "params": {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 4 + version},
                             "context": {"triggerKind": 2}}})
            if version % 2:
                send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": f"inline-{version}"}})
        answered = lambda: {m.get("id") for m in sink.messages if "id" in m and "method" not in m}
        while len(answered()) < 201:  # initialize and the 200 inline requests
            await asyncio.sleep(0)
        return len(protocol._request_futures), sink.messages

    kept, messages = asyncio.run(session())
    assert kept == 0
    # each cancel came before its request had started: answered RequestCancelled
    errors = {m["id"]: m["error"]["code"] for m in messages if "error" in m}
    assert errors == {f"inline-{v}": -32800 for v in range(3, 202, 2)}
