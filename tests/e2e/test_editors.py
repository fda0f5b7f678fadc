"""Every LSP client, not just VS Code: position encodings, pulled settings, Explain as a server
command, and edits shaped by what the client announced.

Each test starts ``sparkforge lsp`` with the capabilities of the client it stands for (a
Neovim that offers utf-8, an eglot without resource operations, a client without
``documentChanges``...) and checks what that client would see.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import Doc, actions_at, inline_params, lsp_settings, plain, raw_request, wait_until
from samples import CART, CURSOR, DEEP, END, FAST, START, deep

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]

# A line with a two-byte-in-UTF-16 emoji, a three-byte euro sign and CJK before the cursor.
LABEL = 'def label(name):\n    tag = "€ 🍕 価格 " + na\n    return tag\n'
LABEL_LINE = '    tag = "€ 🍕 価格 " + na'
# The cursor after "na", counted by hand: 24 code points; 🍕 is two UTF-16 units (25);
# €, 価 and 格 are three UTF-8 bytes each and 🍕 four (24 + 2 + 3 + 2 + 2 = 33).
END_OF_LABEL_LINE = {"utf-32": 24, "utf-16": 25, "utf-8": 33}


# -- a client per test, initialized by the test with the capabilities it stands for ----------
@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def bare(lsp_client: LanguageClient, model_server):
    model_server.reset(scenarios=True)
    lsp_client.applied = []  # type: ignore[attr-defined]
    lsp_client.asked = []  # type: ignore[attr-defined]

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        lsp_client.applied.append(params)  # type: ignore[attr-defined]
        return types.ApplyWorkspaceEditResult(applied=True)

    @lsp_client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(params: types.ShowMessageRequestParams) -> None:
        lsp_client.asked.append(params)  # type: ignore[attr-defined]
        return None

    # window/showDocument (recorded in shown_documents) and workspace/configuration (answered
    # from set_configuration) are pytest-lsp's own
    lsp_client.started = False  # type: ignore[attr-defined]
    yield
    if lsp_client.started:  # type: ignore[attr-defined]
        await lsp_client.shutdown_session()


async def start(client: LanguageClient, workspace: Path, settings: dict[str, Any] | None,
                capabilities: types.ClientCapabilities, folders: list[Path] | None = None) -> types.InitializeResult:
    folders = folders or [workspace]
    result = await client.initialize_session(types.InitializeParams(
        capabilities=capabilities,
        root_uri=folders[0].as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
        initialization_options=settings,
    ))
    client.started = True  # type: ignore[attr-defined]
    return result


def vscode_caps(**changes: Any) -> types.ClientCapabilities:
    caps = copy.deepcopy(client_capabilities("visual-studio-code"))
    for path, value in changes.items():
        obj = caps
        *parents, last = path.split("__")
        for name in parents:
            obj = getattr(obj, name)
        setattr(obj, last, value)
    return caps


def offering(encoding: str) -> types.ClientCapabilities:
    return vscode_caps(general__position_encodings=[encoding])


def column(line: str, character: int, encoding: str) -> int:
    """The str index of an LSP character in ``encoding``, by encoding the line: a derivation
    independent of the server's own conversion."""
    if encoding == "utf-32":
        return character
    codec, width = ("utf-8", 1) if encoding == "utf-8" else ("utf-16-le", 2)
    data = line.encode(codec, "surrogatepass")
    return len(data[: character * width].decode(codec, "surrogatepass"))


def apply_in(encoding: str, text: str, edits: list[types.TextEdit]) -> str:
    """Apply TextEdits to ``text`` as an editor using ``encoding`` would (end first)."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        return sum(len(l) + 1 for l in lines[: pos.line]) + column(lines[pos.line], pos.character, encoding)

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end):]
    return text


# -- position encodings -----------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
async def test_positions_in_the_negotiated_encoding(bare: LanguageClient, workspace, model_server, encoding):
    init = await start(bare, workspace, lsp_settings(model_server.base_url), offering(encoding))
    assert init.capabilities.position_encoding == encoding
    doc = Doc(bare, workspace / "label.py", LABEL)
    end = END_OF_LABEL_LINE[encoding]

    # ghost text at the end of the line, in the client's units
    model_server.load([{
        "name": "complete", "model": FAST, "input_contains": [f"+ na{CURSOR}"],
        "output": f'{START}\ndef label(name):\n    tag = "€ 🍕 価格 " + name\n    return tag\n{END}',
    }])
    result = await bare.text_document_inline_completion_async(inline_params(doc.uri, 1, end))
    item = result.items[0]
    assert item.insert_text == "me"
    assert (item.range.start.line, item.range.start.character) == (1, end)
    edited = apply_in(encoding, LABEL, [types.TextEdit(range=item.range, new_text=item.insert_text)])
    assert edited == 'def label(name):\n    tag = "€ 🍕 価格 " + name\n    return tag\n'

    # a position past the end of the line, in this encoding, is refused clearly
    with pytest.raises(JsonRpcException, match="past the end of the line"):
        await bare.text_document_inline_completion_async(inline_params(doc.uri, 1, end + 1))

    # Document, with the cursor at the end of that line: its edit lands in the right place
    actions = await actions_at(bare, doc, (1, end))
    assert actions["document"].data["range"] == {
        "start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 14}}
    model_server.load([deep("doc", ["Document function label"], patches=[{
        "type": "update_file", "path": "label.py",
        "diff": '@@ def label(name):\n-    tag = "€ 🍕 価格 " + na\n+    tag = "€ 🍕 価格 " + na  # 🍕 label\n',
    }])])
    resolved = await bare.code_action_resolve_async(actions["document"])
    (change,) = resolved.edit.document_changes
    after = apply_in(encoding, LABEL, change.edits)
    assert after == 'def label(name):\n    tag = "€ 🍕 価格 " + na  # 🍕 label\n    return tag\n'


async def test_utf8_positions_follow_incremental_changes(bare: LanguageClient, workspace, model_server):
    """Neovim sends didChange ranges in utf-8 too: the document the server keeps stays right."""
    await start(bare, workspace, lsp_settings(model_server.base_url), offering("utf-8"))
    doc = Doc(bare, workspace / "label.py", LABEL)
    # replace "na" (bytes 31-33 of line 1) with "nam", as Neovim would report it
    bare.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=doc.uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=1, character=31), end=types.Position(line=1, character=33)),
            text="nam")],
    ))
    model_server.load([{
        "name": "complete", "model": FAST, "input_contains": [f'" + nam{CURSOR}'],
        "output": f'{START}\ndef label(name):\n    tag = "€ 🍕 価格 " + name\n    return tag\n{END}',
    }])
    result = await bare.text_document_inline_completion_async(inline_params(doc.uri, 1, 34))
    assert result.items[0].insert_text == "e"


# -- settings ---------------------------------------------------------------------------------
async def test_an_empty_did_change_configuration_keeps_the_settings(bare: LanguageClient, workspace, model_server):
    """eglot sends {settings: {}} right after initialized; the initializationOptions stay."""
    caps = vscode_caps(workspace__configuration=False)
    await start(bare, workspace, lsp_settings(model_server.base_url), caps)
    bare.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    bare.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"sparkforge": {"inline": {"enabled": True}}}))
    status = plain(await raw_request(bare, "sparkforge/getStatus", {}))
    assert status["deep"]["baseUrl"] == model_server.base_url
    assert status["fast"]["baseUrl"] == model_server.base_url
    # and the deep model is still the local one: Document works
    doc = Doc(bare, workspace / "cart.py", CART)
    model_server.load([deep("doc", ["Document function total"], patches=[{
        "type": "update_file", "path": "cart.py", "diff": '@@ def total(items):\n+    """Sum."""\n     result = 0\n'}])])
    actions = await actions_at(bare, doc, (4, 4))
    resolved = await bare.code_action_resolve_async(actions["document"])
    assert resolved.edit is not None
    # it never said it could answer workspace/configuration, so it is never asked
    bare.set_configuration({"deep": {"model": "never-asked"}}, section="sparkforge")
    bare.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    assert plain(await raw_request(bare, "sparkforge/getStatus", {}))["deep"]["model"] == DEEP


async def test_settings_pulled_with_workspace_configuration(bare: LanguageClient, workspace, model_server, tmp_path):
    """A client that answers workspace/configuration gets its settings from there (whole
    workspace and per folder), on top of initializationOptions."""
    other = tmp_path / "other"
    other.mkdir()
    pulled = lsp_settings(model_server.base_url, deep={"model": "gpt-5.3-codex-pulled"})
    bare.set_configuration(pulled, section="sparkforge")
    bare.set_configuration({**pulled, "exclude": ["drafts/**"]}, section="sparkforge", scope_uri=other.as_uri())
    await start(bare, workspace, {"fast": {"model": "from-init-options"}}, vscode_caps(),
                folders=[workspace, other])

    async def status_when(predicate) -> dict[str, Any]:
        # a pulled answer is applied when it arrives: ask until it shows (each ask is a round trip)
        for _ in range(300):
            st = plain(await raw_request(bare, "sparkforge/getStatus", {}))
            if predicate(st):
                break
        return st

    st = await status_when(lambda st: st["deep"]["model"] == "gpt-5.3-codex-pulled")
    assert st["deep"]["model"] == "gpt-5.3-codex-pulled"
    assert st["fast"]["model"] == FAST  # the pulled section names the fast model too
    # per folder: drafts/ is excluded in `other` only
    (other / "drafts").mkdir()
    excluded = Doc(bare, other / "drafts" / "cart.py", CART)
    assert await actions_at(bare, excluded, (4, 4)) == {}
    (workspace / "drafts").mkdir()
    allowed = Doc(bare, workspace / "drafts" / "cart.py", CART)
    assert "document" in await actions_at(bare, allowed, (4, 4))
    # a didChangeConfiguration, even an empty one, makes the server pull again
    bare.set_configuration("gpt-5.3-codex-changed", section="sparkforge.deep.model")
    bare.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={}))
    st = await status_when(lambda st: st["deep"]["model"] == "gpt-5.3-codex-changed")
    assert st["deep"]["model"] == "gpt-5.3-codex-changed"
    assert st["deep"]["baseUrl"] == model_server.base_url


# -- Explain, run by the server -----------------------------------------------------------------
async def test_explain_is_a_server_command_shown_as_a_document(bare: LanguageClient, workspace, model_server):
    await start(bare, workspace, lsp_settings(model_server.base_url), vscode_caps())
    doc = Doc(bare, workspace / "cart.py", CART)
    model_server.load([deep("explain", ["Explain function total"], output="It adds up the prices.")])
    explain = (await actions_at(bare, doc, (4, 4)))["explain"]
    assert explain.command.command == "sparkforge.runAction"
    reply = plain(await bare.workspace_execute_command_async(types.ExecuteCommandParams(
        command=explain.command.command, arguments=list(explain.command.arguments))))
    assert reply["text"] == "It adds up the prices." and reply["applied"] is False
    (shown,) = bare.shown_documents
    assert shown.uri == reply["uri"] and shown.take_focus is True
    path = Path(shown.uri.removeprefix("file://"))
    assert path.suffix == ".md" and not path.is_relative_to(workspace)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# total in cart.py\n") and "It adds up the prices." in text


async def test_explain_without_show_document_asks_with_a_message(bare: LanguageClient, workspace, model_server):
    caps = vscode_caps(window__show_document=None)
    await start(bare, workspace, lsp_settings(model_server.base_url), caps)
    doc = Doc(bare, workspace / "cart.py", CART)
    model_server.load([deep("explain", ["Explain function total"], output="It adds up the prices.")])
    explain = (await actions_at(bare, doc, (4, 4)))["explain"]
    await bare.workspace_execute_command_async(types.ExecuteCommandParams(
        command=explain.command.command, arguments=list(explain.command.arguments)))
    assert await wait_until(lambda: bare.asked)  # type: ignore[attr-defined]
    assert bare.asked[0].message == "sparkforge: It adds up the prices."  # type: ignore[attr-defined]
    assert bare.shown_documents == []


async def test_no_action_names_a_command_the_server_does_not_run(bare: LanguageClient, workspace, model_server):
    caps = vscode_caps(text_document__code_action__resolve_support=None)
    init = await start(bare, workspace, lsp_settings(model_server.base_url), caps)
    commands = set(init.capabilities.execute_command_provider.commands)
    doc = Doc(bare, workspace / "cart.py", CART)
    actions = await actions_at(bare, doc, (4, 4))
    assert set(actions) == {"refactor", "document", "tests", "explain"}
    assert {a.command.command for a in actions.values()} <= commands


# -- capabilities -----------------------------------------------------------------------------
async def test_generate_tests_without_create_support_says_what_to_create(bare: LanguageClient, workspace, model_server):
    """eglot 1.9 announces no resourceOperations: no CreateFile is ever sent to it."""
    caps = vscode_caps(workspace__workspace_edit__resource_operations=[])
    await start(bare, workspace, lsp_settings(model_server.base_url), caps)
    doc = Doc(bare, workspace / "cart.py", CART)
    tests = (await actions_at(bare, doc, (4, 4)))["tests"]
    with pytest.raises(JsonRpcException) as err:
        await bare.code_action_resolve_async(tests)
    message = str(getattr(err.value, "message", err.value))
    assert "cannot create files" in message and "Create tests/test_cart.py" in message
    assert model_server.stats()["requests_total"] == 0  # refused before the model ran

    # once the file exists, the tests go into it as a plain edit
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_cart.py").write_text("")
    model_server.load([deep("tests", ["Write tests for function total"], patches=[{
        "type": "update_file", "path": "tests/test_cart.py",
        "diff": "@@\n+from cart import total\n+\n+\n+def test_total_of_nothing_is_zero():\n+    assert total([]) == 0\n"}])])
    tests = (await actions_at(bare, doc, (4, 4)))["tests"]
    resolved = await bare.code_action_resolve_async(tests)
    kinds = {type(c).__name__ for c in resolved.edit.document_changes}
    assert kinds == {"TextDocumentEdit"}
    (change,) = resolved.edit.document_changes
    assert change.text_document.uri == (workspace / "tests" / "test_cart.py").as_uri()
    assert "".join(e.new_text for e in change.edits) == (
        "from cart import total\n\n\ndef test_total_of_nothing_is_zero():\n    assert total([]) == 0\n")


async def test_a_client_without_document_changes_gets_changes(bare: LanguageClient, workspace, model_server):
    caps = vscode_caps(workspace__workspace_edit__document_changes=False,
                       workspace__workspace_edit__resource_operations=None,
                       workspace__workspace_edit__change_annotation_support=None)
    await start(bare, workspace, lsp_settings(model_server.base_url), caps)
    doc = Doc(bare, workspace / "cart.py", CART)
    model_server.load([deep("doc", ["Document function total"], patches=[{
        "type": "update_file", "path": "cart.py", "diff": '@@ def total(items):\n+    """Sum."""\n     result = 0\n'}])])
    resolved = await bare.code_action_resolve_async((await actions_at(bare, doc, (4, 4)))["document"])
    assert resolved.edit.document_changes is None and resolved.edit.change_annotations is None
    (edits,) = resolved.edit.changes.values()
    assert list(resolved.edit.changes) == [doc.uri]
    assert apply_in("utf-16", CART, edits) == CART.replace("def total(items):\n", 'def total(items):\n    """Sum."""\n')


async def test_chat_apply_refuses_an_excluded_file_and_a_missing_root(bare: LanguageClient, workspace, model_server, tmp_path):
    await start(bare, workspace, lsp_settings(model_server.base_url, exclude=["secret/**"]), vscode_caps())
    (workspace / "secret").mkdir()
    hidden = Doc(bare, workspace / "secret" / "keys.py", "KEY = 1\n")
    diff = "--- a/secret/keys.py\n+++ b/secret/keys.py\n@@ -1 +1 @@\n-KEY = 1\n+KEY = 2\n"
    with pytest.raises(JsonRpcException, match="refused"):
        await raw_request(bare, "sparkforge/chatApply", {"uri": hidden.uri, "code": diff})
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    loose = Doc(bare, outside / "loose.py", "x = 1\n")
    with pytest.raises(JsonRpcException, match="workspace folder"):
        await raw_request(bare, "sparkforge/chatApply", {
            "uri": loose.uri, "code": "--- a/loose.py\n+++ b/loose.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"})
    assert model_server.stats()["requests_total"] == 0


async def test_chat_apply_without_a_workspace_root_is_refused(bare: LanguageClient, tmp_path, model_server):
    caps = vscode_caps()
    await bare.initialize_session(types.InitializeParams(
        capabilities=caps, initialization_options=lsp_settings(model_server.base_url)))
    bare.started = True  # type: ignore[attr-defined]
    loose = Doc(bare, tmp_path / "loose.py", "x = 1\n")
    with pytest.raises(JsonRpcException, match="workspace folder"):
        await raw_request(bare, "sparkforge/chatApply", {
            "uri": loose.uri, "code": "--- a/loose.py\n+++ b/loose.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"})


# -- logs ---------------------------------------------------------------------------------------
async def test_log_level_and_a_refusal_logged_as_one_line(bare: LanguageClient, workspace, model_server):
    await start(bare, workspace, lsp_settings(model_server.base_url, logLevel="warning"), vscode_caps())
    doc = Doc(bare, workspace / "cart.py", CART)
    document = (await actions_at(bare, doc, (4, 4)))["document"]
    doc.type(types.Position(line=0, character=0), "# edited\n")
    with pytest.raises(JsonRpcException, match="changed since the action was offered"):
        await bare.code_action_resolve_async(document)  # stale: the document moved on
    # at logLevel warning, neither the start-up line (info) nor the refusal (info) is sent
    assert [m.message for m in bare.log_messages if m.type <= types.MessageType.Info] == []
    bare.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"logLevel": "info"}))
    document = (await actions_at(bare, doc, (4, 4)))["document"]
    doc.type(types.Position(line=0, character=0), "# again\n")
    with pytest.raises(JsonRpcException):
        await bare.code_action_resolve_async(document)
    refusals = [m.message for m in bare.log_messages if "changed since the action was offered" in m.message]
    assert len(refusals) == 1 and "Traceback" not in refusals[0]
