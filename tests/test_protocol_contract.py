"""The VS Code client's method table (client-vscode/src/protocol.ts) and the server agree.

protocol.ts lists every custom method once: ``Method`` (name -> method), ``Requests`` (what the
client asks), ``ServerRequests`` (what the server asks the client), ``Notifications`` (both directions; the server's are marked ``// server ->
client``) and ``Command``. The server's side is what ``create_server()`` registers (its
handlers and commands) and what its code sends with ``protocol.notify``. A method one side
knows and the other does not fails here with its name, before an editor finds it as a request
that never answers or a notification that is dropped.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from sparkforge.app import create_server

ROOT = Path(__file__).resolve().parents[1]
PROTOCOL_TS = ROOT / "client-vscode" / "src" / "protocol.ts"
CLIENT_SRC = ROOT / "client-vscode" / "src"
SERVER_SRC = ROOT / "server" / "sparkforge"


def _block(source: str, opening: str) -> str:
    """The body of a top-level block: from ``opening``'s brace to the ``}`` that starts a line."""
    match = re.search(re.escape(opening) + r"[^{]*\{(.*?)^\}", source, re.S | re.M)
    assert match is not None, f"protocol.ts has no {opening!r}"
    return match.group(1)


def client_table() -> dict[str, object]:
    ts = PROTOCOL_TS.read_text(encoding="utf-8")
    methods = dict(re.findall(r"^\s*(\w+):\s*'([^']+)',", _block(ts, "export const Method ="), re.M))
    commands = re.findall(r"^\s*\w+:\s*'([^']+)',", _block(ts, "export const Command ="), re.M)
    requests = [methods[k] for k in re.findall(r"^\s*\[Method\.(\w+)\]:", _block(ts, "export interface Requests"), re.M)]
    to_server, to_client = [], []
    for key, rest in re.findall(r"^\s*\[Method\.(\w+)\]:([^\n]*)$", _block(ts, "export interface Notifications"), re.M):
        (to_client if "server -> client" in rest else to_server).append(methods[key])
    server_requests = [methods[k] for k in
                       re.findall(r"^\s*\[Method\.(\w+)\]:", _block(ts, "export interface ServerRequests"), re.M)]
    sources = [f.read_text(encoding="utf-8") for f in CLIENT_SRC.rglob("*.ts")]
    handled = {methods[k] for text in sources for k in re.findall(r"onNotification\(\s*Method\.(\w+)", text)}
    answered = {methods[k] for text in sources for k in re.findall(r"onRequest\(\s*Method\.(\w+)", text)}
    return {"methods": set(methods.values()), "requests": set(requests), "to_server": set(to_server),
            "to_client": set(to_client), "server_requests": set(server_requests), "commands": set(commands),
            "handled": handled, "answered": answered}


def server_sends(kind: str = "notify") -> set[str]:
    """The methods the server's code sends as notifications: the first argument of every
    ``….notify(METHOD, …)`` call, evaluated in its module (``kind="_ask"``: the requests the
    agent asks the client, ``…._ask(METHOD, …)``)."""
    sent: set[str] = set()
    for path in SERVER_SRC.rglob("*.py"):
        rel = path.relative_to(SERVER_SRC.parent).with_suffix("")
        if "modelserver" in rel.parts:
            continue  # the model server is not the language server
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == kind and n.args]
        if not calls:
            continue
        module = importlib.import_module(".".join(p for p in rel.parts if p != "__init__"))
        for call in calls:
            try:
                sent.add(eval(ast.unparse(call.args[0]), vars(module)))  # noqa: S307 - the project's own code
            except NameError:
                continue  # a local variable: another object's method of the same name
    return {m for m in sent if m.startswith("sparkforge/")}


@pytest.fixture(scope="module")
def server():
    return create_server()


def test_the_table_parses():
    table = client_table()
    # written by hand from protocol.ts, so a parser that reads nothing cannot pass
    assert table["requests"] == {"sparkforge/nextEdit", "sparkforge/getStatus", "sparkforge/chat", "sparkforge/chatApply",
                                 "sparkforge/agent", "sparkforge/agentKeep", "sparkforge/agentUndo"}
    assert table["to_client"] == {"sparkforge/status", "sparkforge/chatDelta", "sparkforge/agentStep"}
    assert table["server_requests"] == {"sparkforge/agentApprove"}


def test_every_method_the_client_sends_is_registered_by_the_server(server):
    table = client_table()
    registered = set(server.protocol.fm.features)
    missing = sorted((table["requests"] | table["to_server"]) - registered)
    assert missing == [], f"protocol.ts sends these, and the server registers no handler: {missing}"


def test_every_custom_method_the_server_handles_is_in_the_clients_table(server):
    table = client_table()
    custom = {m for m in server.protocol.fm.features if m.startswith("sparkforge/")}
    unknown = sorted(custom - (table["requests"] | table["to_server"]))
    assert unknown == [], f"the server handles these, and protocol.ts does not list them: {unknown}"


def test_every_notification_the_server_sends_is_one_the_client_handles():
    table = client_table()
    sent = server_sends()
    assert {"sparkforge/status", "sparkforge/chatDelta"} <= sent  # the scan finds what is there
    assert sorted(sent - table["to_client"]) == [], "the server sends these, and protocol.ts does not list them as server -> client"
    assert sorted(table["to_client"] - sent) == [], "protocol.ts expects these from the server, which never sends them"
    assert sorted(table["to_client"] - table["handled"]) == [], "the client registers no onNotification for these"


def test_every_command_the_server_runs_is_in_the_clients_table(server):
    table = client_table()
    missing = sorted(set(server.protocol.fm.commands) - table["commands"])
    assert missing == [], f"the server's results name these commands, and protocol.ts does not list them: {missing}"


def test_every_request_the_server_asks_the_client_is_one_the_client_answers():
    table = client_table()
    asked = server_sends("_ask")
    assert "sparkforge/agentApprove" in asked  # the scan finds what is there
    assert sorted(asked - table["server_requests"]) == [], "the server asks these, and protocol.ts does not list them"
    assert sorted(table["server_requests"] - table["answered"]) == [], "the client registers no onRequest for these"
