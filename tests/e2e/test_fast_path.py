"""The fast path end to end: ghost text and next edits from the real server process, against
the local model server answering as a fast model that rewrites the editable region."""

from __future__ import annotations


from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, Pending, overtake_a_prediction, plain, request, wait_until
from samples import rewrite



def inline(uri: str, pos: types.Position, invoked: bool = False) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos,
        context=types.InlineCompletionContext(trigger_kind=kind.Invoked if invoked else kind.Automatic),
    )


def ghost_of(result) -> tuple[str, types.Range] | None:
    if result is None:
        return None
    items = result.items if isinstance(result, types.InlineCompletionList) else result
    if not items:
        return None
    return items[0].insert_text, items[0].range


TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return res\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"


async def test_ghost_text_at_the_cursor(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos))
    text, rng = ghost_of(result)
    assert text == "ult"
    assert rng.start == pos and rng.end == pos
    assert model_server.stats()["requests_total"] == 1
    sent = model_server.requests()[-1]
    assert sent["endpoint"] == "responses" and sent["model"] == "gpt-5.3-codex-spark"
    assert sent["stream"] is True  # streamed (implicitly, over the WebSocket)


async def test_ghost_text_comes_when_the_region_ends_not_when_the_response_does(client: LanguageClient, workspace, model_server):
    # The model server holds back the response's closing events (output_text.done up to
    # response.completed) after the answer's last token, for a minute.
    stall = {"kind": "stall_during", "after_tokens": 10**6, "stall_ms": 60000}
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE, fault=stall)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True))
    assert ghost_of(result)[0] == "ult"
    stats = model_server.stats()
    assert stats["open_streams"] == 1 and stats["streams_completed"] == 0  # its end still to come


async def test_typing_through_a_shown_suggestion_needs_no_model_call(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))[0] == "ult"
    pos = doc.type(pos, "u")
    text, rng = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))
    assert text == "lt" and rng.start == pos
    pos = doc.type(pos, "l")
    assert ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))[0] == "t"
    assert model_server.stats()["requests_total"] == 1


RENAME = (
    "def report(items):\n"
    "    total = 0\n"
    "    for it in items:\n"
    "        sum_total += it.price\n"
    "    print(total)\n"
)
RENAMED = "def report(items):\n    sum_total = 0\n    for it in items:\n        sum_total += it.price\n    print(sum_total)\n"


async def test_next_edit_two_lines_above_the_cursor(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("rename", ["sum_total<|user_cursor_is_here|> += it.price"], RENAMED)])
    doc = Doc(client, workspace / "report.py", RENAME)
    pos = doc.position_after("        sum_total")
    result = await request(
        client,
        "sparkforge/nextEdit",
        {"textDocument": {"uri": doc.uri, "version": doc.version}, "position": {"line": pos.line, "character": pos.character}},
    )
    assert result is not None and result["id"]
    edits = result["edits"]
    first = edits[0]
    assert first["range"]["start"]["line"] == pos.line - 2  # "    total = 0", two lines up
    # the edit is the rename, not a rewrite of the line: applying it gives the renamed line
    line = doc.text.splitlines()[1]
    s, e = first["range"]["start"]["character"], first["range"]["end"]["character"]
    assert line[:s] + first["newText"] + line[e:] == "    sum_total = 0"
    assert len(first["newText"]) <= len("sum_")  + 1 and e - s <= 1
    assert any(ed["range"]["start"]["line"] == 4 for ed in edits)  # print(total) too
    last = edits[-1]
    assert result["cursor"]["line"] == 4  # the cursor lands at the end of the last edit
    assert result["cursor"]["character"] == last["range"]["start"]["character"] + len(last["newText"])
    # the inline request for the same moment shares the prediction: no second model call
    assert ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos))) is None
    assert model_server.stats()["requests_total"] == 1


async def test_next_edit_reports_final_hunks_early_as_partial_results(client: LanguageClient, workspace, model_server):
    # A slow stream: the edit at the top is final long before the answer ends.
    long_tail = "".join(f"    x{i} = {i}\n" for i in range(40))
    text = "def f():\n    total = 1\n    a = 2\n    b = 3\n    sum_total = total\n" + long_tail
    region = "    sum_total = 1\n    a = 2\n    b = 3\n    sum_total = sum_total\n" + long_tail[: long_tail.index("    x3 ")]
    model_server.load(
        [rewrite("slow", ["sum_total<|user_cursor_is_here|> = total"], region, tokens_per_s=150)]
    )
    doc = Doc(client, workspace / "slow.py", text)
    pos = doc.position_after("    sum_total")
    token = "nextedit-1"
    partials: list = []
    # pytest-lsp's own $/progress handler knows only work-done progress; partial results
    # travel on the same method, so listen for them directly.
    client.protocol.fm.features[types.PROGRESS] = lambda params: partials.append(
        {"token": params.token, "value": plain(params.value)}
    )
    result = await request(
        client,
        "sparkforge/nextEdit",
        {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}, "partialResultToken": token},
    )
    assert result is not None
    assert partials, "a final hunk was reported before the result"
    assert partials[0]["token"] == token
    first = partials[0]["value"]["edits"][0]
    assert first["range"]["start"]["line"] == 1 and first["newText"] in ("sum_", "sum_total")
    assert first in result["edits"]


CALL = "def main():\n    value = compute()\n    return value\n"
CALL_DUP = "def main():\n    value = compute(a, b))\n    return value\n"


async def test_no_duplicated_closing_bracket(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("dup", ["compute(<|user_cursor_is_here|>)"], CALL_DUP)])
    doc = Doc(client, workspace / "call.py", CALL)
    pos = doc.position_after("compute(")
    text, _ = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))
    line = doc.text.splitlines()[1]
    shown = line[: pos.character] + text + line[pos.character :]
    assert shown == "    value = compute(a, b)"


EMOJI = 'def greet(name):\n    banner = "🎉🎉 " + nam\n    return banner\n'
EMOJI_DONE = 'def greet(name):\n    banner = "🎉🎉 " + name.title()\n    return banner\n'


async def test_ranges_on_a_line_with_emoji_are_utf16(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("emoji", ['+ nam<|user_cursor_is_here|>'], EMOJI_DONE)])
    doc = Doc(client, workspace / "greet.py", EMOJI)
    pos = doc.position_after('+ nam')
    assert pos.character == len('    banner = "🎉🎉 " + nam') + 2  # two surrogate pairs
    text, rng = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))
    assert text == "e.title()"
    assert rng.start == pos


EMOJI_RENAME = 'def greet(person):\n    tag = "👋 " + name\n    return tag + name\n'
EMOJI_RENAMED = 'def greet(person):\n    tag = "👋 " + person\n    return tag + person\n'


async def test_next_edit_range_after_emoji(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("emoji-rename", ["def greet(person<|user_cursor_is_here|>)"], EMOJI_RENAMED)])
    doc = Doc(client, workspace / "wave.py", EMOJI_RENAME)
    pos = doc.position_after("def greet(person")
    result = await request(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}})
    edit = next(e for e in result["edits"] if e["range"]["start"]["line"] == 1)
    # "    tag = \"👋 \" + " is 16 code points and 17 UTF-16 code units
    start = edit["range"]["start"]["character"]
    end = edit["range"]["end"]["character"]
    line = '    tag = "👋 " + name'
    utf16 = line.encode("utf-16-le")
    new_line = (utf16[: start * 2] + edit["newText"].encode("utf-16-le") + utf16[end * 2 :]).decode("utf-16-le")
    assert new_line == '    tag = "👋 " + person'


CRLF = "def add(a, b):\r\n    total = a + b\r\n    return to\r\n"
CRLF_DONE = "def add(a, b):\n    total = a + b\n    return total\n\n\ndef sub(a, b):\n    return a - b\n"


async def test_crlf_file_keeps_crlf_and_correct_ranges(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("crlf", ["return to<|user_cursor_is_here|>"], CRLF_DONE)])
    doc = Doc(client, workspace / "calc.py", CRLF)
    pos = doc.position_after("return to")
    assert pos.line == 2 and pos.character == 13
    text, rng = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))
    assert text.startswith("tal\r\n")
    assert "\r\n\r\n\r\ndef sub(a, b):\r\n    return a - b" in text
    assert "\n" not in text.replace("\r\n", "")
    assert rng.start == pos


async def test_excluded_and_env_files_never_reach_the_model(client: LanguageClient, workspace, model_server, settings):
    settings_update = dict(settings, exclude=["private/**"])
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"sparkforge": settings_update}))
    model_server.load([rewrite("any", [], "x = 1\n")])
    env = Doc(client, workspace / ".env", "OPENAI_API_KEY=sk-proj-abc\nDEBUG=1\n", language="dotenv")
    private = Doc(client, workspace / "private" / "keys.py", "SECRET = 1\nvalue = SEC\n")
    for doc in (env, private):
        pos = types.Position(line=1, character=3)
        assert await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True)) is None
        assert await request(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": 1, "character": 3}}) is None
    # and they are not used as context for other files either
    other = Doc(client, workspace / "app.py", "import os\nvalue = 1\n")
    await client.text_document_inline_completion_async(inline(other.uri, types.Position(line=1, character=9), invoked=True))
    sent = model_server.requests()
    assert len(sent) == 1
    assert "sk-proj-abc" not in sent[0]["prompt"] and "SECRET = 1" not in sent[0]["prompt"]


async def test_key_like_strings_are_redacted_from_the_prompt(client: LanguageClient, workspace, model_server):
    key = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"
    text = f'import client\n\nAPI_KEY = "{key}"\nconn = client.connect(API_KEY)\nconn.se\n'
    model_server.load([rewrite("key", ["conn.se<|user_cursor_is_here|>"], '\nAPI_KEY = "sk-proj-[REDACTED-1]"\nconn = client.connect(API_KEY)\nconn.send()\n')])
    doc = Doc(client, workspace / "use_key.py", text)
    pos = doc.position_after("conn.se")
    text_out, _ = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos)))
    assert text_out == "nd()"
    prompt = model_server.requests()[-1]["prompt"]
    assert key not in prompt and "Zx9Qw8Er7Ty6" not in prompt
    assert 'API_KEY = "sk-proj-[REDACTED-1]"' in prompt
    # the redacted key in the model's rewrite did not become an edit that deletes the key
    nxt = await request(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}})
    assert nxt is None


async def test_a_burst_of_keystrokes_makes_one_model_request(client: LanguageClient, workspace, model_server, settings):
    client.workspace_did_change_configuration(
        # a debounce far longer than the gap between two sends: the burst is decided by the
        # debounce, not by how fast this machine happens to be
        types.DidChangeConfigurationParams(settings={"sparkforge": dict(settings, inline={"debounceMs": 1000})})
    )
    model_server.load([rewrite("burst", ["return re<|user_cursor_is_here|>"], TOTAL_DONE, ttft_ms=30, tokens_per_s=200)])
    doc = Doc(client, workspace / "cart.py", TOTAL.replace("return res", "return "))
    pos = doc.position_after("return ")
    pending: Pending | None = None
    stale: list[Pending] = []
    for ch in "re":
        pos = doc.type(pos, ch)
        if pending is not None:
            pending.cancel()  # the editor cancels the stale request ($/cancelRequest)
            stale.append(pending)
        pending = Pending(client, types.TEXT_DOCUMENT_INLINE_COMPLETION, inline(doc.uri, pos))
    result = await pending.result()
    assert result["items"][0]["insertText"] == "sult"
    for p in stale:
        await p.settled()
    stats = model_server.stats()
    assert stats["requests_total"] == 1
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)


async def test_a_newer_keystroke_closes_the_stale_stream(client: LanguageClient, workspace, model_server):
    slow = TOTAL_DONE + "".join(f"# line {i}\n" for i in range(200))
    model_server.load([rewrite("slow", ["return res<|user_cursor_is_here|>"], slow, tokens_per_s=100)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    stats = await overtake_a_prediction(client, model_server, doc, pos, inline)
    assert stats["streams_abandoned"] >= 1 and stats["open_streams"] == 0


async def test_feedback_counts_and_rejected_suggestion_not_offered_again(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("total", ["return res"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos))
    item = result.items[0]
    assert item.command.command == "sparkforge.acceptSuggestion"
    suggestion_id = item.command.arguments[0]
    client.protocol.notify("sparkforge/didShow", {"id": suggestion_id})
    client.protocol.notify("sparkforge/didReject", {"id": suggestion_id})
    status = await request(client, "sparkforge/getStatus", {})
    assert status["suggestions"]["shown"] == 1 and status["suggestions"]["rejected"] == 1
    # same text, same place: the rejected suggestion is not offered again
    again = await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True))
    assert ghost_of(again) is None
    # typing on makes a new suggestion; accepting it counts once, although VS Code reports it
    # by both routes (the item's command and sparkforge/didAccept, which says how much)
    pos = doc.type(pos, "u")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos))
    new_id = result.items[0].command.arguments[0]
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="sparkforge.acceptSuggestion", arguments=[new_id])
    )
    client.protocol.notify("sparkforge/didAccept", {"id": new_id, "acceptedLength": 2})
    client.protocol.notify("sparkforge/didAccept", {"id": new_id})
    status = await request(client, "sparkforge/getStatus", {})  # answered after the notifications
    assert status["suggestions"]["accepted"] == 1
    assert status["suggestions"]["partiallyAccepted"] == 1
    assert status["suggestions"]["acceptanceRate"] == 0.5  # one accepted, one rejected


async def test_a_failing_fast_model_means_no_ghost_text_and_a_clear_status(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("boom", ["return res"], TOTAL_DONE, fault={"kind": "500"})])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    assert await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True)) is None
    assert await request(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}}) is None
    status = await request(client, "sparkforge/getStatus", {})
    assert "the fast model failed with HTTP 500" in status["fast"]["lastError"]
    assert await wait_until(lambda: any("HTTP 500" in m.message for m in client.messages))  # told once
    # garbage from the model: no suggestion, no crash
    model_server.load([{"name": "garbage", "input_contains": ["return res"], "output": "I think you should refactor this 🙂"}])
    pos = doc.type(pos, "u")
    assert await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True)) is None
    # and the model recovers: suggestions come back
    model_server.load([rewrite("ok", ["return resu"], TOTAL_DONE)])
    pos = doc.type(pos, "l")
    text, _ = ghost_of(await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True)))
    assert text == "t"


async def test_a_next_edit_overtaken_by_a_keystroke_answers_null(client: LanguageClient, workspace, model_server):
    slow = RENAMED + "".join(f"# {i}\n" for i in range(100))
    model_server.load([rewrite("slow", ["sum_total"], slow, tokens_per_s=100)])
    doc = Doc(client, workspace / "report.py", RENAME)
    pos = doc.position_after("        sum_total")
    pending = Pending(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}})
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    doc.type(pos, "s")
    assert await pending.result() is None
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 1  # closed, not run to its end


async def test_a_huge_file_still_gets_ghost_text_within_the_prompt_budget(client: LanguageClient, workspace, model_server):
    from sparkforge.models.tokens import count_tokens

    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(60000))  # 180,000 lines, ~3.6 MB
    text = body + TOTAL
    model_server.load([rewrite("huge", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "huge.py", text)
    pos = doc.position_after("    return res")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos, invoked=True))
    assert ghost_of(result)[0] == "ult"
    sent = model_server.requests()[-1]
    assert count_tokens(sent["prompt"]) <= 1500 + 10  # inline.promptTokens, whatever the file's size
