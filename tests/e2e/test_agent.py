"""Agent mode end to end: ``sparkforge lsp`` runs a scripted multi-step task against the local
model server (its multi-turn tool scripting), with an editor that applies the workspace edits
it receives to the files on disk, as VS Code does (and saves them, as its refactoring
auto-save does)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsphelp import Doc, Pending, apply_edit, lsp_settings, plain, request, wait_until

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]
DEEP = "gpt-5.3-codex"
SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"

CART = 'def total(items):\n    return sum(item["price"] for item in items)\n'
PRICING = (
    "# API settings for the price service\n"
    f'PRICE_API_KEY = "{SECRET}"\n'
    "\n\n"
    "def rate(code):\n"
    '    return {"SAVE10": 0.1}.get(code, 0.0)\n'
)
TESTS = (
    "from cart import total\n\n\n"
    "def test_total():\n"
    '    assert total([{"price": 2}, {"price": 3}]) == 5\n\n\n'
    "def test_total_with_code():\n"
    '    assert total([{"price": 10}], code="save10") == 9\n'
)
# What the files must read once the task is done (written by hand).
CART_DONE = (
    "from pricing import rate\n\n\n"
    "def total(items, code=None):\n"
    '    subtotal = sum(item["price"] for item in items)\n'
    "    return subtotal * (1 - rate(code))\n"
)
PRICING_DONE = (
    "# API settings for the price service\n"
    f'PRICE_API_KEY = "{SECRET}"\n'
    "\n\n"
    "def rate(code):\n"
    '    return {"SAVE10": 0.1}.get((code or "").upper(), 0.0)\n'
)

# The model's first patch has a bug (a discount subtracted, not applied as a rate): the tests
# fail, the model reads the failure and fixes it.
FIRST_PATCH = [
    {"type": "update_file", "path": "cart.py", "diff": (
        "@@\n"
        "-def total(items):\n"
        '-    return sum(item["price"] for item in items)\n'
        "+from pricing import rate\n"
        "+\n"
        "+\n"
        "+def total(items, code=None):\n"
        '+    subtotal = sum(item["price"] for item in items)\n'
        "+    return subtotal - rate(code)\n")},
    {"type": "update_file", "path": "pricing.py", "diff": (
        "@@ def rate(code):\n"
        '-    return {"SAVE10": 0.1}.get(code, 0.0)\n'
        '+    return {"SAVE10": 0.1}.get((code or "").upper(), 0.0)\n')},
]
FIX = [{"type": "update_file", "path": "cart.py", "diff": (
    "@@ def total(items, code=None):\n"
    '     subtotal = sum(item["price"] for item in items)\n'
    "-    return subtotal - rate(code)\n"
    "+    return subtotal * (1 - rate(code))\n")}]

UNPACED = {DEEP: {"ttft_ms": 0, "tokens_per_s": 0}}  # the model's pace is not under test here
TASK_SCENARIO = {
    "name": "discount-task",
    "model": DEEP,
    "input_contains": ["Let total() take a discount code"],
    "turns": [
        {"turn": 0, "function_calls": [{"name": "read_file", "arguments": {"path": "cart.py"}},
                                       {"name": "read_file", "arguments": {"path": "pricing.py"}}]},
        {"turn": 2, "function_calls": [{"name": "search", "arguments": {"pattern": r"total\(", "glob": "*.py"}}]},
        {"turn": 3, "output": "I will add the code parameter.", "patches": FIRST_PATCH},
        {"after_output_contains": ["applied: updated cart.py", "updated pricing.py"],
         "function_calls": [{"name": "run_command", "arguments": {"command": PYTEST}}]},
        {"after_output_contains": ["1 failed"], "patches": FIX},
        {"after_output_contains": ["applied: updated cart.py"],
         "function_calls": [{"name": "run_command", "arguments": {"command": PYTEST}}]},
        {"after_output_contains": ["2 passed"], "output": "Done: total() takes a discount code; the tests pass."},
    ],
}


def project(root: Path) -> None:
    (root / "cart.py").write_text(CART)
    (root / "pricing.py").write_text(PRICING)
    (root / "test_cart.py").write_text(TESTS)
    (root / ".env").write_text("STRIPE_KEY=sk_live_envfilesecret0123456789abcdef\n")


def record_agent(lsp_client: LanguageClient, root: Path) -> None:
    """The client side of agent mode: steps recorded, workspace edits applied to the files on
    disk (all or nothing), approvals answered from ``lsp_client.approve`` (True, False, or a
    coroutine function to await first) and recorded."""
    lsp_client.steps = []
    lsp_client.applied = []
    lsp_client.approvals = []
    lsp_client.approve = True
    lsp_client.always = False  # answer "always" to sparkforge/agentApprove
    lsp_client.hold_edits = None  # an asyncio.Event the editor waits for before applying

    @lsp_client.feature("sparkforge/agentStep")
    def on_step(params: Any) -> None:
        lsp_client.steps.append(plain(params))

    lsp_client.when_asked = None  # called when an approval is asked, before it is answered

    lsp_client.hold_approval = None  # an asyncio.Event the user waits for before answering
    lsp_client.withdrawn = []  # approvals the server withdrew ($/cancelRequest) before the answer

    @lsp_client.feature("sparkforge/agentApprove")
    async def on_approve(params: Any) -> dict[str, Any]:
        lsp_client.approvals.append(plain(params))
        if lsp_client.when_asked is not None:
            lsp_client.when_asked()
        if lsp_client.hold_approval is not None:
            try:
                await lsp_client.hold_approval.wait()
            except asyncio.CancelledError:
                lsp_client.withdrawn.append(plain(params))
                raise
        return {"approved": lsp_client.approve is True, "always": lsp_client.always}

    @lsp_client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def on_message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        lsp_client.approvals.append({"message": params.message, "actions": [a.title for a in params.actions or []]})
        return types.MessageActionItem(title="Run" if lsp_client.approve is True else "Skip")

    lsp_client.docs = {}  # uri -> Doc: documents open in this editor
    lsp_client.save = True  # whether the editor saves the open documents an edit changed

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    async def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if lsp_client.hold_edits is not None:
            lsp_client.holding = True
            await lsp_client.hold_edits.wait()
        lsp_client.applied.append(params)
        try:
            write_edit(params.edit, lsp_client.docs, lsp_client.save)
        except AssertionError as exc:  # a stale version: refused, as an editor does
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=str(exc))
        return types.ApplyWorkspaceEditResult(applied=True)


def write_edit(edit: types.WorkspaceEdit, docs: dict[str, Doc], save: bool = True) -> None:
    """Apply ``edit`` all or nothing: open documents in the editor (a didChange, then saved
    if ``save``), the others on disk."""
    files: dict[str, str] = {}
    for change in edit.document_changes or []:
        uri = change.uri if isinstance(change, (types.CreateFile, types.DeleteFile)) else change.text_document.uri
        path = Path(uri.removeprefix("file://"))
        if uri in docs:
            files[uri] = docs[uri].text
        elif path.exists() and uri not in files:
            files[uri] = path.read_text()
    after = apply_edit(files, {uri: doc.version for uri, doc in docs.items()}, edit)
    for uri in files.keys() - after.keys():
        Path(uri.removeprefix("file://")).unlink()
    for uri, text in after.items():
        if uri in docs and docs[uri].text != text:
            doc = docs[uri]
            lines = doc.text.split("\n")
            doc.edit(0, 0, len(lines) - 1, len(lines[-1]), text)
            if not save:
                continue
        Path(uri.removeprefix("file://")).write_text(text)


def capabilities(approvals: bool) -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    if approvals:
        caps.experimental = {"sparkforgeAgentApprovals": True}
    return caps


async def start(lsp_client: LanguageClient, root: Path, model_server, approvals: bool, **settings: Any) -> None:
    model_server.reset(scenarios=True)
    project(root)
    record_agent(lsp_client, root)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities(approvals),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
        initialization_options=lsp_settings(model_server.base_url, **settings),
    ))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, model_server, workspace: Path):
    """An editor that declares sparkforgeAgentApprovals (answers sparkforge/agentApprove)."""
    await start(lsp_client, workspace, model_server, approvals=True)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def plain_editor(lsp_client: LanguageClient, model_server, workspace: Path):
    """An editor without the experimental capability (Neovim, Emacs): approvals are asked with
    window/showMessageRequest."""
    await start(lsp_client, workspace, model_server, approvals=False)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def chat_client(lsp_client: LanguageClient, model_server, workspace: Path):
    """The deep role served over Chat Completions (tool_calls, apply_patch as a function)."""
    await start(lsp_client, workspace, model_server, approvals=True, deep={"api": "chat"})
    yield
    await lsp_client.shutdown_session()


def outputs_sent(model_server) -> list[str]:
    """Every tool output the model received, in the last request (either API)."""
    body = model_server.requests()[-1]["body"]
    if "input" in body:
        return [i["output"] for i in body["input"] if i.get("type", "").endswith("_output")]
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def everything_sent(model_server) -> str:
    return json.dumps([r["body"] for r in model_server.requests(limit=200)])


async def run_discount_task(client: LanguageClient, workspace: Path, model_server) -> dict[str, Any]:
    model_server.load([TASK_SCENARIO], models=UNPACED)
    result = await request(client, "sparkforge/agent", {
        "taskId": "t1", "task": "Let total() take a discount code (pricing.rate) and make the tests pass.",
    })
    assert result["status"] == "done", result
    assert result["summary"] == "Done: total() takes a discount code; the tests pass."
    assert result["steps"] == 7  # read, read, search, patch (2 files), pytest, patch, pytest
    assert (workspace / "cart.py").read_text() == CART_DONE
    assert (workspace / "pricing.py").read_text() == PRICING_DONE
    assert (workspace / "test_cart.py").read_text() == TESTS
    return result


async def test_a_scripted_task_reads_searches_patches_tests_fixes_and_undo_restores_everything(
        client, workspace, model_server):
    await check_discount_task(client, workspace, model_server)


async def test_the_same_task_over_chat_completions(chat_client, workspace, model_server):
    await check_discount_task(chat_client, workspace, model_server)
    assert "messages" in model_server.requests()[-1]["body"]


async def check_discount_task(client: LanguageClient, workspace: Path, model_server) -> None:
    result = await run_discount_task(client, workspace, model_server)

    # Steps the user followed, in order, each ended (sent again with the same index).
    final = {}
    for step in client.steps:
        final[step["index"]] = step
    titles = [(s["kind"], s["title"], s["status"]) for s in sorted(final.values(), key=lambda s: s["index"])]
    assert titles == [
        ("read", "Reading `cart.py` 1-2", "done"),
        ("read", "Reading `pricing.py` 1-6", "done"),
        ("search", r"Searching `total\(`", "done"),
        ("message", "I will add the code parameter.", "done"),
        ("edit", "Editing 2 files", "done"),
        ("command", f"Running `{PYTEST}`: 1 failed, 1 passed", "failed"),
        ("edit", "Editing `cart.py`", "done"),
        ("command", f"Running `{PYTEST}`: 2 passed", "done"),
        ("message", "Done: total() takes a discount code; the tests pass.", "done"),
    ]
    assert all(s["taskId"] == "t1" for s in client.steps)
    assert any(s["status"] == "running" for s in client.steps if s["kind"] == "command")
    # Both runs were approved through sparkforge/agentApprove, with the workspace as cwd.
    assert client.approvals == [{"taskId": "t1", "command": PYTEST, "cwd": str(workspace)}] * 2
    # Each applied step was one workspace/applyEdit.
    assert len(client.applied) == 2
    usage = result["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0 and usage["costUsd"] > 0
    assert result["model"] == DEEP and result["role"] == "deep"
    assert {c["path"]: (c["kind"], c["state"]) for c in result["changes"]} == {
        "cart.py": ("updated", "applied"), "pricing.py": ("updated", "applied")}
    cart = next(c for c in result["changes"] if c["path"] == "cart.py")
    assert cart["uri"] == (workspace / "cart.py").as_uri()
    assert "+    return subtotal * (1 - rate(code))\n" in cart["diff"]
    assert "-    return sum(item[\"price\"] for item in items)\n" in cart["diff"]

    # The model saw the secret only as a marker: the read tool's output was redacted.
    sent = everything_sent(model_server)
    assert SECRET not in sent
    pricing_read = next(o for o in outputs_sent(model_server) if o.startswith("pricing.py, lines"))
    assert '     2\tPRICE_API_KEY = "sk-live-[REDACTED-1]"' in pricing_read
    assert any("1 failed" in o for o in outputs_sent(model_server))

    # Undo all puts every file back as it was.
    undone = await request(client, "sparkforge/agentUndo", {"taskId": "t1"})
    assert {c["path"]: c["state"] for c in undone["changes"]} == {"cart.py": "undone", "pricing.py": "undone"}
    assert (workspace / "cart.py").read_text() == CART
    assert (workspace / "pricing.py").read_text() == PRICING
    assert (workspace / "test_cart.py").read_text() == TESTS
    assert len(client.applied) == 3  # the undo: one more edit


async def test_a_command_neither_approved_nor_allowlisted_never_runs(plain_editor, workspace, model_server):
    client = plain_editor
    client.approve = False
    script = f"{sys.executable} -c \"open('pwned.txt', 'w').write('ran')\""
    model_server.load([{
        "name": "sneaky", "model": DEEP, "input_contains": ["tidy up"],
        "turns": [
            {"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": script}}]},
            {"turn": 1, "output": "Could not run it."},
        ],
    }])
    result = await request(client, "sparkforge/agent", {"taskId": "t2", "task": "tidy up"})
    assert result["status"] == "done"
    assert not (workspace / "pwned.txt").exists()
    # Asked with window/showMessageRequest (no experimental capability), and answered Skip.
    assert len(client.approvals) == 1
    assert client.approvals[0]["message"].startswith("sparkforge agent wants to run `")
    assert client.approvals[0]["actions"] == ["Run", "Skip"]
    [told] = outputs_sent(model_server)
    assert told.startswith("error: the user did not approve running `")

    # With commands "allowlist" a command not on the list is refused without asking.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": {"agent": {"commands": "allowlist", "allowCommands": ["pytest"]}}}))
    client.approve = True  # would approve: never asked
    result = await request(client, "sparkforge/agent", {"taskId": "t3", "task": "tidy up"})
    assert result["status"] == "done"
    assert not (workspace / "pwned.txt").exists()
    assert len(client.approvals) == 1
    [told] = outputs_sent(model_server)
    assert told.startswith("error: refused: `")
    assert "is not in sparkforge.agent.allowCommands" in told

    # An untrusted workspace runs nothing, whatever the allowlist says.
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": {"agent": {"trusted": False, "allowCommands": [sys.executable]}}}))
    result = await request(client, "sparkforge/agent", {"taskId": "t4", "task": "tidy up"})
    assert not (workspace / "pwned.txt").exists()
    [told] = outputs_sent(model_server)
    assert told.startswith("error: refused: the workspace is not trusted")


async def test_paths_outside_the_workspace_and_excluded_files_are_refused_to_the_model(client, workspace, model_server):
    (workspace.parent / "outside.txt").write_text("OUTSIDE-CONTENT\n")
    (workspace / "notes").mkdir()
    (workspace / "notes" / "plan.md").write_text("PRIVATE-PLAN\n")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": {"exclude": ["notes/*"]}}))
    model_server.load([{
        "name": "escape", "model": DEEP, "input_contains": ["look around"],
        "turns": [
            {"turn": 0, "function_calls": [
                {"name": "read_file", "arguments": {"path": "../outside.txt"}},
                {"name": "read_file", "arguments": {"path": str(workspace.parent / "outside.txt")}},
                {"name": "read_file", "arguments": {"path": ".env"}},
                {"name": "read_file", "arguments": {"path": "notes/plan.md"}},
                {"name": "search", "arguments": {"pattern": "sk_live|PRIVATE"}},
            ], "patches": [{"type": "create_file", "path": "../planted.py", "diff": "+x = 1\n"}]},
            {"turn": 6, "output": "Nothing to see."},
        ],
    }])
    result = await request(client, "sparkforge/agent", {"taskId": "t5", "task": "look around"})
    assert result["status"] == "done" and result["changes"] == []
    outputs = outputs_sent(model_server)
    assert outputs == [
        "error: refused: ../outside.txt is outside the workspace",
        f"error: refused: {workspace.parent / 'outside.txt'} is outside the workspace",
        "error: refused: .env looks like a secrets file (.env); sparkforge never sends it",
        "error: refused: notes/plan.md matches sparkforge.exclude (notes/*)",
        "no matches",
        "error: refused: ../planted.py is outside the workspace",
    ]
    assert not (workspace.parent / "planted.py").exists()
    sent = everything_sent(model_server)
    assert "OUTSIDE-CONTENT" not in sent and "envfilesecret" not in sent and "PRIVATE-PLAN" not in sent


async def test_the_budget_stops_the_task(client, workspace, model_server):
    model_server.load([{
        "name": "forever", "model": DEEP, "input_contains": ["list forever"],
        "turns": [{"function_calls": [{"name": "list_files", "arguments": {}}]}],
    }])
    result = await request(client, "sparkforge/agent", {"taskId": "t6", "task": "list forever", "budget": {"steps": 3}})
    assert result["status"] == "stopped"
    assert result["summary"] == "stopped: the budget of 3 steps ran out"
    assert result["steps"] == 3
    assert len(model_server.requests()) == 4  # three answered calls, then the fourth call stopped
    last = client.steps[-1]
    assert (last["kind"], last["title"], last["status"]) == ("budget", "stopped: the budget of 3 steps ran out", "done")
    assert [s["title"] for s in client.steps if s["kind"] == "list" and s["status"] == "done"] == ["Listing the workspace"] * 3


async def test_cancel_mid_step_applies_the_step_whole_and_closes_the_stream(client, workspace, model_server):
    model_server.load([{
        "name": "two-files", "model": DEEP, "input_contains": ["edit both"],
        "turns": [{"turn": 0, "patches": FIRST_PATCH}, {"output": "never reached"}],
    }])
    client.hold_edits = asyncio.Event()
    client.holding = False
    pending = Pending(client, "sparkforge/agent", {"taskId": "t7", "task": "edit both"})
    assert await wait_until(lambda: client.holding)  # the step's edit is with the editor
    pending.cancel()
    client.hold_edits.set()
    # Answered with what was done so far: the client can show, keep or undo it.
    result = await pending.result(timeout=30)
    assert result["status"] == "cancelled"
    assert sorted((c["path"], c["kind"], c["state"]) for c in result["changes"]) == [
        ("cart.py", "updated", "applied"), ("pricing.py", "updated", "applied")]
    # The step was applied whole: both files, one edit; the model was not asked again.
    assert len(client.applied) == 1
    assert (workspace / "pricing.py").read_text() == PRICING_DONE
    assert (workspace / "cart.py").read_text().endswith("    return subtotal - rate(code)\n")
    assert len(model_server.requests()) == 1
    assert await wait_until(lambda: client.steps and client.steps[-1]["title"] == "Cancelled")
    assert client.steps[-1] == {**client.steps[-1], "kind": "error", "status": "failed"}
    # The change set knows the step: Undo all restores both files.
    await request(client, "sparkforge/agentUndo", {"taskId": "t7"})
    assert (workspace / "cart.py").read_text() == CART
    assert (workspace / "pricing.py").read_text() == PRICING


async def test_cancel_closes_the_model_stream(client, workspace, model_server):
    model_server.load([{"name": "slow", "model": DEEP, "input_contains": ["think slowly"],
                        "output": "word " * 2000}],
                      models={DEEP: {"ttft_ms": 0, "tokens_per_s": 20}})
    pending = Pending(client, "sparkforge/agent", {"taskId": "t8", "task": "think slowly"})
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 1)
    pending.cancel()
    await pending.settled(timeout=30)
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)
    assert model_server.stats()["streams_abandoned"] == 1
    assert await wait_until(lambda: client.steps and client.steps[-1]["title"] == "Cancelled")


FAST = "gpt-5.3-codex-spark"
QUICK = f"{sys.executable} -c pass"


async def test_switching_to_the_fast_model_mid_task_keeps_the_transcript(client, workspace, model_server):
    model_server.load([
        {"name": "deep-part", "model": DEEP, "input_contains": ["switch midway"],
         "turns": [{"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": QUICK}}]}]},
        {"name": "fast-part", "model": FAST, "input_contains": ["switch midway"],
         "turns": [{"turn": 1, "output": "Finished by the fast model."}]},
    ], models={DEEP: {"ttft_ms": 0, "tokens_per_s": 0}, FAST: {"ttft_ms": 0, "tokens_per_s": 0}})
    client.approve = False
    # While the deep model waits for an approval, the user hands the rest to the fast model.
    client.when_asked = lambda: client.protocol.notify("sparkforge/agentSwitch", {"taskId": "t9", "role": "fast"})
    result = await request(client, "sparkforge/agent", {"taskId": "t9", "task": "switch midway"})
    assert (result["status"], result["role"], result["model"]) == ("done", "fast", FAST)
    assert result["summary"] == "Finished by the fast model."
    first, second = model_server.requests()
    assert (first["model"], second["model"]) == (DEEP, FAST)
    carried = second["body"]["input"]
    assert [i.get("type", i.get("role")) for i in carried] == ["user", "function_call", "function_call_output"]
    assert carried[2]["output"].startswith("error: the user did not approve running `")
    assert ("switch", f"Switched to the fast model ({FAST})", "done") in [
        (s["kind"], s["title"], s["status"]) for s in client.steps]


async def test_pending_review_writes_nothing_until_keep(client, workspace, model_server):
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"sparkforge": {"agent": {"review": "pending"}}}))
    model_server.load([{
        "name": "review", "model": DEEP, "input_contains": ["edit for review"],
        "turns": [{"turn": 0, "patches": FIRST_PATCH},
                  {"after_output_contains": ["kept pending until the user reviews it"], "output": "Ready for review."}],
    }], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t10", "task": "edit for review"})
    assert result["summary"] == "Ready for review."
    assert {c["path"]: c["state"] for c in result["changes"]} == {"cart.py": "pending", "pricing.py": "pending"}
    assert client.applied == []
    assert (workspace / "cart.py").read_text() == CART and (workspace / "pricing.py").read_text() == PRICING

    kept = await request(client, "sparkforge/agentKeep", {"taskId": "t10", "paths": ["cart.py"]})
    assert [(c["path"], c["state"]) for c in kept["changes"]] == [("cart.py", "kept")]
    assert (workspace / "cart.py").read_text().endswith("    return subtotal - rate(code)\n")
    assert (workspace / "pricing.py").read_text() == PRICING
    undone = await request(client, "sparkforge/agentUndo", {"taskId": "t10", "paths": ["pricing.py"]})
    assert [(c["path"], c["state"]) for c in undone["changes"]] == [("pricing.py", "undone")]
    assert (workspace / "pricing.py").read_text() == PRICING
    assert len(client.applied) == 1  # Keep: one edit; undoing a pending change writes nothing


MERGED = 'def total(items):\n    return round(sum(item["price"] for item in items), 2)\n'


async def test_edit_file_is_merged_by_the_fast_model_and_a_wrong_merge_is_refused(client, workspace, model_server):
    model_server.load([
        {"name": "deep-edit", "model": DEEP, "input_contains": ["round the total"],
         "turns": [{"turn": 0, "function_calls": [{"name": "edit_file", "arguments": {
                       "path": "cart.py", "code": "def total(items):\n    return round(sum(item[\"price\"] for item in items), 2)\n"}}]},
                   {"turn": 1, "after_output_contains": ["applied: updated cart.py"],
                    "function_calls": [{"name": "edit_file", "arguments": {
                        "path": "cart.py", "code": "# ... existing code ...\ndef zero():\n    return 0\n"}}]},
                   {"turn": 2, "output": "Rounded."}]},
        # the first scenario that matches answers: the second merge's prompt holds "round(sum" too
        {"name": "bad-merge", "model": FAST, "input_contains": ["Code block to merge", "def zero"],
         "output": "# ... existing code ...\ndef zero():\n    return 0\n"},
        {"name": "good-merge", "model": FAST, "input_contains": ["Code block to merge", "round(sum"], "output": MERGED},
    ], models={DEEP: {"ttft_ms": 0, "tokens_per_s": 0}, FAST: {"ttft_ms": 0, "tokens_per_s": 0}})
    result = await request(client, "sparkforge/agent", {"taskId": "t11", "task": "round the total"})
    assert result["summary"] == "Rounded."
    assert (workspace / "cart.py").read_text() == MERGED
    [told] = outputs_sent(model_server)[-1:]
    assert told == (f'error: {FAST}\'s merge into cart.py looks wrong (it keeps the placeholder "# ... existing code ...", '
                    "which would delete code); nothing was applied; use apply_patch")
    edits = [(s["title"], s["status"]) for s in client.steps if s["kind"] == "edit" and s["status"] != "running"]
    assert edits == [("Editing `cart.py`", "done"), (f"Merging into `cart.py` with {FAST}", "failed")]


async def test_a_file_the_user_changed_meanwhile_is_edited_as_it_is_now(client, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    client.docs[doc.uri] = doc
    patch = [{"type": "update_file", "path": "cart.py", "diff": (
        "@@ def total(items):\n"
        '-    return sum(item["price"] for item in items)\n'
        '+    return sum(item["price"] for item in items) or 0\n')}]
    model_server.load([{
        "name": "meanwhile", "model": DEEP, "input_contains": ["guard the total"],
        "turns": [{"turn": 0, "function_calls": [{"name": "read_file", "arguments": {"path": "cart.py"}},
                                                 {"name": "run_command", "arguments": {"command": QUICK}}]},
                  {"turn": 2, "patches": patch},
                  {"turn": 3, "output": "Guarded."}],
    }], models=UNPACED)
    client.approve = False
    # The user types in the open file after the agent read it.
    client.when_asked = lambda: doc.edit(0, 0, 0, 0, "# tracked\n")
    result = await request(client, "sparkforge/agent", {"taskId": "t12", "task": "guard the total"})
    assert result["summary"] == "Guarded."
    assert doc.text == '# tracked\ndef total(items):\n    return sum(item["price"] for item in items) or 0\n'
    [edit] = client.applied
    [change] = edit.edit.document_changes
    assert change.text_document.version == 2  # the version with the user's change, not the one read
    told = outputs_sent(model_server)[-1]
    assert told == ("applied: updated cart.py\nnote: cart.py changed in the editor since you last read it; "
                    "the edit was made to its current text")


async def test_params_are_checked_field_by_field(client, workspace):
    with pytest.raises(JsonRpcException) as err:
        await request(client, "sparkforge/agent", {"task": 5})
    assert "sparkforge/agent: task must be a string, not 5" in err.value.message
    with pytest.raises(JsonRpcException) as err:
        await request(client, "sparkforge/agent", {"task": "x", "budget": {"steps": 0}})
    assert "budget.steps must be an integer from 1" in err.value.message
    with pytest.raises(JsonRpcException) as err:
        await request(client, "sparkforge/agentUndo", {"taskId": "nope"})
    assert err.value.message.startswith("sparkforge: no agent task nope")


async def test_the_token_and_time_budgets_stop_the_task(client, workspace, model_server):
    model_server.load([
        {"name": "talkative", "model": DEEP, "input_contains": ["use tokens"],
         "turns": [{"function_calls": [{"name": "list_files", "arguments": {}}]}]},
        {"name": "stuck", "model": DEEP, "input_contains": ["never answers"], "output": "late",
         "fault": {"kind": "stall_before", "stall_ms": 120000}},
    ], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t13", "task": "use tokens", "budget": {"tokens": 1}})
    assert result["status"] == "stopped"
    assert result["summary"].startswith("stopped: the budget of 1 token ran out (")
    assert result["steps"] == 1  # the first turn's call was carried out; the budget is checked before each turn
    assert len(model_server.requests()) == 1

    result = await request(client, "sparkforge/agent", {"taskId": "t14", "task": "never answers", "budget": {"seconds": 1}})
    assert (result["status"], result["summary"]) == ("stopped", "stopped: the budget of 1 second ran out")
    assert client.steps[-1]["kind"] == "budget"
    assert await wait_until(lambda: model_server.stats()["open_streams"] == 0)  # its stream was closed


async def test_a_command_is_told_when_the_editor_has_not_saved_the_agents_edits(client, workspace, model_server):
    doc = Doc(client, workspace / "cart.py", CART)
    client.docs[doc.uri] = doc
    client.save = False
    model_server.load([{
        "name": "unsaved", "model": DEEP, "input_contains": ["edit then test"],
        "turns": [{"turn": 0, "patches": [{"type": "update_file", "path": "cart.py", "diff": (
                      "@@ def total(items):\n"
                      '-    return sum(item["price"] for item in items)\n'
                      '+    return sum(item["price"] for item in items) or 0\n')}]},
                  {"turn": 1, "function_calls": [{"name": "run_command", "arguments": {"command": QUICK}}]},
                  {"turn": 2, "output": "Tested."}],
    }], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t15", "task": "edit then test"})
    assert result["summary"] == "Tested."
    assert doc.text.endswith(" or 0\n") and (workspace / "cart.py").read_text() == CART
    told = outputs_sent(model_server)[-1]
    assert told.endswith("\nnote: the command read cart.py from disk, where the agent's edits are not saved yet "
                         "(the editor holds them)")


async def test_run_in_a_plain_editor_runs_the_command(plain_editor, workspace, model_server):
    client = plain_editor
    script = f"{sys.executable} -c \"open('ran.txt', 'w').write('yes')\""
    model_server.load([{
        "name": "approved", "model": DEEP, "input_contains": ["make a file"],
        "turns": [{"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": script}}]},
                  {"turn": 1, "output": "Made it."}],
    }], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t16", "task": "make a file"})
    assert result["summary"] == "Made it."
    assert (workspace / "ran.txt").read_text() == "yes"
    assert [a["actions"] for a in client.approvals] == [["Run", "Skip"]]
    assert outputs_sent(model_server)[-1].startswith("$ ")
    assert "\nexit code: 0\n" in outputs_sent(model_server)[-1]


async def test_a_model_failure_ends_the_task_as_failed(client, workspace, model_server):
    model_server.load([
        {"name": "down", "model": DEEP, "input_contains": ["fail later", "pricing.py"], "fault": {"kind": "500"}},
        {"name": "first", "model": DEEP, "input_contains": ["fail later"],
         "turns": [{"turn": 0, "function_calls": [{"name": "list_files", "arguments": {}}]}]},
    ], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t17", "task": "fail later"})
    assert result["status"] == "failed"
    assert result["summary"].startswith(f"{DEEP} failed: ")
    assert result["steps"] == 1
    last = client.steps[-1]
    assert (last["kind"], last["status"], last["title"]) == ("error", "failed", result["summary"])


async def test_a_conversation_carries_its_transcript_to_the_next_task(client, workspace, model_server):
    model_server.load([
        {"name": "second", "model": DEEP, "input_contains": ["then count them"], "output": "Three files."},
        {"name": "first", "model": DEEP, "input_contains": ["list the files"],
         "turns": [{"turn": 0, "function_calls": [{"name": "list_files", "arguments": {}}]},
                   {"turn": 1, "output": "Listed."}]},
    ], models=UNPACED)
    await request(client, "sparkforge/agent", {"taskId": "a", "conversationId": "conv", "task": "list the files"})
    second = await request(client, "sparkforge/agent", {"taskId": "b", "conversationId": "conv", "task": "then count them"})
    assert second["summary"] == "Three files."
    sent = model_server.requests()[-1]["body"]["input"]
    assert [i.get("type") or i["role"] for i in sent] == [
        "user", "function_call", "function_call_output", "assistant", "user"]
    assert sent[0]["content"] == "list the files" and sent[-1]["content"] == "then count them"
    # Without the conversation id a task starts afresh.
    await request(client, "sparkforge/agent", {"taskId": "c", "task": "then count them"})
    assert [i.get("type") or i["role"] for i in model_server.requests()[-1]["body"]["input"]] == ["user"]


async def test_a_patch_around_a_redacted_secret_keeps_it_and_one_moving_it_is_refused(client, workspace, model_server):
    around = [{"type": "update_file", "path": "pricing.py", "diff": (
        "@@\n"
        "-# API settings for the price service\n"
        "+# Settings of the price service\n"
        ' PRICE_API_KEY = "sk-live-[REDACTED-1]"\n')}]
    moving = [{"type": "create_file", "path": "leak.py", "diff": '+KEY = "sk-live-[REDACTED-1]"\n'}]
    model_server.load([{
        "name": "secret-edits", "model": DEEP, "input_contains": ["rename the comment"],
        "turns": [{"turn": 0, "function_calls": [{"name": "read_file", "arguments": {"path": "pricing.py"}}]},
                  {"turn": 1, "patches": around},
                  {"turn": 2, "patches": moving},
                  {"turn": 3, "output": "Done."}],
    }], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "t18", "task": "rename the comment"})
    assert result["summary"] == "Done."
    assert (workspace / "pricing.py").read_text() == PRICING.replace("# API settings for", "# Settings of")
    assert not (workspace / "leak.py").exists()
    assert outputs_sent(model_server)[-1] == (
        "error: refused: the patch writes [REDACTED-1] into leak.py, a secret sparkforge cannot put back there; "
        "nothing was applied")
    assert SECRET not in everything_sent(model_server)


async def test_always_allows_the_command_line_for_the_session(client, workspace, model_server):
    model_server.load([{
        "name": "twice", "model": DEEP, "input_contains": ["run it twice"],
        "turns": [{"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": QUICK}}]},
                  {"turn": 1, "function_calls": [{"name": "run_command", "arguments": {"command": QUICK}}]},
                  {"turn": 2, "output": "Ran twice."}],
    }], models=UNPACED)
    client.always = True
    result = await request(client, "sparkforge/agent", {"taskId": "t19", "task": "run it twice"})
    assert result["summary"] == "Ran twice."
    assert len(client.approvals) == 1  # asked once; the second run was allowed by "always"
    await request(client, "sparkforge/agent", {"taskId": "t20", "task": "run it twice"})
    assert len(client.approvals) == 1  # and for the rest of the session


async def test_cancel_while_asking_withdraws_the_question_and_runs_nothing(client, workspace, model_server):
    script = f"{sys.executable} -c \"open('pwned.txt', 'w').write('ran')\""
    model_server.load([{
        "name": "ask-then-cancel", "model": DEEP, "input_contains": ["ask me"],
        "turns": [{"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": script}}]}],
    }], models=UNPACED)
    client.hold_approval = asyncio.Event()
    pending = Pending(client, "sparkforge/agent", {"taskId": "t21", "task": "ask me"})
    assert await wait_until(lambda: client.approvals)
    pending.cancel()
    await pending.settled(timeout=30)
    assert await wait_until(lambda: client.withdrawn)  # the editor was told to stop asking
    assert client.withdrawn == client.approvals
    assert not (workspace / "pwned.txt").exists()
    running = [s for s in client.steps if s["kind"] == "command"]
    assert running[-1]["status"] == "failed" and running[-1]["detail"] == "cancelled"


async def test_cancel_kills_a_running_command(client, workspace, model_server):
    script = (f"{sys.executable} -c \"import os, time; open('pid.txt', 'w').write(str(os.getpid())); "
              "time.sleep(300)\"")
    model_server.load([{
        "name": "sleeper", "model": DEEP, "input_contains": ["sleep a while"],
        "turns": [{"turn": 0, "function_calls": [{"name": "run_command", "arguments": {"command": script}}]}],
    }], models=UNPACED)
    pending = Pending(client, "sparkforge/agent", {"taskId": "t22", "task": "sleep a while"})
    pid_file = workspace / "pid.txt"
    assert await wait_until(lambda: pid_file.exists() and pid_file.read_text() != "")
    pid = int(pid_file.read_text())
    pending.cancel()
    await pending.settled(timeout=30)

    def gone() -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] == "Z"  # exited, not yet reaped
        except FileNotFoundError:
            return True

    assert await wait_until(gone)
    assert await wait_until(lambda: client.steps and client.steps[-1]["title"] == "Cancelled")


THOUGHT = "**Listing the workspace**\n\nI should see which files the project has."
REASONED = "gAAAAB-encrypted-reasoning+of/the-deep-model=="


async def test_a_reasoning_summary_is_a_thinking_step_and_the_reasoning_goes_back(client, workspace, model_server):
    model_server.load([{"name": "reasoned", "model": DEEP, "input_contains": ["list with thought"], "turns": [
        {"turn": 0, "reasoning": {"summary": [THOUGHT], "encrypted": REASONED},
         "function_calls": [{"name": "list_files", "arguments": {}}]},
        {"turn": 1, "output": "Listed."}]}], models=UNPACED)
    result = await request(client, "sparkforge/agent", {"taskId": "r1", "task": "list with thought"})
    assert (result["status"], result["summary"]) == ("done", "Listed.")
    steps = [(s["index"], s["kind"], s["title"], s["status"]) for s in client.steps]
    assert steps[0] == (0, "thinking", "Listing the workspace", "done")
    assert client.steps[0]["detail"] == THOUGHT
    assert [k for _, k, _, _ in steps] == ["thinking", "list", "list", "message"]
    first, second = model_server.requests()
    assert first["body"]["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert first["body"]["include"] == ["reasoning.encrypted_content"]
    # the next turn carries the reasoning back, exactly, before the call it led to
    assert second["reasoning_items"] == [{"type": "reasoning", "encrypted_content": REASONED,
                                          "summary": [{"type": "summary_text", "text": THOUGHT}]}]
    assert [i.get("type") or i["role"] for i in second["body"]["input"]] == [
        "user", "reasoning", "function_call", "function_call_output"]


async def test_over_chat_completions_there_is_no_thinking_step(chat_client, workspace, model_server):
    model_server.load([{"name": "reasoned", "model": DEEP, "input_contains": ["list with thought"], "turns": [
        {"turn": 0, "reasoning": {"summary": [THOUGHT], "encrypted": REASONED},
         "function_calls": [{"name": "list_files", "arguments": {}}]},
        {"turn": 1, "output": "Listed."}]}], models=UNPACED)
    result = await request(chat_client, "sparkforge/agent", {"taskId": "r2", "task": "list with thought"})
    assert (result["status"], result["summary"]) == ("done", "Listed.")
    assert [s["kind"] for s in chat_client.steps] == ["list", "list", "message"]
    first, second = model_server.requests()
    assert "reasoning" not in first["body"] and "include" not in first["body"]
    assert REASONED not in json.dumps(second["body"])
