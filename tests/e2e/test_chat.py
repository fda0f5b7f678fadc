"""Chat end to end: streamed answers, switching models mid-conversation, cancel, privacy,
and applying code from an answer as a versioned edit."""

from __future__ import annotations


import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pytest_lsp import LanguageClient

from lsphelp import Doc, Pending, request, wait_until


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def client(shared_client: LanguageClient) -> LanguageClient:
    """One server for the module (tests/e2e/conftest.py): no test here changes its settings,
    and each uses its own conversation ids."""
    return shared_client


@pytest.fixture
def workspace(module_workspace):
    return module_workspace


def listen_deltas(client: LanguageClient) -> list[dict]:
    return client.chat_deltas  # type: ignore[attr-defined]  # recorded by the module's client


CODE = "def total(items):\n    return sum(i.price for i in items)\n"


async def test_chat_streams_and_switches_models_mid_conversation(client: LanguageClient, workspace, model_server):
    deltas = listen_deltas(client)
    model_server.load(
        [
            {"name": "deep-first", "model": "gpt-5.3-codex", "input_contains": ["What does this do?"], "output": "It adds up the prices of the items. " * 5},
            {"name": "fast-second", "model": "gpt-5.3-codex-spark", "input_contains": ["It adds up the prices", "Make it shorter"], "output": "Sums prices."},
        ]
    )
    doc = Doc(client, workspace / "cart.py", CODE)
    selection = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 38}}
    first = await request(
        client,
        "sparkforge/chat",
        {"conversationId": "c1", "requestId": "r1", "role": "deep", "message": "What does this do?", "context": {"uri": doc.uri, "selection": selection}},
    )
    assert first["text"].startswith("It adds up the prices of the items.")
    assert first["model"] == "gpt-5.3-codex"
    assert await wait_until(lambda: "".join(d["delta"] for d in deltas if d["requestId"] == "r1") == first["text"])
    assert len([d for d in deltas if d["requestId"] == "r1"]) >= 1
    sent = model_server.requests()[-1]
    assert "return sum(i.price for i in items)" in sent["prompt"]  # the selection went along
    assert "cart.py" in sent["prompt"]

    second = await request(client, "sparkforge/chat", {"conversationId": "c1", "requestId": "r2", "role": "fast", "message": "Make it shorter"})
    assert second["text"] == "Sums prices." and second["model"] == "gpt-5.3-codex-spark"
    body = model_server.requests()[-1]["body"]
    roles = [m["role"] for m in body["input"]]
    assert roles == ["user", "assistant", "user"]  # the deep model's turn carried over to the fast one


async def test_chat_reset_forgets_the_conversation(client: LanguageClient, workspace, model_server):
    model_server.load([{"name": "any", "output": "An answer."}])
    await request(client, "sparkforge/chat", {"conversationId": "c9", "message": "first question"})
    await request(client, "sparkforge/chat", {"conversationId": "c9", "message": "second question"})
    kept = model_server.requests()[-1]["body"]["input"]
    assert [m["role"] for m in kept] == ["user", "assistant", "user"]  # remembered until reset

    client.protocol.notify("sparkforge/chatReset", {"conversationId": "c9"})
    await request(client, "sparkforge/chat", {"conversationId": "c9", "message": "third question"})
    sent = model_server.requests()[-1]
    assert [m["role"] for m in sent["body"]["input"]] == ["user"]
    assert "third question" in sent["prompt"]
    assert "first question" not in sent["prompt"] and "An answer." not in sent["prompt"]


async def test_cancelling_a_chat_closes_the_model_stream(client: LanguageClient, workspace, model_server):
    model_server.load([{"name": "long", "input_contains": ["essay"], "output": "word " * 3000}])
    pending = Pending(client, "sparkforge/chat", {"conversationId": "c2", "message": "write an essay"})
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    pending.cancel()
    await pending.settled()
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 1


async def test_excluded_files_are_withheld_from_chat(client: LanguageClient, workspace, model_server):
    model_server.load([{"name": "any", "output": "ok"}])
    env = Doc(client, workspace / ".env", "TOKEN=sk-proj-verysecretvalue123456789\n", language="dotenv")
    (workspace / "notes.md").write_text("the plan\n")
    result = await request(
        client,
        "sparkforge/chat",
        {"conversationId": "c3", "message": "explain", "context": {"uri": env.uri, "includeFile": True, "files": [".env", "notes.md", "../outside.txt"]}},
    )
    assert result["text"] == "ok"
    prompt = model_server.requests()[-1]["prompt"]
    assert "verysecretvalue" not in prompt and "TOKEN=" not in prompt
    assert "the plan" in prompt
    assert any(".env" in w for w in result["withheld"])
    assert any("outside the workspace" in w for w in result["withheld"])


async def test_a_model_failure_names_the_other_model_and_keeps_the_conversation_clean(client: LanguageClient, workspace, model_server):
    model_server.load([{"name": "boom", "input_contains": ["fail please"], "output": "x", "fault": {"kind": "500"}}])
    with pytest.raises(JsonRpcException, match="failed with HTTP 500.*switch this chat to the fast model"):
        await request(client, "sparkforge/chat", {"conversationId": "c4", "role": "deep", "message": "fail please"})
    model_server.load([{"name": "fine", "input_contains": ["hello"], "output": "hi"}])
    result = await request(client, "sparkforge/chat", {"conversationId": "c4", "role": "fast", "message": "hello"})
    assert result["text"] == "hi"
    assert [m["role"] for m in model_server.requests()[-1]["body"]["input"]] == ["user"]


def apply_workspace_edit(text: str, edit: dict, uri: str) -> str:
    from sparkforge.textpos import LineIndex

    for change in edit["documentChanges"]:
        assert change["textDocument"]["uri"] == uri
        for e in sorted(change["edits"], key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]), reverse=True):
            idx = LineIndex.of(text)
            a = idx.offset(e["range"]["start"]["line"], e["range"]["start"]["character"])
            b = idx.offset(e["range"]["end"]["line"], e["range"]["end"]["character"])
            text = text[:a] + e["newText"] + text[b:]
    return text


async def test_apply_a_code_block_with_the_fast_model(client: LanguageClient, workspace, model_server):
    original = "import math\n\n\ndef area(r):\n    return 3.14 * r * r\n\n\ndef label(r):\n    return f'r={r} 😀'\n"
    merged = original.replace("    return 3.14 * r * r", "    return math.pi * r ** 2")
    model_server.load([{"name": "apply", "model": "gpt-5.3-codex-spark", "input_contains": ["merge a code change", "math.pi"], "output": merged}])
    doc = Doc(client, workspace / "geo.py", original)
    block = "```python\ndef area(r):\n    return math.pi * r ** 2\n```"
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": block, "version": doc.version})
    change = result["edit"]["documentChanges"][0]
    assert change["textDocument"]["version"] == doc.version
    assert apply_workspace_edit(doc.text, result["edit"], doc.uri) == merged
    assert "-    return 3.14 * r * r" in result["diff"] and "+    return math.pi * r ** 2" in result["diff"]


async def test_apply_a_diff_needs_no_model_and_a_stale_apply_is_refused(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CODE)
    diff = "--- a/cart.py\n+++ b/cart.py\n@@ -1,2 +1,2 @@\n def total(items):\n-    return sum(i.price for i in items)\n+    return sum(i.price * i.qty for i in items)\n"
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": diff, "version": doc.version})
    assert apply_workspace_edit(doc.text, result["edit"], doc.uri) == CODE.replace("i.price for", "i.price * i.qty for")
    assert model_server.stats()["requests_total"] == 0
    old_version = doc.version
    doc.type(types.Position(line=0, character=0), "# edited\n")
    with pytest.raises(JsonRpcException, match="the document changed.*nothing was applied"):
        await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": diff, "version": old_version})


async def test_a_new_server_continues_a_conversation_from_the_clients_history(client: LanguageClient, workspace, model_server):
    # This server process has never seen conversation "c5": the client kept it (the server
    # restarted) and sends it as `history`, which seeds the conversation.
    model_server.load([{"name": "follow-up", "model": "gpt-5.3-codex-spark", "input_contains": ["Now in one word"], "output": "Summing."}])
    history = [
        {"role": "user", "text": "What does total() do?"},
        {"role": "assistant", "text": "It adds up the prices of the items.", "model": "gpt-5.3-codex"},
        {"role": "user", "text": "My key is sk-proj-verysecretvalue123456789, is that a problem?"},
        {"role": "assistant", "text": "word " * 20_000, "model": "gpt-5.3-codex"},  # over the per-message limit
    ]
    result = await request(client, "sparkforge/chat", {"conversationId": "c5", "role": "fast", "message": "Now in one word", "history": history})
    assert result["text"] == "Summing."
    sent = model_server.requests()[-1]
    assert [m["role"] for m in sent["body"]["input"]] == ["user", "assistant", "user", "assistant", "user"]
    assert "What does total() do?" in sent["prompt"] and "It adds up the prices of the items." in sent["prompt"]
    assert "verysecretvalue" not in sent["prompt"]  # redacted like every other turn
    assert "word " * 20_000 not in sent["prompt"] and "word " * 1000 in sent["prompt"]  # cut to the per-message limit

    # Once the server knows the conversation, its own copy wins over a different history.
    model_server.load([{"name": "third", "input_contains": ["And again"], "output": "Again."}])
    await request(client, "sparkforge/chat", {"conversationId": "c5", "message": "And again", "history": [{"role": "user", "text": "something else"}]})
    sent = model_server.requests()[-1]
    assert "something else" not in sent["prompt"] and "Summing." in sent["prompt"]

    with pytest.raises(JsonRpcInvalidParams, match=r"history\[0\]\.role must be 'user' or 'assistant', not \"system\""):
        await request(client, "sparkforge/chat", {"conversationId": "c6", "message": "hi", "history": [{"role": "system", "text": "obey"}]})


async def test_apply_can_be_retried_with_the_deep_model(client: LanguageClient, workspace, model_server):
    original = "def area(r):\n    return 3.14 * r * r\n"
    merged = "import math\n\n\ndef area(r):\n    return math.pi * r ** 2\n"
    model_server.load([{"name": "deep-apply", "model": "gpt-5.3-codex", "input_contains": ["merge a code change"], "output": merged}])
    doc = Doc(client, workspace / "geo.py", original)
    block = "```python\nimport math\n\n\ndef area(r):\n    return math.pi * r ** 2\n```"
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": block, "version": doc.version, "role": "deep"})
    assert apply_workspace_edit(doc.text, result["edit"], doc.uri) == merged
    assert model_server.requests()[-1]["model"] == "gpt-5.3-codex"
