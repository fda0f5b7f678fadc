"""The demo's code-action part: the lightbulb's list (no model call), then Document and
Generate tests resolved by the deep model, shown as the diffs the editor applies."""

from __future__ import annotations

import asyncio
import difflib
import time
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from sparkforge.textpos import LineIndex


async def _raw(session: Any, method: str, params: Any, timeout: float = 60) -> Any:
    # Raw JSON both ways: lsprotocol would read a code action that carries a command as a
    # bare Command, and we want to show exactly what the server sent.
    protocol = session.client.protocol
    msg_id = str(uuid.uuid4())
    future = asyncio.get_running_loop().create_future()
    protocol._request_futures[msg_id] = future
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    result = await asyncio.wait_for(future, timeout)
    return protocol._converter.unstructure(result) if not isinstance(result, (dict, list)) else result


def _apply(root: Path, texts: dict[str, str], edit: dict[str, Any]) -> dict[str, str]:
    """Files after the WorkspaceEdit, as the editor would apply it (UTF-16 ranges)."""
    out = dict(texts)
    for change in edit.get("documentChanges", []):
        if change.get("kind") == "create":
            out[unquote(urlparse(change["uri"]).path)] = ""
            continue
        path = unquote(urlparse(change["textDocument"]["uri"]).path)
        text = out.get(path, "")
        edits = sorted(change["edits"], key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]))
        for e in reversed(edits):
            index = LineIndex.of(text)

            def offset(pos: dict[str, int]) -> int:
                # past the last line is the end of the text, as editors clamp it (a new file's
                # content replaces (0,0)-(1,0))
                if pos["line"] >= index.line_count:
                    return len(text)
                return index.offset(pos["line"], pos["character"])

            a, b = offset(e["range"]["start"]), offset(e["range"]["end"])
            text = text[:a] + e["newText"] + text[b:]
        out[path] = text
    return out


def _plain(obj: Any) -> Any:
    """JSON-like data from what pygls's client hands over for custom methods (namedtuples)."""
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


async def requests_made(session: Any) -> int:
    """Model requests the language server has made so far (both roles), as its status says:
    the same count whichever server the models are on."""
    status = _plain(await session.client.protocol.send_request_async("sparkforge/getStatus", {}))
    return sum(int((status.get(role) or {}).get("requests") or 0) for role in ("fast", "deep"))


async def demo_actions(session: Any, say: Callable[[str], None]) -> list[str]:
    problems: list[str] = []
    say()
    say("4. code actions: the user puts the cursor in apply_discount (shop/pricing.py)")
    uri = session.open("shop/pricing.py")
    before = await requests_made(session)
    params = {
        "textDocument": {"uri": uri},
        "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
        "context": {"diagnostics": [], "triggerKind": 2},
    }
    started = time.perf_counter()
    actions = _plain(await _raw(session, types.TEXT_DOCUMENT_CODE_ACTION, params))
    ms = (time.perf_counter() - started) * 1000
    made = await requests_made(session) - before
    say(f"   the lightbulb lists {len(actions)} actions in {ms:.1f} ms with {made} model requests:")
    for action in actions:
        say(f"     - {action['title']}")
    if made:
        problems.append("listing code actions called a model")

    root = session.root
    for wanted in ("Document", "Generate tests"):
        action = next((a for a in actions if a["title"].startswith(wanted)), None)
        if action is None:
            problems.append(f"no {wanted} action was offered")
            continue
        say(f"   {action['title']} (deep model at work, under progress):")
        started = time.perf_counter()
        try:
            resolved = _plain(await _raw(session, types.CODE_ACTION_RESOLVE, action, timeout=90))
        except JsonRpcException as exc:
            # What the editor would show: the server's message says why and what to do.
            say(f"   {wanted} failed: {session.named(str(getattr(exc, 'message', exc)))}")
            problems.append(f"{wanted} failed")
            continue
        ms = (time.perf_counter() - started) * 1000
        edit = resolved.get("edit")
        if not edit:
            problems.append(f"{wanted} returned no edit")
            continue
        texts = {str(p): p.read_text(encoding="utf-8") for p in (root / "shop").glob("*.py")}
        texts[str(root / "shop/pricing.py")] = session.text(uri)
        after = _apply(root, texts, edit)
        for path, new in sorted(after.items()):
            old = texts.get(path, "")
            if new == old:
                continue
            rel = Path(path).relative_to(root).as_posix()
            for line in difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{rel}" if old else "/dev/null", f"b/{rel}", lineterm=""):
                colour = "\x1b[32m" if line.startswith("+") else "\x1b[31m" if line.startswith("-") else ""
                say(f"     {colour}{line}\x1b[0m" if colour else f"     {line}")
        annotations = edit.get("changeAnnotations") or {}
        confirm = any(a.get("needsConfirmation") for a in annotations.values())
        how = "shows it as a preview to confirm" if confirm else "applies it in one click, as one undo step"
        say(f"   resolved in {ms / 1000:.1f} s; the editor {how}")
        created = any(c.get("kind") == "create" for c in edit.get("documentChanges", []))
        if wanted == "Generate tests" and session.scripted["deep"] and not created:
            problems.append("Generate tests did not create a test file")
    return problems
