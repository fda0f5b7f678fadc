"""Benchmark the code-action path (not part of the test suite).

    /work/venv/bin/python bench/bench_actions.py [--docs 200] [--lists 1000] [--resolves 40]

Measured in one run, against a real ``sparkforge lsp`` process over stdio (driven by pygls's
LanguageClient) and a real ``sparkforge model-server`` process:

1. ``textDocument/codeAction`` round trip with 200 open documents (~300 lines each), at
   cursor positions spread over every document: p50 and p99. Target: p99 <= 5 ms.
2. ``codeAction/resolve`` overhead beyond the model's own time. The model server answers at
   once (ttft 0, no token pacing). Model time is defined as in bench_fast.py (bench/common.py):
   the model server's own logged time for the request (``/_requests`` ``duration_ms``);
   overhead = resolve round trip - that, paired per sample. It covers the work-done progress
   round trip, snapshotting the 200 documents, the prompt (token counting), the openai SDK,
   HTTP and SSE, the patch plan, the WorkspaceEdit and JSON-RPC both ways. Target: p50 <= 20 ms.
3. Patch application on a 10,000-line file: ``PatchApplier.plan`` of a 10-hunk apply_patch
   operation plus the UTF-16 conversion for the WorkspaceEdit, in process. Target: p50 <= 20 ms.

Prints a markdown table for bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "bench"))

from common import model_ms, pct, plain  # noqa: E402

from sparkforge.deep.changes import to_lsp  # noqa: E402
from sparkforge.edits import PatchApplier, SourceText  # noqa: E402
from sparkforge.models.events import PatchOperation  # noqa: E402

DEEP = "gpt-5.3-codex"


def module_text(n: int, functions: int = 30) -> str:
    parts = [f'"""Module {n}."""\n\nimport os\n\n\n']
    for i in range(functions):
        parts.append(
            f"def function_{i}(items, limit={i}):\n"
            f"    total = 0\n"
            f"    for item in items[:limit]:\n"
            f"        if item.price > {i}:\n"
            f"            total += item.price * {i + 1}\n"
            f"        else:\n"
            f"            total -= 1\n"
            f"    return total\n\n\n"
        )
    return "".join(parts)


# -- the model server --------------------------------------------------------------------------
class ModelServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sparkforge.modelserver", "--port", "0",
             "--deep-ttft-ms", "0", "--deep-tps", "0", "--fast-ttft-ms", "0", "--fast-tps", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(15)
        if not line or "listening on " not in line[0]:
            self.proc.kill()
            raise SystemExit("the model server did not start")
        self.base_url = line[0].rsplit(" ", 1)[1].strip()
        self.root = self.base_url.removesuffix("/v1")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


# -- the language server -----------------------------------------------------------------------
async def start_client(workspace: Path, base_url: str) -> LanguageClient:
    client = LanguageClient("sparkforge-bench", "1")

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def create_progress(params: Any) -> None:
        return None

    for method in (types.PROGRESS, types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE, "sparkforge/status"):
        client.feature(method)(lambda params: None)

    await client.start_io(sys.executable, "-m", "sparkforge", "lsp")
    caps = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True),
        workspace=types.WorkspaceClientCapabilities(workspace_edit=types.WorkspaceEditClientCapabilities(
            document_changes=True, change_annotation_support=types.ChangeAnnotationsSupportOptions())),
        text_document=types.TextDocumentClientCapabilities(code_action=types.CodeActionClientCapabilities(
            data_support=True, resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=["quickfix", "refactor"])))),
    )
    deep = {"baseUrl": base_url, "model": DEEP, "maxRetries": 0}
    await client.initialize_async(types.InitializeParams(
        capabilities=caps, root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="bench")],
        initialization_options={"deep": deep, "fast": dict(deep, model="gpt-5.3-codex-spark")},
    ))
    client.initialized(types.InitializedParams())
    return client


def action_params(uri: str, line: int) -> dict[str, Any]:
    pos = {"line": line, "character": 0}
    return {"textDocument": {"uri": uri}, "range": {"start": pos, "end": pos}, "context": {"diagnostics": []}}


async def raw(client: LanguageClient, method: str, params: Any) -> Any:
    """A request whose result is kept as JSON (lsprotocol would misread actions with commands)."""
    import uuid

    protocol = client.protocol
    msg_id = str(uuid.uuid4())
    future = asyncio.get_running_loop().create_future()
    protocol._request_futures[msg_id] = future
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return plain(await future)


async def bench_lsp(args: argparse.Namespace, ms: ModelServer) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        client = await start_client(workspace, ms.base_url)
        uris = []
        for n in range(args.docs):
            path = workspace / f"pkg/module_{n}.py"
            path.parent.mkdir(exist_ok=True)
            text = module_text(n)
            path.write_text(text)
            uris.append(path.as_uri())
            client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)))
        lines = module_text(0).count("\n")
        # Warm up (imports, first token count) before measuring.
        for i in range(50):
            await raw(client, types.TEXT_DOCUMENT_CODE_ACTION, action_params(uris[i % len(uris)], 10))
        listing = []
        for i in range(args.lists):
            params = action_params(uris[(i * 7) % len(uris)], 5 + (i * 13) % (lines - 10))
            started = time.perf_counter()
            result = await raw(client, types.TEXT_DOCUMENT_CODE_ACTION, params)
            listing.append((time.perf_counter() - started) * 1000)
            assert result is not None
        out["list"] = listing
        assert ms.call("GET", "/_stats")["requests_total"] == 0, "listing must not call a model"

        patch = {"type": "update_file", "path": "pkg/module_3.py",
                 "diff": "@@ def function_4(items, limit=4):\n+    \"\"\"The weighted total.\"\"\"\n     total = 0\n"}
        ms.call("POST", "/_scenarios", {"scenarios": [
            {"name": "doc", "model": DEEP, "input_contains": ["Document function function_4"],
             "output": "Added a docstring.", "patches": [patch]}]})
        actions = await raw(client, types.TEXT_DOCUMENT_CODE_ACTION, action_params(uris[3], 4 + 10 * 4 + 2))
        document = next(a for a in actions if a["data"]["kind"] == "document")
        resolve_ms, direct_ms, overhead = [], [], []
        for i in range(args.resolves + 3):
            started = time.perf_counter()
            resolved = await raw(client, types.CODE_ACTION_RESOLVE, document)
            took = (time.perf_counter() - started) * 1000
            assert resolved["edit"]["documentChanges"], resolved
            direct = model_ms(ms.call("GET", "/_requests?limit=1")["requests"][-1])
            assert direct is not None
            if i >= 3:  # the first resolves warm up the server's HTTP pool and tokenizer
                resolve_ms.append(took)
                direct_ms.append(direct)
                overhead.append(took - direct)
        out.update(resolve=resolve_ms, direct=direct_ms, overhead=overhead)
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return out


def bench_patch(runs: int) -> dict[str, list[float]]:
    text = "".join(
        f"def f_{i}(x):\n    y = x + {i}\n    z = y * 2\n    return z\n\n" for i in range(2000)
    )
    assert text.count("\n") == 10_000
    hunks = []
    for k in range(10):
        i = 150 + k * 190
        hunks.append(f"@@ def f_{i}(x):\n-    y = x + {i}\n+    y = x - {i}  # changed\n     z = y * 2\n")
    op = PatchOperation("update_file", "big.py", "".join(hunks))
    # As in the server, which freezes what it loaded at start-up (features/lifecycle.py):
    # otherwise a full collection over the benchmark's own imports lands in one sample.
    import gc

    gc.collect()
    gc.freeze()
    times, totals = [], []
    for run in range(runs + 3):
        started = time.perf_counter()
        plan = PatchApplier(Path("/tmp"), lambda rel: SourceText(text, 1)).plan([op])
        planned = time.perf_counter()
        to_lsp(text, plan.files[0].changes)
        done = time.perf_counter()
        if run >= 3:  # warm-up: imports, regex compilation
            times.append((planned - started) * 1000)
            totals.append((done - started) * 1000)
    assert len(plan.files[0].changes) == 10
    return {"plan": times, "plan+utf16": totals}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--lists", type=int, default=1000)
    parser.add_argument("--resolves", type=int, default=40)
    parser.add_argument("--patch-runs", type=int, default=50)
    args = parser.parse_args(argv)
    ms = ModelServer()
    try:
        lsp = asyncio.run(bench_lsp(args, ms))
    finally:
        ms.close()
    patch = bench_patch(args.patch_runs)
    rows = [
        (f"codeAction list, {args.docs} open documents (n={args.lists})", lsp["list"], "p99 <= 5 ms"),
        (f"codeAction/resolve round trip (n={args.resolves})", lsp["resolve"], ""),
        ("the model's own time (the model server's logged duration)", lsp["direct"], ""),
        ("resolve overhead beyond the model (paired difference)", lsp["overhead"], "p50 <= 20 ms"),
        ("patch plan, 10,000-line file, 10 hunks", patch["plan"], ""),
        ("patch plan + UTF-16 ranges, 10,000-line file", patch["plan+utf16"], "p50 <= 20 ms"),
    ]
    print(f"sparkforge bench_actions: Python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs\n")
    print("| measure | p50 ms | p99 ms | target |")
    print("| --- | ---: | ---: | --- |")
    for name, values, target in rows:
        print(f"| {name} | {pct(values, .5):.2f} | {pct(values, .99):.2f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
