"""``sparkforge demo``: a scripted editing session, as a user would see it, with timings.

Starts ``sparkforge lsp`` as a process, copies a small sample project to a temporary folder,
and drives the language server through a real LSP client (pygls): ghost text while typing,
typing through it, a next edit after a rename, a secrets file that never reaches the model,
and (when the server offers them) code actions.

The models are the ones the ``SPARKFORGE_*`` environment variables describe, as for
``sparkforge doctor``: a role whose ``SPARKFORGE_<ROLE>_BASE_URL`` is set goes there; any other
role runs on the demo's own ``sparkforge model-server`` (``--port``, else a free port), whose
scripted answers the session checks word for word. The demo says which is which.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from sparkforge.config import ROLES, Role, Settings, settings_from_env
from sparkforge.demo_actions import _plain, requests_made
from sparkforge.textpos import LineIndex

LISTENING = "sparkforge model-server listening on "


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=0,
                   help="port of the demo's own model server (default: a free one)")
    p.add_argument("--fast-tps", type=float, default=1000, help="its fast model's tokens/s (1000)")
    p.add_argument("--deep-tps", type=float, default=70, help="its deep model's tokens/s (70)")
    p.add_argument("--keep", action="store_true", help="keep the sample project folder")


class Session:
    def __init__(self, client: LanguageClient, root: Path, scripted: dict[Role, bool], settings: Settings):
        self.client = client
        self.root = root
        self.docs: dict[str, tuple[str, int]] = {}
        self.status: dict[str, Any] = {}
        # Per role: does it answer from the demo's own scenarios (so the answers are known)?
        self.scripted = scripted
        # The demo hands SPARKFORGE_* values to the server as settings; what it prints names
        # the variables the user set instead.
        self.named = settings.named

    def open(self, rel: str) -> str:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        uri = path.as_uri()
        self.docs[uri] = (text, 1)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
            )
        )
        return uri

    def text(self, uri: str) -> str:
        return self.docs[uri][0]

    def insert(self, uri: str, offset: int, new: str) -> types.Position:
        """Type ``new`` at ``offset`` as one change; the cursor after it."""
        text, version = self.docs[uri]
        line, char = LineIndex.of(text).position(offset)
        pos = types.Position(line=line, character=char)
        text = text[:offset] + new + text[offset:]
        version += 1
        self.docs[uri] = (text, version)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=new)],
            )
        )
        line, char = LineIndex.of(text).position(offset + len(new))
        return types.Position(line=line, character=char)

    async def inline(self, uri: str, pos: types.Position) -> tuple[str | None, float]:
        started = time.perf_counter()
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=pos,
                context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            )
        )
        ms = (time.perf_counter() - started) * 1000
        items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
        return (items[0].insert_text if items else None), ms

    async def request(self, method: str, params: Any) -> Any:
        return _plain(await self.client.protocol.send_request_async(method, params))


class DemoError(Exception):
    """The demo cannot start; printed, exit 1."""


def start_model_server(scenarios: Path, args: argparse.Namespace, fast_model: str) -> tuple[subprocess.Popen[str], str]:
    with tempfile.TemporaryFile("w+") as errors:  # why it did not start, if it does not
        proc = subprocess.Popen(
            [sys.executable, "-m", "sparkforge.modelserver", "--port", str(args.port), "--scenario", str(scenarios),
             "--fast-model", fast_model, "--fast-tps", str(args.fast_tps), "--deep-tps", str(args.deep_tps)],
            stdout=subprocess.PIPE, stderr=errors, text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith(LISTENING):
            proc.kill()
            proc.wait()
            errors.seek(0)
            why = errors.read().strip().removeprefix("sparkforge model-server: ") or repr(line)
            raise DemoError(f"its model server did not start: {why}")
    return proc, line[len(LISTENING):].strip()


def role_settings(settings: Settings, own_url: str | None) -> dict[str, Any]:
    """The roles as initialization options: what the environment says, and the demo's own
    model server for any role whose base URL it does not give."""
    out: dict[str, Any] = {}
    for role in ROLES:
        cfg = settings.role(role)
        own = f"{role}.baseUrl" not in settings.origins
        out[role] = {"baseUrl": own_url if own else cfg.base_url, "model": cfg.model, "api": cfg.api,
                     "apiKeyEnv": cfg.api_key_env}
        if own:
            out[role]["maxRetries"] = 0  # a scripted server either answers or has a bug to show
    return out


def say(text: str = "") -> None:
    if not sys.stdout.isatty():
        import re

        text = re.sub("\x1b\\[[0-9;]*m", "", text)
    print(text, flush=True)


def model_trouble(session: Session, status: dict[str, Any], role: Role) -> str | None:
    """What the status says went wrong with ``role``'s model, if anything."""
    error = (status.get(role) or {}).get("lastError")
    return session.named(error) if error else None


async def scripted(session: Session) -> list[str]:
    """The editing session; returns the problems seen (empty: all went as a user expects).

    Where a role answers from the demo's own scenarios its answers are checked word for word;
    with the user's models only what sparkforge itself promises is (and a model's failure)."""
    problems: list[str] = []
    fast_known = session.scripted["fast"]

    # 1. Ghost text while typing.
    uri = session.open("shop/cart.py")
    text = session.text(uri)
    say("1. ghost text: in shop/cart.py the user starts a new function and pauses")
    pos = session.insert(uri, len(text), "\n\ndef cart_count(items: list[Item]) -> int:\n    ")
    ghost, ms = await session.inline(uri, pos)
    status = await session.request("sparkforge/getStatus", {})
    last = (status.get("predictions") or {}).get("last") or {}
    model_ms = last.get("modelMs")
    if ghost:
        say(f"   shop/cart.py:{pos.line + 1}  {'    '}\x1b[2m{ghost}\x1b[0m")
        say(f"   ghost text in {ms:.0f} ms (the model's own time {model_ms} ms)")
    else:
        trouble = model_trouble(session, status, "fast")
        say(f"   no ghost text: {trouble or 'the model suggested nothing here'}")
        if trouble:
            problems.append(f"the fast model failed: {trouble}")
    if fast_known and ghost != "return sum(item.quantity for item in items)":
        problems.append(f"expected ghost text for cart_count, got {ghost!r}")

    if ghost:
        # Type the suggestion's first word over it: it stays on screen with no model call.
        typed = ghost[: ghost.index(" ") + 1] if " " in ghost.strip() else ghost[:1]
        requests_before = await requests_made(session)
        say(f"   the user types {typed!r} over the suggestion:")
        pos = session.insert(uri, len(session.text(uri)), typed)
        rest, ms = await session.inline(uri, pos)
        made = await requests_made(session) - requests_before
        say(f"   the rest, '{rest}', in {ms:.1f} ms with {made} new model requests")
        if rest != ghost[len(typed):] or made:
            problems.append("typing through the suggestion did not keep it")

    # 2. A next edit after a rename.
    uri = session.open("shop/report.py")
    say()
    say("2. next edit: in shop/report.py the user renames total to grand_total on line 5")
    text = session.text(uri)
    offset = text.index("    total = 0.0") + 4
    pos = session.insert(uri, offset, "grand_")
    pos = types.Position(line=pos.line, character=pos.character + len("total"))
    started = time.perf_counter()
    result = await session.request(
        "sparkforge/nextEdit",
        {"textDocument": {"uri": uri, "version": session.docs[uri][1]},
         "position": {"line": pos.line, "character": pos.character}},
    )
    ms = (time.perf_counter() - started) * 1000
    if not result or not result.get("edits"):
        trouble = model_trouble(session, await session.request("sparkforge/getStatus", {}), "fast")
        say(f"   no next edit: {trouble or 'the model suggested none'}")
        if fast_known or trouble:
            problems.append(f"the fast model failed: {trouble}" if trouble else "expected a next edit propagating the rename")
    else:
        lines = session.text(uri).split("\n")
        for edit in result["edits"]:
            r = edit["range"]
            line = lines[r["start"]["line"]]
            new = line[: r["start"]["character"]] + edit["newText"] + line[r["end"]["character"]:]
            say(f"   shop/report.py:{r['start']['line'] + 1}  \x1b[31m- {line.strip()}\x1b[0m")
            say(f"   {' ' * len('shop/report.py:' + str(r['start']['line'] + 1))}  \x1b[32m+ {new.strip()}\x1b[0m")
        say(f"   next edit in {ms:.0f} ms ({len(result['edits'])} edit(s), Tab jumps there and applies)")

    # 3. A secrets file never reaches a model.
    say()
    say("3. privacy: the user opens .env; no request is made for it")
    before = await requests_made(session)
    uri = session.open(".env")
    ghost, ms = await session.inline(uri, types.Position(line=0, character=5))
    made = await requests_made(session) - before
    say(f"   ghost text: {ghost!r}, model requests: {made}")
    if ghost is not None or made:
        problems.append(".env reached the model")

    # 4. Code actions, where the server offers them.
    from sparkforge.demo_actions import demo_actions

    problems += await demo_actions(session, say)
    return problems


def _rate(tps: float) -> str:
    return f"{tps:g} tok/s" if tps > 0 else "unpaced"


def announce(settings: Settings, roles: dict[str, Any], own_url: str | None, args: argparse.Namespace) -> None:
    """Say plainly which models the session uses, and where that came from."""
    if own_url is None:
        say("sparkforge demo: on your models (SPARKFORGE_FAST_BASE_URL and SPARKFORGE_DEEP_BASE_URL)")
    elif all(f"{r}.baseUrl" not in settings.origins for r in ROLES):
        say(f"sparkforge demo: on its own local model server at {own_url}, with scripted answers "
            "(set SPARKFORGE_FAST_BASE_URL and SPARKFORGE_DEEP_BASE_URL to use your models)")
    else:
        say(f"sparkforge demo: partly on its own local model server at {own_url}, with scripted answers")
    for role in ROLES:
        cfg = roles[role]
        if f"{role}.baseUrl" in settings.origins:
            where = f"{cfg['baseUrl']} (from {settings.origins[f'{role}.baseUrl']})"
        else:
            where = f"the demo's model server ({_rate(args.fast_tps if role == 'fast' else args.deep_tps)})"
        say(f"  {role}: {cfg['model']}, api {cfg['api']}, at {where}")


async def run_demo(args: argparse.Namespace) -> int:
    env_settings = settings_from_env()
    own = {role: f"{role}.baseUrl" not in env_settings.origins for role in ROLES}
    data = resources.files("sparkforge") / "data" / "demo"
    workdir = Path(tempfile.mkdtemp(prefix="sparkforge-demo-"))
    root = workdir / "project"
    server_proc: subprocess.Popen[str] | None = None
    try:
        with resources.as_file(data / "project") as project:
            shutil.copytree(project, root)
        own_url: str | None = None
        if any(own.values()):
            with resources.as_file(data / "scenarios.json") as scenario_file:
                server_proc, own_url = start_model_server(scenario_file, args, env_settings.fast.model)
        roles = role_settings(env_settings, own_url)
        announce(env_settings, roles, own_url, args)
        say(f"sample project: {root}")
        say()
        problems = await drive(root, roles, own, env_settings)
    except DemoError as exc:
        say(f"sparkforge demo: {exc}")
        return 1
    finally:
        if server_proc is not None:
            server_proc.terminate()
            server_proc.wait(10)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        for p in problems:
            say(f"demo problem: {p}")
        return 1
    say("demo finished: everything a user should see was shown.")
    return 0


async def drive(root: Path, roles: dict[str, Any], own: dict[Role, bool], env_settings: Settings) -> list[str]:
    """Start the language server, run the session through it, stop it; the problems seen."""
    client = LanguageClient("sparkforge-demo", "1")
    client.stopped_cleanly = False  # type: ignore[attr-defined]
    logs: list[str] = []
    client.feature(types.WINDOW_LOG_MESSAGE)(lambda params: logs.append(params.message))
    client.feature("sparkforge/status")(lambda params: None)
    client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(lambda params: None)

    def on_progress(params: Any) -> None:
        value = params.value if hasattr(params, "value") else params.get("value")
        value = value._asdict() if hasattr(value, "_asdict") else value
        if not isinstance(value, dict):
            value = {k: getattr(value, k, None) for k in ("kind", "title", "message")}
        if value.get("kind") == "begin" and value.get("title"):
            say(f"     [progress] {value['title']}")
        elif value.get("kind") == "end" and value.get("message"):
            say(f"     [progress] done: {value['message']}")

    client.feature(types.PROGRESS)(on_progress)
    settings = {**roles, "inline": {"debounceMs": 0}}
    try:
        await client.start_io(sys.executable, "-m", "sparkforge", "lsp")
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True),
                    workspace=types.WorkspaceClientCapabilities(
                        apply_edit=True,
                        workspace_edit=types.WorkspaceEditClientCapabilities(
                            document_changes=True,
                            resource_operations=[types.ResourceOperationKind.Create],
                            change_annotation_support=types.ChangeAnnotationsSupportOptions(groups_on_label=True),
                        ),
                    ),
                    text_document=types.TextDocumentClientCapabilities(
                        code_action=types.CodeActionClientCapabilities(
                            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                            data_support=True,
                        )
                    ),
                ),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
                initialization_options=settings,
            )
        )
        client.initialized(types.InitializedParams())
        session = Session(client, root, own, env_settings)
        started = time.perf_counter()
        await session.request("sparkforge/getStatus", {})  # the server is up and answering
        await asyncio.sleep(0.4)  # as an editor would: the user does not type at once
        problems = await asyncio.wait_for(scripted(session), 120 if all(own.values()) else 600)
        elapsed = time.perf_counter() - started
        status = await session.request("sparkforge/getStatus", {})
        usage = status.get("usage", {})
        say()
        say(f"session: {elapsed:.1f} s, {usage.get('inputTokens', 0)} input and "
            f"{usage.get('outputTokens', 0)} output tokens, model requests {await requests_made(session)}")
        await client.shutdown_async(None)
        client.exit(None)
        client.stopped_cleanly = True
    finally:
        # After a failure the language server was never told to exit: stop it, or
        # client.stop() waits for it forever.
        lsp = getattr(client, "_server", None)
        if lsp is not None and lsp.returncode is None and not client.stopped_cleanly:
            lsp.kill()
        await client.stop()
    return problems


def run(args: argparse.Namespace) -> int:
    return asyncio.run(run_demo(args))
