"""A typing session leaves the server's stderr quiet: no warning for cancelling requests that
already answered (an editor does that on most keystrokes), and expected refusals as one line
each, never a traceback.

The server is the real ``sparkforge lsp`` process started by pytest-lsp; a two-line wrapper
points its stderr at a file first (``os.dup2``, then ``exec``: the same process, only its
stderr goes elsewhere), which the test reads once the server has exited.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import Doc, Pending, inline_params, lsp_settings, raw_request
from samples import CART, FAST

STDERR_TO_FILE = (
    "import os, sys\n"
    "os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'sparkforge', 'lsp'])\n"
)
KEYSTROKES = 500
TYPED = "def price_of(item):\n    return item.price * item.quantity\n\n\n"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (WARNING|ERROR|CRITICAL|INFO|DEBUG) \S+: ")


async def test_a_typing_replay_and_its_refusals_log_no_cancellation_and_no_traceback(
    tmp_path: Path, workspace: Path, model_server
):
    stderr = tmp_path / "server-stderr.txt"
    config = ClientServerConfig(server_command=[sys.executable, "-c", STDERR_TO_FILE, str(stderr)])
    client: LanguageClient = await config.start()  # type: ignore[assignment]
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="project")],
            initialization_options=lsp_settings(model_server.base_url),
        ))
        model_server.reset(scenarios=True)
        model_server.load([{"name": "any", "model": FAST, "output": "<|editable_region_start|>\nx\n<|editable_region_end|>"}])
        doc = Doc(client, workspace / "cart.py", CART)
        cursor = types.Position(line=8, character=0)
        previous: Pending | None = None
        finished_then_cancelled = 0
        for k in range(KEYSTROKES):
            cursor = doc.type(cursor, TYPED[k % len(TYPED)])
            if previous is not None:
                # As an editor does: the request for the last keystroke is cancelled, whether
                # or not its answer is already on the way.
                previous.cancel()
            previous = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION,
                               inline_params(doc.uri, cursor.line, cursor.character, invoked=False))
            if k % 2:  # every other keystroke waits for the answer: its cancel comes too late
                await previous.settled()
                finished_then_cancelled += 1
        previous.cancel()
        await previous.settled()
        assert finished_then_cancelled == KEYSTROKES // 2
        assert model_server.stats()["requests_total"] > 0  # predictions really ran

        # Expected refusals, each answered and logged as one line.
        refusals = [
            (types.TEXT_DOCUMENT_INLINE_COMPLETION, {"textDocument": {"uri": doc.uri}, "position": {"line": -1, "character": 0},
                                                     "context": {"triggerKind": 1}}),
            ("sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": -1, "character": 0}}),
            (types.CODE_ACTION_RESOLVE, {"title": "Document", "data": {"kind": "document", "uri": doc.uri, "version": "3",
                                         "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}}}),
            ("sparkforge/chatApply", {"uri": (workspace / "nope.py").as_uri(), "code": "x = 1\n"}),
        ]
        for method, params in refusals:
            with pytest.raises(JsonRpcException):
                await raw_request(client, method, params)
        client.protocol._send_data({"jsonrpc": "2.0", "method": "sparkforge/didShow", "params": {"id": 5}})
        await client.shutdown_session()
    finally:
        await client.stop()

    lines = stderr.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if "Cancel notification" in line or "unknown message id" in line] == []
    assert [line for line in lines if "Traceback" in line] == []
    # every line is one log record (a traceback would add lines that are not), none an error
    assert [line for line in lines if not LOG_LINE.match(line)] == [], "\n".join(lines)
    assert [line for line in lines if " ERROR " in line] == [], "\n".join(lines)
    # the malformed notification, the one refusal nobody else hears of, is there: one warning
    assert [line for line in lines if "sparkforge/didShow: id must be a string, not 5" in line] != []
