"""Benchmark: does a keystroke cost more in a bigger file?

    python bench/bench_filesize.py [--quick]

Opens a generated Python file of 1,000, 10,000 and 100,000 lines in the real
`sparkforge lsp` process (one server per size), against `sparkforge model-server` answering at
once (TTFT 0, 20,000 tok/s), and types into the middle of it, one character per keystroke:

  - didChange only: N incremental changes, then one request to wait until the server has
    handled them (document sync, line index, edit history);
  - keystroke: an incremental didChange and an invoked inlineCompletion, awaited (the prompt,
    the request to the model server, the answer read back), N times;
  - didChange + codeAction at the cursor, awaited (VS Code asks for code actions at every
    cursor move), N times.

Reports the server process's CPU time (utime + stime from /proc/<pid>/stat) per keystroke,
the median of ``--repeats`` runs per size, and the ratio of the largest file to the smallest.
Prints a markdown report; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fast import ModelServer, proc_cpu_seconds, sparkforge_cmd  # noqa: E402

KIND = types.InlineCompletionTriggerKind
SIZES = (1_000, 10_000, 100_000)
TYPED = "    total = compute_value(items, limit) + offset  # adjusted\n"

BLOCK = '''\
class Record{n}:
    """A record of the generated module, number {n}."""

    def __init__(self, name: str, value: int = {n}) -> None:
        self.name = name
        self.value = value

    def scaled(self, factor: float) -> float:
        result = self.value * factor
        if result > 1000:
            return result / 2
        return result


def helper_{n}(items: list[int], limit: int = 10) -> int:
    """Sum the first ``limit`` items, café ☕ included."""
    total = 0
    for i, item in enumerate(items):
        if i >= limit:
            break
        total += item
    return total

'''


def generated(lines: int) -> str:
    """A Python module of exactly ``lines`` lines (a final newline after the last)."""
    out: list[str] = []
    n = 0
    while len(out) < lines:
        out.extend(BLOCK.format(n=n).splitlines())
        n += 1
    return "\n".join(out[:lines]) + "\n"


class Session:
    def __init__(self, client: LanguageClient, uri: str, version: int):
        self.client, self.uri, self.version = client, uri, version

    @classmethod
    async def start(cls, base_url: str, text: str) -> "Session":
        client = LanguageClient("bench", "1")
        for method in (types.WINDOW_LOG_MESSAGE, types.WINDOW_SHOW_MESSAGE, "sparkforge/status"):
            client.feature(method)(lambda p: None)
        await client.start_io(*sparkforge_cmd())
        root = Path("/tmp/sf-bench-filesize")
        root.mkdir(exist_ok=True)
        settings = {"fast": {"baseUrl": base_url, "maxRetries": 0}, "deep": {"baseUrl": base_url, "maxRetries": 0},
                    "inline": {"debounceMs": 0}}
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
            initialization_options=settings))
        client.initialized(types.InitializedParams())
        uri = (root / "generated.py").as_uri()
        client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        session = cls(client, uri, 1)
        await session.sync()
        await asyncio.sleep(1.0)  # the tokenizer finishes loading in the background
        return session

    @property
    def pid(self) -> int:
        return self.client._server.pid

    async def sync(self) -> None:
        await self.client.protocol.send_request_async("sparkforge/getStatus", {})

    def change(self, line: int, char: int, s: str) -> types.Position:
        self.version += 1
        pos = types.Position(line=line, character=char)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=s)]))
        if s == "\n":
            return types.Position(line=line + 1, character=0)
        return types.Position(line=line, character=char + len(s))

    async def inline(self, pos: types.Position):
        return await self.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri), position=pos,
            context=types.InlineCompletionContext(trigger_kind=KIND.Invoked)))

    async def actions(self, pos: types.Position):
        return await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=self.uri), range=types.Range(start=pos, end=pos),
            context=types.CodeActionContext(diagnostics=[])))

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 5)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()


def keystrokes(start_line: int, n: int):
    """(line, character, char) of ``n`` keystrokes typing TYPED from ``start_line`` on."""
    line, char = start_line, 0
    for i in range(n):
        ch = TYPED[i % len(TYPED)]
        yield line, char, ch
        if ch == "\n":
            line, char = line + 1, 0
        else:
            char += 1


async def measure(ms: ModelServer, lines: int, n: int) -> dict[str, float]:
    """CPU ms per keystroke for didChange alone and for didChange + inlineCompletion."""
    text = generated(lines)
    s = await Session.start(ms.base_url, text)
    try:
        middle = lines // 2
        # warm-up: a few full keystrokes (first request, first prompt)
        at = keystrokes(middle, 10_000)
        for _ in range(10):
            line, char, ch = next(at)
            await s.inline(s.change(line, char, ch))
        cpu0 = proc_cpu_seconds(s.pid)
        for _ in range(n):
            line, char, ch = next(at)
            s.change(line, char, ch)
        await s.sync()
        change_ms = (proc_cpu_seconds(s.pid) - cpu0) * 1000 / n
        answered = 0
        cpu0 = proc_cpu_seconds(s.pid)
        for _ in range(n):
            line, char, ch = next(at)
            result = await s.inline(s.change(line, char, ch))
            answered += bool(result and result.items)
        key_ms = (proc_cpu_seconds(s.pid) - cpu0) * 1000 / n
        offered = 0
        cpu0 = proc_cpu_seconds(s.pid)
        for _ in range(n):
            line, char, ch = next(at)
            offered += bool(await s.actions(s.change(line, char, ch)))
        action_ms = (proc_cpu_seconds(s.pid) - cpu0) * 1000 / n
    finally:
        await s.close()
    return {"change": change_ms, "key": key_ms, "action": action_ms, "answered": answered, "offered": offered,
            "bytes": len(text.encode())}


async def main_async(args) -> None:
    ms = ModelServer("--fast-tps", "20000", "--fast-ttft-ms", "0")
    ms.load([{"name": "rewrite", "model": "gpt-5.3-codex-spark", "rewrite_insert": "  # noqa"}])
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in SIZES}
    try:
        for _ in range(args.repeats):
            for size in SIZES:  # interleaved, so that a burst of load hits every size alike
                runs[size].append(await measure(ms, size, args.keys))
    finally:
        ms.close()
    print(f"## Keystroke cost by file size ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]})")
    print()
    print(f"Command: `python bench/bench_filesize.py{' --quick' if args.quick else ''}` ({args.keys} keystrokes "
          f"per measure, median of {args.repeats} runs per size; model server TTFT 0, 20,000 tok/s)")
    print()
    print("| file (lines) | size (MB) | server CPU per didChange (ms) | server CPU per keystroke: didChange + "
          "inlineCompletion (ms) | runs (keystroke ms) | suggestions answered | didChange + codeAction (ms) "
          "| code actions offered |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    med: dict[int, float] = {}
    for size in SIZES:
        rs = runs[size]
        med[size] = statistics.median(r["key"] for r in rs)
        change = statistics.median(r["change"] for r in rs)
        spread = ", ".join(f"{r['key']:.2f}" for r in rs)
        answered = f"{min(r['answered'] for r in rs)}/{args.keys}"
        action = statistics.median(r["action"] for r in rs)
        offered = f"{min(r['offered'] for r in rs)}/{args.keys}"
        print(f"| {size:,} | {rs[0]['bytes'] / 1e6:.2f} | {change:.2f} | {med[size]:.2f} | {spread} | {answered} "
              f"| {action:.2f} | {offered} |")
    print()
    ratio = med[SIZES[-1]] / med[SIZES[0]]
    print("| measure | value | target |")
    print("| --- | --- | --- |")
    print(f"| CPU per keystroke, {SIZES[-1]:,} lines / {SIZES[0]:,} lines | {ratio:.2f}x | <= 2x |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer keystrokes and runs, for a smoke run")
    args = p.parse_args()
    args.keys = 60 if args.quick else 200
    args.repeats = 1 if args.quick else 3
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
