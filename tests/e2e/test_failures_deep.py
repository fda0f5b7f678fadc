"""Bad input gets a clear error and loses nothing: the deep path and chat.

Code actions (codeAction/resolve and sparkforge.runAction), sparkforge/chat and
sparkforge/chatApply against bad positions, unknown documents, huge files, CRLF and emoji,
and a model that answers garbage, times out, rate-limits or drops the connection. Every
failure is an error the user can act on (which model, what happened, what to do), the model
stream is closed, no edit is produced (never half of one), and the server keeps answering.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, apply_edit, fails, message_of, plain, raw_request, request, wait_until
from samples import CART, CART_DOCUMENTED, DEEP, DOC_PATCH, DOCSTRING, FAST, deep
from sparkforge.models.tokens import count_tokens

INVALID_PARAMS = -32602
REQUEST_FAILED = -32803

CHATTY = "I am adding a docstring that explains what total returns, then I will stop."


# -- helpers ----------------------------------------------------------------------------------
def configure(client: LanguageClient, settings: dict[str, Any], **roles: dict[str, Any]) -> None:
    """Send settings with some keys of a role (or section) replaced, as an editor would."""
    merged = dict(settings)
    for key, value in roles.items():
        merged[key] = {**merged.get(key, {}), **value}
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"sparkforge": merged}))


def code_action_params(uri: str, start: tuple[int, int], end: tuple[int, int] | None = None) -> dict[str, Any]:
    end = end or start
    return {"textDocument": {"uri": uri},
            "range": {"start": {"line": start[0], "character": start[1]},
                      "end": {"line": end[0], "character": end[1]}},
            "context": {"diagnostics": []}}


async def actions_at(client: LanguageClient, doc: Doc, start, end=None) -> dict[str, types.CodeAction]:
    raw = plain(await raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, code_action_params(doc.uri, start, end)))
    actions = [client.protocol._converter.structure(a, types.CodeAction) for a in raw or []]
    return {a.data["kind"]: a for a in actions}


def action_progress(client: LanguageClient) -> list[Any]:
    """The reports of the most recent action's work-done progress."""
    tokens = [t for t in client.progress_reports if str(t).startswith("sparkforge-action")]
    return client.progress_reports[tokens[-1]]


async def stream_closed(model_server) -> bool:
    return await wait_until(lambda: model_server.stats()["open_streams"] == 0)


async def model_resumed(client: LanguageClient, role: str) -> None:
    """Wait until ``role`` is no longer paused: a 429 pauses it for its Retry-After, and
    nothing is sent to it meanwhile."""
    for _ in range(3000):
        if (await request(client, "sparkforge/getStatus", {}))[role]["paused"] is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the {role} model is still paused")


async def still_resolves(client: LanguageClient, model_server, doc: Doc) -> None:
    """The server keeps answering: the same action, asked again of a healthy model, works."""
    model_server.load([deep("healthy", ["Document function total"], output="Added a docstring.",
                            patches=[DOC_PATCH])])
    resolved = await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["document"])
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART_DOCUMENTED


# -- bad positions and unknown documents --------------------------------------------------------
async def test_bad_positions_and_unknown_documents_are_invalid_params(client: LanguageClient, workspace, model_server):
    emoji = 'def cheer(name):\n    return "🎉 " + name\n'
    doc = Doc(client, workspace / "cheer.py", emoji)
    unknown = (workspace / "never_opened.py").as_uri()
    inside_pair = (1, len('    return "') + 1)  # between the two UTF-16 units of 🎉

    cases = {
        "unknown document": (code_action_params(unknown, (0, 0)), f"unknown document {unknown}: open it first"),
        "past the end of a line": (code_action_params(doc.uri, (0, 40)), "past the end of the line"),
        "past the end of the document": (code_action_params(doc.uri, (0, 0), (9, 0)), "past the end of the document (3 lines)"),
        "inside a surrogate pair": (code_action_params(doc.uri, inside_pair), "inside a surrogate pair"),
    }
    for case, (params, says) in cases.items():
        err = await fails(raw_request(client, types.TEXT_DOCUMENT_CODE_ACTION, params))
        assert err.code == INVALID_PARAMS, case
        assert says in message_of(err), (case, message_of(err))

    # resolve with data that no longer (or never did) fit a document
    action = (await actions_at(client, doc, (1, 4)))["document"]
    bad_data = {
        "unknown document": ({**action.data, "uri": unknown}, "unknown document"),
        "inside a surrogate pair": ({**action.data, "range": {"start": {"line": 1, "character": inside_pair[1]},
                                                               "end": {"line": 1, "character": 20}}}, "surrogate pair"),
        "past the end": ({**action.data, "range": {"start": {"line": 0, "character": 0},
                                                    "end": {"line": 7, "character": 0}}}, "past the end of the document"),
        "backwards": ({**action.data, "range": {"start": {"line": 1, "character": 4},
                                                 "end": {"line": 0, "character": 0}}}, "ends before it starts"),
        "not sparkforge's": ({"kind": "make coffee"}, "not a sparkforge code action"),
    }
    for case, (data, says) in bad_data.items():
        err = await fails(client.code_action_resolve_async(types.CodeAction(title=action.title, data=data)))
        assert err.code == INVALID_PARAMS, case
        assert says in message_of(err), (case, message_of(err))

    # sparkforge.runAction reports the same problem and applies nothing
    reply = plain(await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="sparkforge.runAction", arguments=[{**action.data, "uri": unknown}])))
    assert reply["applied"] is False and "unknown document" in reply["error"]
    assert await wait_until(lambda: any("unknown document" in m.message for m in client.messages))

    # and the server keeps answering, without having bothered a model
    assert set(await actions_at(client, doc, (1, 4))) == {"refactor", "document", "tests", "explain"}
    assert model_server.stats()["requests_total"] == 0


async def test_chat_with_bad_context_is_invalid_params_and_sends_nothing(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cheer.py", 'def cheer(name):\n    return "🎉 " + name\n')
    unknown = (workspace / "never_opened.py").as_uri()
    selections = {
        "inside a surrogate pair": ({"start": {"line": 1, "character": 13}, "end": {"line": 1, "character": 20}}, "surrogate pair"),
        "past the end": ({"start": {"line": 0, "character": 0}, "end": {"line": 30, "character": 0}}, "past the end of the document"),
        "not a position": ({"start": {"line": "one", "character": 0}, "end": {"line": 1, "character": 0}},
                           "context.selection.start must be a position"),
    }
    for case, (selection, says) in selections.items():
        err = await fails(request(client, "sparkforge/chat", {
            "conversationId": "bad", "message": "what is this?", "context": {"uri": doc.uri, "selection": selection}}))
        assert err.code == INVALID_PARAMS, case
        assert says in message_of(err), (case, message_of(err))
    err = await fails(request(client, "sparkforge/chat", {"conversationId": "bad", "message": "hi", "context": {"uri": unknown}}))
    assert err.code == INVALID_PARAMS and "unknown document" in message_of(err)
    err = await fails(request(client, "sparkforge/chatApply", {"uri": unknown, "code": "x = 1\n"}))
    assert err.code == INVALID_PARAMS and "unknown document" in message_of(err)
    err = await fails(request(client, "sparkforge/chatApply", {"uri": doc.uri}))
    assert err.code == INVALID_PARAMS and "sparkforge/chatApply: code is missing" in message_of(err)
    assert model_server.stats()["requests_total"] == 0

    # the failed questions left no trace: the conversation starts with the next one
    model_server.load([{"name": "fine", "input_contains": ["hello"], "output": "hi"}])
    result = await request(client, "sparkforge/chat", {"conversationId": "bad", "message": "hello"})
    assert result["text"] == "hi"
    assert [m["role"] for m in model_server.requests()[-1]["body"]["input"]] == ["user"]


# -- a model that misbehaves --------------------------------------------------------------------
BAD_ANSWERS: dict[str, dict[str, Any]] = {
    "prose without an edit": {
        "scenario": {"output": "The function looks fine to me, so I would leave it as it is."},
        "says": [f'{DEEP} answered without an edit ("The function looks fine to me', "Run the action again"],
    },
    "a diff that does not parse": {
        "api": "chat",
        "scenario": {"chat_output": "Here you go.\n\n```diff\n@@ -4,2 +4,3 @@\n def total(items):\n+"
                                    + DOCSTRING + "     result = 0\n```\n"},
        "says": [f"{DEEP} answered with a patch sparkforge cannot read", "no file name", "Run the action again"],
    },
    "apply_patch for a file that does not exist": {
        "scenario": {"patches": [{"type": "update_file", "path": "src/missing.py", "diff": "@@\n-x = 1\n+x = 2\n"}]},
        "says": [f"the patch from {DEEP} does not apply", "cannot update src/missing.py: no such file in the workspace"],
    },
    "a malformed event": {
        "scenario": {"output": CHATTY, "patches": [DOC_PATCH], "fault": {"kind": "malformed", "after_tokens": 3}},
        "says": ["sent an event that is not JSON: '{not json'"],
        "model_error": True,
    },
    "no first token in time": {
        "timeouts": {"firstToken": 2.0},  # far above a loaded machine's answer, far below the stall
        "scenario": {"output": CHATTY, "patches": [DOC_PATCH], "fault": {"kind": "stall_before", "stall_ms": 8000}},
        "says": [f"({DEEP}) sent nothing in ", "(1 try of 2 s)", "raise sparkforge.deep.timeouts.firstToken"],
        "model_error": True,
    },
    "a stall mid-answer": {
        "timeouts": {"firstToken": 2.0},
        "scenario": {"output": CHATTY, "patches": [DOC_PATCH], "ttft_ms": 0,
                     "fault": {"kind": "stall_during", "after_tokens": 3, "stall_ms": 8000}},
        "says": [f"({DEEP}) stalled mid-answer for over 2 s", "try again"],
        "model_error": True,
    },
    "rate-limited": {
        "scenario": {"output": CHATTY, "patches": [DOC_PATCH], "fault": {"kind": "429", "retry_after": 1}},
        "says": [f"{DEEP} is rate-limited (HTTP 429), resuming in 1 s; try again then"],
        "model_error": True,
        "pauses": True,  # the deep model: nothing is sent to it for a second
    },
    "a dropped connection": {
        "scenario": {"output": CHATTY, "patches": [DOC_PATCH], "fault": {"kind": "drop", "after_tokens": 3}},
        "says": ["the connection to the deep model dropped mid-answer", "try again"],
        "model_error": True,
    },
}


@pytest.mark.parametrize("case", list(BAD_ANSWERS))
async def test_a_bad_model_answer_is_a_clear_error_with_no_edit(client: LanguageClient, workspace, model_server, settings, case):
    bad = BAD_ANSWERS[case]
    configure(client, settings, deep={"api": bad.get("api", "responses"), "timeouts": bad.get("timeouts", {})})
    model_server.load([deep("bad", ["Document function total"], **bad["scenario"])])
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (4, 4)))["document"]

    err = await fails(client.code_action_resolve_async(action))

    message = message_of(err)
    assert err.code == REQUEST_FAILED
    assert message.startswith("sparkforge: Document") and DEEP in message
    for phrase in bad["says"]:
        assert phrase in message, (phrase, message)
    assert "nothing was applied" in message
    if bad.get("model_error"):
        assert f"Document with {DEEP} failed" in message
        assert f'route this action to the fast model ({FAST}): sparkforge.actions.routing = {{"document": "fast"}}' in message
        # the status bar shows what went wrong with the deep model
        assert await wait_until(lambda: client.status_updates and client.status_updates[-1]["deep"]["lastError"])
    assert await wait_until(lambda: isinstance(action_progress(client)[-1], types.WorkDoneProgressEnd))
    assert action_progress(client)[-1].message == "failed"
    assert await stream_closed(model_server)
    assert client.applied == []  # type: ignore[attr-defined]  # no edit reached the editor
    if bad.get("pauses"):
        await model_resumed(client, "deep")
    await still_resolves(client, model_server, doc)


# -- huge files ---------------------------------------------------------------------------------
def huge_module(functions: int = 9000) -> tuple[str, int]:
    """A module of 36,000 lines (about 3 MB) with ``total`` in the middle, and total's line."""
    parts = []
    middle = functions // 2
    for i in range(functions):
        if i == middle:
            parts.append(CART.split("\n\n\n", 1)[1] + "\n\n")
        parts.append(
            f"def step_{i}(value, offset):  # step {i} of the nightly reconciliation of the ledger against the bank\n"
            f"    running_{i} = value * {i} + offset  # keep the running total of step {i} in sync with the ledger entries\n"
            f"    return running_{i} - {i % 97}  # and hand it to the next step of the reconciliation pipeline, unchanged\n\n"
        )
    text = "import math\n\n\n" + "".join(parts)
    return text, text.split("\n").index("def total(items):")


async def test_a_huge_file_stays_within_the_prompt_budget(client: LanguageClient, workspace, model_server, settings):
    budget = 8000
    configure(client, settings, actions={"promptTokens": budget})
    text, line = huge_module()
    assert text.count("\n") > 36000 and len(text) > 2_800_000
    (workspace / "tests").mkdir()
    existing_tests = "from big import step_1\n\n\n" + "".join(
        f"def test_step_{i}():\n    assert step_1({i}, 0) == {i} - 1\n\n\n" for i in range(3000)
    ) + "def test_last_existing():\n    assert True\n"
    (workspace / "tests" / "test_big.py").write_text(existing_tests)
    added = "\n\ndef test_total_of_nothing_is_zero():\n    assert total([]) == 0\n"
    model_server.load([
        deep("doc-big", ["Document function total in big.py"], patches=[{**DOC_PATCH, "path": "big.py"}]),
        deep("tests-big", ["Write tests for function total in big.py", "tests/test_big.py"], patches=[{
            "type": "update_file", "path": "tests/test_big.py",
            "diff": "@@ def test_last_existing():\n     assert True\n" + "".join("+" + l + "\n" for l in added.splitlines())}]),
    ])
    doc = Doc(client, workspace / "big.py", text)
    actions = await actions_at(client, doc, (line + 2, 8))
    assert actions["document"].title == "Document total with sparkforge"

    documented = await client.code_action_resolve_async(actions["document"])
    tests = await client.code_action_resolve_async(actions["tests"])

    sent = model_server.requests()
    assert [r["scenario"] for r in sent] == ["doc-big", "tests-big"]
    for r in sent:
        tokens = count_tokens(r["prompt"])
        assert budget * 0.8 < tokens <= budget, tokens  # most of the budget used, never more
        assert "def total(items):\n    result = 0" in r["prompt"]
    assert "big.py (python), lines " in sent[0]["prompt"] and f"of {text.count(chr(10)) + 1}" in sent[0]["prompt"]
    assert "def test_step_0():" in sent[1]["prompt"]  # the existing tests, cut to what fits
    files = apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, documented.edit)
    assert files[doc.uri] == text.replace("def total(items):\n", "def total(items):\n" + DOCSTRING)
    test_uri = (workspace / "tests" / "test_big.py").as_uri()
    files = apply_edit({doc.uri: doc.text, test_uri: existing_tests}, {doc.uri: doc.version}, tests.edit)
    assert files[test_uri] == existing_tests + added and files[doc.uri] == text


async def test_chat_with_a_huge_file_stays_within_its_budget(client: LanguageClient, workspace, model_server):
    from sparkforge.conversation import CHAT_INSTRUCTIONS
    from sparkforge.features.chat import CONTEXT_TOKENS

    text, line = huge_module()
    doc = Doc(client, workspace / "big.py", text)
    model_server.load([{"name": "big", "input_contains": ["what does total do?"], "output": "It adds prices."}])
    selection = {"start": {"line": line, "character": 0}, "end": {"line": line + 5, "character": 0}}
    result = await request(client, "sparkforge/chat", {
        "conversationId": "huge", "message": "what does total do?",
        "context": {"uri": doc.uri, "selection": selection, "includeFile": True}})
    assert result["text"] == "It adds prices."
    (turn,) = model_server.requests()[-1]["body"]["input"]
    assert count_tokens(turn["content"]) <= CONTEXT_TOKENS
    assert count_tokens(model_server.requests()[-1]["prompt"]) <= CONTEXT_TOKENS + count_tokens(CHAT_INSTRUCTIONS) + 8
    assert "def total(items):\n    result = 0" in turn["content"]  # the selection always goes first
    assert "def step_0(value, offset)" in turn["content"]  # then as much of the file as fits

    # a pasted file is refused with a way out, before any model sees it
    err = await fails(request(client, "sparkforge/chat", {"conversationId": "huge", "message": text[:400_000]}))
    assert err.code == REQUEST_FAILED and "shorten it, or attach the file as context" in message_of(err)
    # fast apply would rewrite the whole file: refused with a way out; a diff still applies
    err = await fails(request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": "def total(items):\n    return 0\n"}))
    assert err.code == REQUEST_FAILED and "too large" in message_of(err) and "unified diff" in message_of(err)
    assert len(model_server.requests()) == 1
    diff = f"--- a/big.py\n+++ b/big.py\n@@ -{line + 1},2 +{line + 1},3 @@\n def total(items):\n+{DOCSTRING}     result = 0\n"
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": diff, "version": doc.version})
    edit = client.protocol._converter.structure(result["edit"], types.WorkspaceEdit)
    expected = text.replace("def total(items):\n", "def total(items):\n" + DOCSTRING)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)[doc.uri] == expected


# -- CRLF and emoji -----------------------------------------------------------------------------
PARTY = (
    'GREETING = "héllo 👋"\r\n'
    "\r\n"
    "\r\n"
    "def party(names):\r\n"
    '    banner = "🎉🎉 " + ", ".join(names)\r\n'
    '    return banner + " 🎈"'  # an emoji line at the very end, with no final newline
)
PARTY_DOC = '    """Announce the party for ``names`` 🎉."""'
PARTY_DOCUMENTED = (
    PARTY.replace("def party(names):\r\n", "def party(names):\r\n" + PARTY_DOC + "\r\n")
    .replace('return banner + " 🎈"', 'return banner + " 🎈🎈"  # 🥳')
)
PARTY_PATCH = {"type": "update_file", "path": "party.py", "diff": (
    "@@ def party(names):\n+" + PARTY_DOC + '\n     banner = "🎉🎉 " + ", ".join(names)\n'
    '-    return banner + " 🎈"\n+    return banner + " 🎈🎈"  # 🥳\n')}
PARTY_DIFF = (
    "--- a/party.py\n+++ b/party.py\n@@ -4,3 +4,4 @@\n def party(names):\n+" + PARTY_DOC
    + '\n     banner = "🎉🎉 " + ", ".join(names)\n-    return banner + " 🎈"\n\\ No newline at end of file\n'
    + '+    return banner + " 🎈🎈"  # 🥳\n\\ No newline at end of file\n'
)


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_crlf_file_with_emoji_keeps_crlf_and_utf16_ranges(client: LanguageClient, workspace, model_server, settings, api):
    configure(client, settings, deep={"api": api})
    model_server.load([deep("party", ["Document function party"], output="Documented party.",
                            patches=[PARTY_PATCH], chat_output=f"Documented party.\n\n```diff\n{PARTY_DIFF}```\n")])
    doc = Doc(client, workspace / "party.py", PARTY)
    action = (await actions_at(client, doc, (4, 10)))["document"]
    assert action.data["range"]["end"] == {"line": 5, "character": len('    return banner + " 🎈"') + 1}

    resolved = await client.code_action_resolve_async(action)

    (change,) = resolved.edit.document_changes
    for edit in change.edits:
        assert "\n" not in edit.new_text.replace("\r\n", ""), repr(edit.new_text)  # CRLF stays CRLF
    # the last line's end is counted in UTF-16 (🎈 is two code units)
    assert max(e.range.end for e in change.edits) == types.Position(line=5, character=len('    return banner + " 🎈"') + 1)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == PARTY_DOCUMENTED


async def test_chat_apply_keeps_crlf_and_emoji(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "party.py", PARTY)
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": f"```diff\n{PARTY_DIFF}```", "version": doc.version})
    edit = client.protocol._converter.structure(result["edit"], types.WorkspaceEdit)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)[doc.uri] == PARTY_DOCUMENTED
    assert '+    return banner + " 🎈🎈"  # 🥳' in result["diff"]
    assert model_server.stats()["requests_total"] == 0


# -- all or nothing -----------------------------------------------------------------------------
REPORT = "from cart import total\n\n\ndef report(items):\n    return f\"total: {total(items)}\"\n"
RENAME_PATCHES = [
    {"type": "update_file", "path": "cart.py", "diff": "@@\n-def total(items):\n+def grand_total(items):\n"},
    # the second file's hunk names a line report.py does not have
    {"type": "update_file", "path": "report.py", "diff": "@@\n-from cart import totl\n+from cart import grand_total\n"},
]
RENAME_DIFF = (
    "--- a/cart.py\n+++ b/cart.py\n@@ -4,1 +4,1 @@\n-def total(items):\n+def grand_total(items):\n"
    "--- a/report.py\n+++ b/report.py\n@@ -1,1 +1,1 @@\n-from cart import totl\n+from cart import grand_total\n"
)
RENAME_SAYS = ["cannot locate hunk 1 of report.py", "from cart import totl", "nothing was applied"]


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_a_multi_file_patch_that_fails_in_one_file_yields_no_edit(client: LanguageClient, workspace, model_server, settings, api):
    configure(client, settings, deep={"api": api})
    model_server.load([deep("rename", ["rename total to grand_total"], patches=RENAME_PATCHES,
                            chat_output=f"Renamed.\n\n```diff\n{RENAME_DIFF}```\n")])
    doc = Doc(client, workspace / "cart.py", CART)
    (workspace / "report.py").write_text(REPORT)
    action = (await actions_at(client, doc, (4, 4)))["refactor"]
    action.data = {**action.data, "instruction": "rename total to grand_total"}

    err = await fails(client.code_action_resolve_async(action))

    assert err.code == REQUEST_FAILED
    assert message_of(err).startswith(f"sparkforge: Refactor: the patch from {DEEP} does not apply")
    for phrase in RENAME_SAYS:
        assert phrase in message_of(err)
    assert client.applied == []  # type: ignore[attr-defined]  # no edit reached the editor
    await still_resolves(client, model_server, doc)


async def test_run_action_never_applies_a_failed_edit(plain_client: LanguageClient, workspace, model_server):
    client = plain_client
    doc = Doc(client, workspace / "cart.py", CART)
    (workspace / "report.py").write_text(REPORT)

    async def run(kind: str, **data: Any) -> dict[str, Any]:
        action = (await actions_at(client, doc, (4, 4)))[kind]
        return plain(await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="sparkforge.runAction", arguments=[{**action.data, **data}])))

    model_server.load([deep("rename", ["rename total to grand_total"], patches=RENAME_PATCHES)])
    reply = await run("refactor", instruction="rename total to grand_total")
    assert reply["applied"] is False and all(p in reply["error"] for p in RENAME_SAYS)
    assert await wait_until(lambda: any(
        m.type == types.MessageType.Error and "cannot locate hunk 1 of report.py" in m.message for m in client.messages))

    model_server.load([deep("busy", ["Document function total"], patches=[DOC_PATCH], fault={"kind": "429", "retry_after": 1})])
    reply = await run("document")
    assert reply["applied"] is False
    assert "rate-limited" in reply["error"] and "resuming in 1 s" in reply["error"] and f"fast model ({FAST})" in reply["error"]
    assert await wait_until(lambda: any("rate-limited" in m.message for m in client.messages))

    assert client.applied == []  # type: ignore[attr-defined]  # workspace/applyEdit was never called
    assert await stream_closed(model_server)
    await model_resumed(client, "deep")
    model_server.load([deep("healthy", ["Document function total"], patches=[DOC_PATCH])])
    assert await run("document") == {"applied": True}
    (applied,) = client.applied  # type: ignore[attr-defined]
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, applied.edit)[doc.uri] == CART_DOCUMENTED


async def test_run_action_refuses_an_edit_the_user_has_typed_over(plain_client: LanguageClient, workspace, model_server):
    client = plain_client
    model_server.load([deep("slow", ["Document function total"], patches=[DOC_PATCH], ttft_ms=800)])
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (4, 4)))["document"]
    running = client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="sparkforge.runAction", arguments=[action.data]))
    task = asyncio.ensure_future(running)
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    doc.edit(4, 0, 4, 0, "    # TODO\n")  # exactly where the docstring goes

    reply = plain(await task)

    assert reply["applied"] is False
    assert f"cart.py changed where the edit goes while {DEEP} was working; nothing was applied" in reply["error"]
    assert client.applied == []  # type: ignore[attr-defined]  # a stale edit is never sent
    assert await wait_until(lambda: any("changed where the edit goes" in m.message for m in client.messages))


# -- chat ---------------------------------------------------------------------------------------
async def test_chat_failures_are_clear_and_the_conversation_stays_usable(client: LanguageClient, workspace, model_server, settings):
    # a first-token timeout far above what a loaded machine takes to answer, far below the stall
    configure(client, settings, deep={"timeouts": {"firstToken": 2.0}})
    long = "Here is a long answer that takes a while to arrive, word by word. " * 3
    model_server.load([
        {"name": "final", "input_contains": ["and now?"], "output": "All good.", "ttft_ms": 0},
        {"name": "slow", "input_contains": ["slow question"], "output": long, "fault": {"kind": "stall_before", "stall_ms": 8000}},
        {"name": "busy", "input_contains": ["busy question"], "output": long, "fault": {"kind": "429", "retry_after": 1}},
        {"name": "drop", "input_contains": ["dropped question"], "output": long, "ttft_ms": 0, "fault": {"kind": "drop", "after_tokens": 3}},
        {"name": "hello", "input_contains": ["hello"], "output": "hi", "ttft_ms": 0},
    ])
    ask = lambda message: request(client, "sparkforge/chat", {"conversationId": "c", "role": "deep", "message": message})
    assert (await ask("hello"))["text"] == "hi"

    failures = {  # the question: what the error says, and what the status bar then shows
        "slow question": ([f"({DEEP}) sent nothing in ", "(1 try of 2 s)", "raise sparkforge.deep.timeouts.firstToken"], "sent nothing"),
        "busy question": ([f"{DEEP} is rate-limited (HTTP 429), resuming in 1 s"], "rate-limited"),
        "dropped question": (["dropped mid-answer", "try again"], "dropped mid-answer"),
    }
    for question, (says, status) in failures.items():
        err = await fails(ask(question))
        message = message_of(err)
        assert err.code == REQUEST_FAILED
        assert message.startswith(f"sparkforge: chat with {DEEP} failed"), message
        for phrase in says:
            assert phrase in message, (phrase, message)
        assert f"switch this chat to the fast model ({FAST})" in message
        assert await stream_closed(model_server)
        assert await wait_until(lambda: status in (client.status_updates[-1]["deep"]["lastError"] or ""))
        await model_resumed(client, "deep")  # the 429 paused it: nothing is sent until then

    final = await ask("and now?")
    assert final["text"] == "All good."
    turns = model_server.requests()[-1]["body"]["input"]
    assert [(t["role"], t["content"]) for t in turns] == [("user", "hello"), ("assistant", "hi"), ("user", "and now?")]


async def test_chat_apply_refuses_what_it_cannot_apply_whole(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    (workspace / "report.py").write_text(REPORT)
    block = "```python\ndef total(items):\n    return sum(item.price for item in items)\n```"

    async def apply_fails(code: str) -> str:
        err = await fails(request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": code, "version": doc.version}))
        assert err.code == REQUEST_FAILED
        return message_of(err)

    model_server.load([{"name": "busy", "model": FAST, "output": CART, "fault": {"kind": "429", "retry_after": 1}}])
    message = await apply_fails(block)
    assert f"{FAST} is rate-limited (HTTP 429), resuming in 1 s" in message and "nothing was applied" in message
    await model_resumed(client, "fast")

    for garbage in ("I'm sorry, I can't merge this code into the file.\nPlease do it by hand.\n", ""):
        model_server.load([{"name": "garbage", "model": FAST, "output": garbage}])
        message = await apply_fails(block)
        assert f"{FAST}" in message and "nothing was applied" in message, message

    lazy = CART.split("def total")[0] + "# ... existing code ...\ndef total(items):\n    return sum(item.price for item in items)\n"
    model_server.load([{"name": "lazy", "model": FAST, "output": lazy}])
    message = await apply_fails(block)
    assert "... existing code ..." in message and "nothing was applied" in message

    message = await apply_fails(f"```diff\n{RENAME_DIFF}```")
    assert all(p in message for p in RENAME_SAYS)

    assert await stream_closed(model_server)
    assert client.applied == []  # type: ignore[attr-defined]  # no edit reached the editor
    # a good merge still works
    merged = CART.split("def total")[0] + "def total(items):\n    return sum(item.price for item in items)\n"
    model_server.load([{"name": "good", "model": FAST, "output": merged}])
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": block, "version": doc.version})
    edit = client.protocol._converter.structure(result["edit"], types.WorkspaceEdit)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)[doc.uri] == merged
