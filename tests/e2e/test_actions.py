"""Code actions end to end: the lightbulb costs no model call; resolving runs the deep model
(Responses apply_patch, or a unified diff over Chat Completions) and returns a versioned
WorkspaceEdit that, applied as an editor would, gives the expected text, or a clear error."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from lsphelp import Doc, Pending, actions_at, apply_edit, list_actions, plain, wait_until
from samples import CART, CART_DOCUMENTED, DEEP, DOC_PATCH, DOCSTRING, FAST, deep


TESTS = (
    "from cart import total\n"
    "\n"
    "\n"
    "def test_total_of_nothing_is_zero():\n"
    "    assert total([]) == 0\n"
)


# -- helpers ----------------------------------------------------------------------------------
def error_of(exc: BaseException) -> str:
    return str(getattr(exc, "message", exc))


# -- listing ----------------------------------------------------------------------------------
async def test_code_action_capability_is_advertised_with_resolve(client: LanguageClient):
    provider = client.init_result.capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions)
    assert provider.resolve_provider is True
    assert {"quickfix", "refactor", "refactor.rewrite"} <= {str(k) for k in provider.code_action_kinds}
    commands = client.init_result.capabilities.execute_command_provider.commands
    assert "sparkforge.runAction" in commands and "sparkforge.explain" not in commands


async def test_listing_offers_every_action_with_no_model_call(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    diag = types.Diagnostic(
        range=types.Range(start=types.Position(line=6, character=18), end=types.Position(line=6, character=28)),
        message='"price" is not a known attribute', severity=types.DiagnosticSeverity.Error, source="pyright",
    )
    result = await list_actions(client, doc, (5, 8), diagnostics=[diag])
    titles = [a.title for a in result]
    assert titles == [
        'Fix with sparkforge: "price" is not a known attribute',
        "Refactor with sparkforge…",
        "Document total with sparkforge",
        "Generate tests for total with sparkforge",
        "Explain total with sparkforge",
    ]
    by_kind = {a.data["kind"]: a for a in result}
    assert by_kind["refactor"].kind == "refactor.rewrite" and by_kind["refactor"].data["needsInstruction"] is True
    assert by_kind["document"].kind == "refactor.rewrite"
    assert by_kind["tests"].kind == "refactor"
    assert by_kind["fix"].kind == "quickfix" and by_kind["fix"].diagnostics[0].message == diag.message
    assert by_kind["fix"].data["diagnostic"]["message"] == diag.message
    whole_function = {"start": {"line": 3, "character": 0}, "end": {"line": 7, "character": 17}}
    data = by_kind["document"].data
    assert data == {"kind": "document", "uri": doc.uri, "range": whole_function, "version": 1,
                    "target": "function", "name": "total"}
    explain = by_kind["explain"]
    # a command the server itself runs, so that it works in every editor
    assert explain.command.command == "sparkforge.runAction"
    assert [plain(a) for a in explain.command.arguments] == [
        {"kind": "explain", "uri": doc.uri, "range": whole_function, "version": 1, "target": "function", "name": "total"}
    ]
    assert all(a.edit is None and a.command is None for a in result if a.data["kind"] != "explain")
    assert model_server.stats()["requests_total"] == 0


async def test_actions_only_where_they_make_sense(client: LanguageClient, workspace, model_server, settings):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sparkforge": dict(settings, exclude=["private/**"])})
    )
    doc = Doc(client, workspace / "cart.py", CART)
    assert await actions_at(client, doc, (0, 3)) == {}  # on `import math`: no function, no selection
    selection = await actions_at(client, doc, (0, 0), (1, 0))
    assert set(selection) == {"refactor", "document", "tests", "explain"}
    assert selection["document"].title == "Document the selection with sparkforge"
    assert selection["document"].data["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    only_fixes = await actions_at(client, doc, (5, 8), only=["quickfix"])
    assert only_fixes == {}
    env = Doc(client, workspace / ".env", "def f():\n    return 1\n", language="dotenv")
    private = Doc(client, workspace / "private" / "keys.py", CART)
    tests = Doc(client, workspace / "tests" / "test_cart.py", TESTS)
    assert await actions_at(client, env, (1, 4)) == {}
    assert await actions_at(client, private, (5, 8), (6, 0)) == {}
    assert "tests" not in await actions_at(client, tests, (4, 4))  # no tests for the tests
    assert model_server.stats()["requests_total"] == 0


# -- resolving ------------------------------------------------------------------------------
DOC_DIFF = (
    "--- a/cart.py\n+++ b/cart.py\n"
    "@@ -4,2 +4,3 @@\n def total(items):\n+" + DOCSTRING + "     result = 0\n"
)


def use_api(client: LanguageClient, settings: dict[str, Any], api: str, **more: Any) -> None:
    """Point the deep role at the given API (settings arrive as didChangeConfiguration)."""
    deep_role = dict(settings["deep"], api=api)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"sparkforge": dict(settings, deep=deep_role, **more)})
    )


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_document_resolves_to_a_versioned_edit_applied_in_one_click(
    client: LanguageClient, workspace, model_server, settings, api
):
    use_api(client, settings, api)
    model_server.load([deep("doc", ["Document function total"], output="Added a docstring.",
                            patches=[DOC_PATCH], chat_diff=DOC_DIFF)])
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (5, 8)))["document"]
    assert model_server.stats()["requests_total"] == 0
    resolved = await client.code_action_resolve_async(action)
    edit = resolved.edit
    (change,) = edit.document_changes
    assert change.text_document.uri == doc.uri and change.text_document.version == doc.version
    # no needsConfirmation: the editor applies it at once (sparkforge.actions.preview: never)
    assert edit.change_annotations is None
    assert all(getattr(e, "annotation_id", None) is None for e in change.edits)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)[doc.uri] == CART_DOCUMENTED
    sent = model_server.requests()
    assert len(sent) == 1 and sent[0]["model"] == DEEP
    assert sent[0]["endpoint"] == api
    if api == "responses":
        assert sent[0]["body"]["tools"] == [{"type": "apply_patch"}]
    else:
        assert "unified diff" in sent[0]["prompt"]
    assert "    for item in items:\n        result += item.price" in sent[0]["prompt"]
    # work-done progress named the action and the model, and ended
    (reports,) = [r for t, r in client.progress_reports.items() if str(t).startswith("sparkforge-action")]
    assert reports[0].title == f"sparkforge: Document with {DEEP}" and reports[0].cancellable is True
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


def with_instruction(client: LanguageClient, action: types.CodeAction, instruction: str) -> types.CodeAction:
    """What the VS Code client does for "Refactor with sparkforge…": ask, then resolve with it."""
    assert action.data["needsInstruction"] is True
    action.data = {**action.data, "instruction": instruction}
    return action


SUM_PATCH = {"type": "update_file", "path": "cart.py", "diff": (
    "@@ def total(items):\n"
    "-    result = 0\n-    for item in items:\n-        result += item.price\n-    return result\n"
    "+    return sum(item.price for item in items)\n")}
# Hunk header numbers are wrong (line 40): the hunk still applies, located by its context.
SUM_DIFF = (
    "--- a/cart.py\n+++ b/cart.py\n@@ -40,5 +40,2 @@\n def total(items):\n"
    "-    result = 0\n-    for item in items:\n-        result += item.price\n-    return result\n"
    "+    return sum(item.price for item in items)\n"
)
CART_SUMMED = CART.split("def total")[0] + "def total(items):\n    return sum(item.price for item in items)\n"


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_refactor_follows_the_instruction_and_wrong_line_numbers_still_apply(
    client: LanguageClient, workspace, model_server, settings, api
):
    use_api(client, settings, api)
    model_server.load([deep("sum", ["use sum() with a generator"], output="Used sum().",
                            patches=[SUM_PATCH], chat_diff=SUM_DIFF)])
    doc = Doc(client, workspace / "cart.py", CART)
    action = with_instruction(client, (await actions_at(client, doc, (4, 4)))["refactor"], "use sum() with a generator")
    resolved = await client.code_action_resolve_async(action)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART_SUMMED
    prompt = model_server.requests()[-1]["prompt"]
    assert "Refactor function total in cart.py. The user's instruction: use sum() with a generator" in prompt


async def test_refactor_without_an_instruction_improves_readability(client: LanguageClient, workspace, model_server):
    model_server.load([deep("readable", ["Improve readability"], patches=[SUM_PATCH])])
    doc = Doc(client, workspace / "cart.py", CART)
    resolved = await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["refactor"])
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART_SUMMED


NEW_TESTS = (
    "import pytest\n\nfrom cart import total\n\n\n"
    "class Item:\n    def __init__(self, price):\n        self.price = price\n\n\n"
    "def test_total_adds_prices():\n    assert total([Item(2), Item(3)]) == 5\n"
)
TESTS_PATCH = {"type": "create_file", "path": "tests/test_cart.py",
               "diff": "".join("+" + line + "\n" for line in NEW_TESTS.splitlines())}
TESTS_DIFF = (
    f"--- /dev/null\n+++ b/tests/test_cart.py\n@@ -0,0 +1,{len(NEW_TESTS.splitlines())} @@\n"
    + "".join("+" + line + "\n" for line in NEW_TESTS.splitlines())
)


@pytest.mark.parametrize("api", ["responses", "chat"])
async def test_generate_tests_creates_a_pytest_file_under_tests(client: LanguageClient, workspace, model_server, settings, api):
    use_api(client, settings, api)
    (workspace / "tests").mkdir()
    (workspace / "tests" / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef items():\n    return []\n")
    model_server.load([deep("tests", ["Create the new test file tests/test_cart.py", "pytest"],
                            output="Added tests.", patches=[TESTS_PATCH], chat_diff=TESTS_DIFF)])
    doc = Doc(client, workspace / "cart.py", CART)
    resolved = await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["tests"])
    create, fill = resolved.edit.document_changes
    test_uri = (workspace / "tests" / "test_cart.py").as_uri()
    assert isinstance(create, types.CreateFile) and create.uri == test_uri
    assert create.options.overwrite is False and create.annotation_id is None
    assert fill.text_document.uri == test_uri and fill.text_document.version is None
    files = apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)
    assert files == {doc.uri: CART, test_uri: NEW_TESTS}
    prompt = model_server.requests()[-1]["prompt"]
    assert "def items():" in prompt  # the conftest's fixtures were shown
    assert "from cart import" in prompt


async def test_generate_tests_extends_the_existing_test_file(client: LanguageClient, workspace, model_server):
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_cart.py").write_text(TESTS)
    added = "\n\ndef test_total_of_one_item():\n    assert total([Item(4)]) == 4\n"
    patch = {"type": "update_file", "path": "tests/test_cart.py",
             "diff": "@@ def test_total_of_nothing_is_zero():\n     assert total([]) == 0\n"
             + "".join("+" + line + "\n" for line in added.splitlines())}
    model_server.load([deep("extend", ["extend this file", "def test_total_of_nothing_is_zero"], patches=[patch])])
    doc = Doc(client, workspace / "cart.py", CART)
    resolved = await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["tests"])
    (change,) = resolved.edit.document_changes
    test_uri = (workspace / "tests" / "test_cart.py").as_uri()
    assert change.text_document.uri == test_uri and change.text_document.version is None  # not open: on disk
    files = apply_edit({doc.uri: doc.text, test_uri: TESTS}, {doc.uri: doc.version}, resolved.edit)
    assert files[test_uri] == TESTS + added


async def test_fix_sends_the_diagnostic_and_fixes_it(client: LanguageClient, workspace, model_server):
    broken = CART.replace("return result", "return reslt")
    diag = types.Diagnostic(
        range=types.Range(start=types.Position(line=7, character=11), end=types.Position(line=7, character=16)),
        message='"reslt" is not defined', severity=types.DiagnosticSeverity.Error, source="pyflakes", code="F821",
    )
    fix = {"type": "update_file", "path": "cart.py", "diff": "@@ def total(items):\n-    return reslt\n+    return result\n"}
    model_server.load([deep("fix", ['error at line 8: "reslt" is not defined [pyflakes F821]'], patches=[fix])])
    doc = Doc(client, workspace / "cart.py", broken)
    other = types.Diagnostic(range=diag.range, message="unused thing", severity=types.DiagnosticSeverity.Warning)
    fixes = [a for a in await list_actions(client, doc, (7, 12), diagnostics=[diag, other]) if a.data["kind"] == "fix"]
    assert [a.title for a in fixes] == ['Fix with sparkforge: "reslt" is not defined', "Fix with sparkforge: unused thing"]
    resolved = await client.code_action_resolve_async(fixes[0])
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART
    no_diagnostics = await actions_at(client, doc, (7, 12))
    assert "fix" not in no_diagnostics


async def test_explain_resolves_to_itself_without_a_model_call(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    explain = (await actions_at(client, doc, (4, 4)))["explain"]
    resolved = await client.code_action_resolve_async(explain)
    assert resolved.edit is None and resolved.command.command == "sparkforge.runAction"
    assert model_server.stats()["requests_total"] == 0


# -- failures: a clear error and no edit ----------------------------------------------------
async def test_a_patch_that_cannot_apply_is_a_clear_error(client: LanguageClient, workspace, model_server):
    wrong = {"type": "update_file", "path": "cart.py", "diff": "@@ def total(items):\n-    result = 1000\n+    result = 0\n"}
    model_server.load([deep("wrong", ["Document"], patches=[wrong])])
    doc = Doc(client, workspace / "cart.py", CART)
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["document"])
    message = error_of(err.value)
    assert "cannot locate hunk 1 of cart.py" in message and "result = 1000" in message
    assert message.endswith("nothing was applied")
    assert client.applied == []  # type: ignore[attr-defined]  # no edit reached the editor


@pytest.mark.parametrize("path", ["../evil.py", "/etc/passwd"])
async def test_a_patch_aimed_outside_the_workspace_is_refused(client: LanguageClient, workspace, model_server, path):
    op = ({"type": "create_file", "path": path, "diff": "+import os\n"} if path.endswith(".py")
          else {"type": "update_file", "path": path, "diff": "@@\n-root:x:0:0:root:/root:/bin/bash\n+owned\n"})
    model_server.load([deep("evil", ["Write tests for function total"], patches=[op])])
    doc = Doc(client, workspace / "cart.py", CART)
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["tests"])
    assert f"refused: {path} is outside the workspace; nothing was applied" in error_of(err.value)
    assert not (workspace.parent / "evil.py").exists()


async def test_a_model_failure_names_the_model_and_suggests_the_other(client: LanguageClient, workspace, model_server):
    model_server.load([deep("down", ["Document"], fault={"kind": "500"})])
    doc = Doc(client, workspace / "cart.py", CART)
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["document"])
    message = error_of(err.value)
    assert f"Document with {DEEP} failed" in message and "HTTP 500" in message
    assert f'route this action to the fast model ({FAST}): sparkforge.actions.routing = {{"document": "fast"}}' in message


async def test_routing_sends_an_action_to_the_fast_model(client: LanguageClient, workspace, model_server, settings):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": dict(settings, actions={"routing": {"document": "fast"}})}))
    model_server.load([dict(deep("doc", ["Document function total"], patches=[DOC_PATCH]), model=FAST)])
    doc = Doc(client, workspace / "cart.py", CART)
    resolved = await client.code_action_resolve_async((await actions_at(client, doc, (4, 4)))["document"])
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART_DOCUMENTED
    assert model_server.requests()[-1]["model"] == FAST
    (reports,) = [r for t, r in client.progress_reports.items() if str(t).startswith("sparkforge-action")]
    assert reports[0].title == f"sparkforge: Document with {FAST}"


# -- while the model works --------------------------------------------------------------------
async def resolve_slowly(client: LanguageClient, model_server, doc: Doc, kind: str = "document", **timing) -> Pending:
    model_server.load([deep("slow", ["Document function total"], output="Added a docstring.",
                            patches=[DOC_PATCH], **(timing or {"ttft_ms": 800}))])
    action = (await actions_at(client, doc, (4, 4)))[kind]
    pending = Pending(client, types.CODE_ACTION_RESOLVE, action)
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    return pending


@pytest.mark.parametrize("where", ["where the edit goes", "elsewhere"])
async def test_a_document_edited_during_resolve_never_gets_a_misplaced_edit(
    client: LanguageClient, workspace, model_server, where
):
    doc = Doc(client, workspace / "cart.py", CART)
    before, old_version = doc.text, doc.version
    pending = await resolve_slowly(client, model_server, doc)
    if where == "where the edit goes":
        doc.edit(4, 0, 4, 0, "    # TODO\n")  # exactly where the docstring goes
    else:
        doc.edit(0, 0, 0, 11, "import math as m")  # the import line, far from the docstring
    edit = client.protocol._converter.structure((await pending.result())["edit"], types.WorkspaceEdit)
    (change,) = edit.document_changes
    if where == "where the edit goes":
        # versioned to what the model saw: the editor refuses it rather than misplace it
        assert change.text_document.version == old_version
        with pytest.raises(AssertionError, match="stale edit refused"):
            apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)
        assert apply_edit({doc.uri: before}, {doc.uri: old_version}, edit)[doc.uri] == CART_DOCUMENTED
    else:
        # moved onto the current text, and versioned to it
        assert change.text_document.version == doc.version
        expected = CART_DOCUMENTED.replace("import math\n", "import math as m\n")
        assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, edit)[doc.uri] == expected


async def test_an_action_listed_for_an_older_version_is_not_run(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (4, 4)))["document"]
    doc.edit(0, 0, 0, 0, "# edited\n")  # the target's range no longer means the same lines
    with pytest.raises(JsonRpcException) as err:
        await client.code_action_resolve_async(action)
    assert err.value.code == -32801  # ContentModified
    assert "changed since the action was offered (version 1, now 2); pick the action again" in error_of(err.value)
    assert model_server.stats()["requests_total"] == 0


async def test_cancelling_resolve_closes_the_model_stream(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    pending = await resolve_slowly(client, model_server, doc, ttft_ms=5000)
    pending.cancel()  # $/cancelRequest, as an editor sends when the user gives up
    with pytest.raises(JsonRpcException) as err:
        await pending.result()
    assert err.value.code == -32800  # RequestCancelled
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 1
    (reports,) = [r for t, r in client.progress_reports.items() if str(t).startswith("sparkforge-action")]
    assert await wait_until(lambda: isinstance(reports[-1], types.WorkDoneProgressEnd))
    assert reports[-1].message == "cancelled"


async def test_cancelling_the_progress_closes_the_model_stream(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    pending = await resolve_slowly(client, model_server, doc, ttft_ms=5000)
    tokens = [t for t in client.progress_reports if str(t).startswith("sparkforge-action")]
    assert await wait_until(lambda: client.progress_reports[tokens[0]])
    # the cancel button on the progress notification
    client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=tokens[0]))
    with pytest.raises(JsonRpcException):
        await pending.result()
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 1


async def test_progress_reports_streamed_token_counts(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    pending = await resolve_slowly(client, model_server, doc, ttft_ms=5, tokens_per_s=60)
    await pending.result()
    (reports,) = [r for t, r in client.progress_reports.items() if str(t).startswith("sparkforge-action")]
    counts = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert counts and all(m.endswith(f"tokens from {DEEP}") for m in counts)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)


# -- UTF-16 and CRLF ----------------------------------------------------------------------------
async def test_ranges_are_utf16_and_crlf_is_kept(client: LanguageClient, workspace, model_server):
    text = 'def label(name):\r\n    return "🎉🎉 " + name'  # CRLF, no final newline, emoji
    fixed = 'def label(name):\r\n    return "🎉🎉 " + name.title()'
    patch = {"type": "update_file", "path": "label.py",
             "diff": '@@ def label(name):\n-    return "🎉🎉 " + name\n+    return "🎉🎉 " + name.title()\n'}
    model_server.load([deep("emoji", ["Refactor function label"], patches=[patch])])
    doc = Doc(client, workspace / "label.py", text)
    action = (await actions_at(client, doc, (1, 4)))["refactor"]
    assert action.data["range"]["end"] == {"line": 1, "character": len('    return "🎉🎉 " + name') + 2}
    resolved = await client.code_action_resolve_async(with_instruction(client, action, "title-case the name"))
    (change,) = resolved.edit.document_changes
    assert change.edits[-1].range.end.character == len('    return "🎉🎉 " + name') + 2
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == fixed


# -- clients that cannot resolve an edit: sparkforge.runAction + workspace/applyEdit -----------
async def test_run_action_applies_through_workspace_apply_edit(plain_client: LanguageClient, workspace, model_server):
    model_server.load([deep("doc", ["Document function total"], patches=[DOC_PATCH])])
    doc = Doc(plain_client, workspace / "cart.py", CART)
    action = (await actions_at(plain_client, doc, (4, 4)))["document"]
    assert action.command.command == "sparkforge.runAction" and list(action.command.arguments) == [action.data]
    assert model_server.stats()["requests_total"] == 0
    reply = await plain_client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=list(action.command.arguments)))
    assert plain(reply) == {"applied": True}
    (applied,) = plain_client.applied  # type: ignore[attr-defined]
    assert applied.label == "sparkforge: Document"
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, applied.edit)[doc.uri] == CART_DOCUMENTED


async def test_run_action_reports_a_failure_with_show_message(plain_client: LanguageClient, workspace, model_server):
    model_server.load([deep("down", ["Document"], fault={"kind": "500"})])
    doc = Doc(plain_client, workspace / "cart.py", CART)
    action = (await actions_at(plain_client, doc, (4, 4)))["document"]
    reply = await plain_client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=list(action.command.arguments)))
    assert plain(reply)["applied"] is False
    assert plain_client.applied == []  # type: ignore[attr-defined]
    assert await wait_until(lambda: any(f"Document with {DEEP} failed" in m.message for m in plain_client.messages))


async def test_run_action_explain_shows_the_answer(plain_client: LanguageClient, workspace, model_server):
    model_server.load([deep("explain", ["Explain function total"], output="It adds up the prices.")])
    doc = Doc(plain_client, workspace / "cart.py", CART)
    explain = (await actions_at(plain_client, doc, (4, 4)))["explain"]
    assert explain.command.command == "sparkforge.runAction"  # run by the server, in every client
    reply = plain(await plain_client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="sparkforge.runAction", arguments=[explain.data])))
    assert reply["applied"] is False and reply["text"] == "It adds up the prices."
    # VS Code's capabilities include window/showDocument: the answer opens as Markdown
    (shown,) = plain_client.shown_documents
    assert shown.uri == reply["uri"] and shown.uri.endswith(".md")


@pytest.mark.parametrize(("preview", "document_confirms", "tests_confirm"),
                         [("always", True, True), ("multiFile", False, True), ("never", False, False)])
async def test_actions_preview_asks_for_confirmation_only_where_set(
    client: LanguageClient, workspace, model_server, settings, preview, document_confirms, tests_confirm
):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": dict(settings, actions={"preview": preview})}))
    model_server.load([deep("doc", ["Document function total"], patches=[DOC_PATCH]),
                       deep("tests", ["Create the new test file tests/test_cart.py"], patches=[TESTS_PATCH])])
    doc = Doc(client, workspace / "cart.py", CART)
    (workspace / "tests").mkdir()
    actions = await actions_at(client, doc, (4, 4))
    documented = (await client.code_action_resolve_async(actions["document"])).edit
    tests = (await client.code_action_resolve_async(actions["tests"])).edit

    def confirms(edit: types.WorkspaceEdit) -> bool:
        notes = edit.change_annotations or {}
        return bool(notes) and all(n.needs_confirmation for n in notes.values())

    assert (confirms(documented), confirms(tests)) == (document_confirms, tests_confirm)
