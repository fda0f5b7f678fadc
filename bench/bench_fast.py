"""Benchmark of the fast path: ghost text while typing, through a real LSP client.

    python bench/bench_fast.py [--quick]

Runs, in one process tree and one run, against `sparkforge model-server` (fast model at
1,000 tok/s, time to first token configurable):
  a. server-added latency per suggestion (round trip minus the model's own time, which the
     model server logs per request on the machine's shared monotonic clock), next to the
     round trip of a bare pygls server (bench/floor_server.py) measured the same way;
  b. a typing replay of real source files (the standard library's), character by character at
     human speeds with pauses, with the adaptive debounce: model requests and streamed tokens
     per 100 keystrokes, and the share of pauses over 300 ms that end with a suggestion shown;
     again with a fast typist's rhythm (mean gap 60 ms, wide spread) and a slow one's, each
     reporting requests and abandoned-stream tokens per 100 keystrokes; and once under a
     constant 429 (Retry-After 5 s): requests per window, and how soon ghost text answers;
     at each pause that ends with a suggestion: from the debounce's end (the keystroke's
     arrival at the server, from the status's timings, + the debounce) to the model server
     receiving the request, and from the model's last byte to the client having the items,
     each split into its steps;
  c. time from a newer keystroke to the close of the stale stream;
  d. server CPU time per keystroke and peak RSS, with 200 documents open;
  e. the highest token rate one stream sustains before the server falls behind.
Prints a markdown report; nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import last_byte, model_ms, pct, plain  # noqa: E402

LISTENING = "sparkforge model-server listening on "
KIND = types.InlineCompletionTriggerKind


class ModelServer:
    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sparkforge.modelserver", "--port", "0", *args],
            stdout=subprocess.PIPE, text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith(LISTENING), line
        self.base_url = line[len(LISTENING):].strip()
        self.root = self.base_url.removesuffix("/v1")

    def call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def load(self, scenarios, models=None):
        self.call("POST", "/_scenarios", {"scenarios": scenarios, "models": models or {}, "replace": True})

    def reset(self):
        self.call("POST", "/_reset", {})

    def stats(self):
        return self.call("GET", "/_stats")

    def requests(self, limit=200):
        return self.call("GET", f"/_requests?limit={limit}")["requests"]

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


class Editor:
    """A client-side editor: open documents, typing, inline requests cancelled like VS Code's."""

    def __init__(self, client: LanguageClient):
        self.client = client
        self.docs: dict[str, list] = {}  # uri -> [text, version]
        self.bytes_at = 0.0  # monotonic: the server's latest bytes reached this process

    @classmethod
    async def start(cls, *cmd: str, settings=None, root: Path | None = None) -> "Editor":
        client = LanguageClient("bench", "1")
        client.feature(types.WINDOW_LOG_MESSAGE)(lambda p: None)
        client.feature(types.WINDOW_SHOW_MESSAGE)(lambda p: None)
        client.feature("sparkforge/status")(lambda p: None)
        await client.start_io(*cmd)
        root = root or Path.cwd()
        await client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
            initialization_options=settings,
        ))
        client.initialized(types.InitializedParams())
        editor = cls(client)
        # When the server's bytes reach this process (before the Python client parses them,
        # which an editor does in its own time): the pipe's reader is fed by the event loop.
        stdout = client._server.stdout
        feed = stdout.feed_data

        def fed(data: bytes) -> None:
            editor.bytes_at = time.monotonic()
            feed(data)

        stdout.feed_data = fed
        return editor

    @property
    def pid(self) -> int:
        return self.client._server.pid

    def open(self, uri: str, text: str) -> None:
        self.docs[uri] = [text, 1]
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))

    def type(self, uri: str, line: int, char: int, s: str) -> types.Position:
        doc = self.docs[uri]
        doc[1] += 1
        pos = types.Position(line=line, character=char)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc[1]),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=s)]))
        lines = doc[0].split("\n")
        lines[line] = lines[line][:char] + s + lines[line][char:]
        doc[0] = "\n".join(lines)
        return types.Position(line=line, character=char + len(s))

    def inline(self, uri: str, pos: types.Position, invoked: bool):
        return self.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
            context=types.InlineCompletionContext(trigger_kind=KIND.Invoked if invoked else KIND.Automatic)))

    def inline_raw(self, uri: str, pos: types.Position):
        """An inline request the way VS Code sends it, cancellable with $/cancelRequest
        (pygls's client trips over a late answer to a future it cancelled itself)."""
        import uuid

        protocol = self.client.protocol
        msg_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        protocol._request_futures[msg_id] = future
        # The answer read as its LSP type, as the typed request (and the floor) reads it: left
        # untyped, pygls builds a namedtuple class per JSON object, about 0.8 ms an answer.
        protocol._result_types[msg_id] = protocol.get_result_type(types.TEXT_DOCUMENT_INLINE_COMPLETION)
        params = protocol._converter.unstructure(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
            context=types.InlineCompletionContext(trigger_kind=KIND.Automatic)))
        protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": types.TEXT_DOCUMENT_INLINE_COMPLETION, "params": params})

        def cancel() -> None:
            protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

        return future, cancel

    async def status(self):
        return await self.client.protocol.send_request_async("sparkforge/getStatus", {})

    async def close(self):
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 5)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()


def source_files() -> list[Path]:
    import argparse as a, difflib, textwrap, json.decoder as jd, ast, inspect as ins

    return [Path(m.__file__) for m in (a, difflib, textwrap, jd, ast, ins)]


def sparkforge_cmd() -> list[str]:
    return [sys.executable, "-m", "sparkforge", "lsp"]


def settings_for(base_url: str, debounce_ms, transport: str = "auto"):
    return {"fast": {"baseUrl": base_url, "maxRetries": 0, "transport": transport},
            "deep": {"baseUrl": base_url, "maxRetries": 0},
            "inline": {"debounceMs": debounce_ms}}


def typing_points(text: str, n: int, seed: int) -> list[tuple[int, int]]:
    """Positions at the end of code lines (where a user would be typing), spread over the file."""
    rng = random.Random(seed)
    lines = text.split("\n")
    candidates = [i for i, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("#") and len(ln) < 100]
    return [(i, len(lines[i])) for i in sorted(rng.sample(candidates, min(n, len(candidates))))]


async def part_floor(n: int) -> list[float]:
    """The bare pygls floor: the same requests after the same change, answered at once."""
    path = Path(source_files()[0])  # argparse.py, about 2,600 lines
    text = path.read_text()
    uri = path.as_uri()
    points = typing_points(text, n, 1)
    floor = await Editor.start(sys.executable, str(HERE / "floor_server.py"))
    floor.open(uri, text)
    floor_rtt = []
    for warm, (line, char) in enumerate(points):
        pos = floor.type(uri, line, char, " ")
        t = time.perf_counter()
        await floor.inline(uri, pos, invoked=True)
        if warm >= 5:
            floor_rtt.append((time.perf_counter() - t) * 1000)
    await floor.close()
    return floor_rtt


async def part_a(ms: ModelServer, n: int, transport: str) -> dict:
    """Server-added latency per suggestion over ``transport``, debounce 0."""
    path = Path(source_files()[0])
    text = path.read_text()
    uri = path.as_uri()
    points = typing_points(text, n, 1)
    ms.load([{"name": "rewrite", "model": "gpt-5.3-codex-spark", "rewrite_insert": "  # noqa"}])
    ed = await Editor.start(*sparkforge_cmd(), settings=settings_for(ms.base_url, 0, transport))
    ed.open(uri, text)
    await ed.status()
    await asyncio.sleep(0.5)  # the tokenizer loads in the background after initialized
    added, rtts, models, used = [], [], [], set()
    for i, (line, char) in enumerate(points):
        pos = ed.type(uri, line, char, " ")
        before = ms.stats()["requests_total"]
        t_send = time.monotonic()
        result = await ed.inline(uri, pos, invoked=True)
        rtt = (time.monotonic() - t_send) * 1000
        log = ms.requests(limit=1)
        if ms.stats()["requests_total"] != before + 1 or not result or not result.items:
            continue
        model = model_ms(log[-1])
        used.add(log[-1].get("transport"))
        if i >= 5:  # warm-up: first connections, first prompts
            rtts.append(rtt)
            models.append(model)
            added.append(rtt - model)
    await ed.close()
    return {"added": added, "rtt": rtts, "model": models, "transport": transport, "used": sorted(map(str, used))}


@dataclass(frozen=True)
class Rhythm:
    """How a typist's keystrokes are spaced: a lognormal gap between the keys of a line
    (``mu``, ``sigma`` of the gap in seconds), a pause after some words, a pause at the end
    of each line. Seeded: every run types the same."""

    name: str
    mu: float
    sigma: float
    word_pause_p: float
    word_pause: tuple[float, float]
    line_pause: tuple[float, float]

    def key_gap(self, rng: random.Random, ch: str) -> tuple[float, bool]:
        """The wait after typing ``ch``, and whether it is a pause after a word."""
        gap = rng.lognormvariate(self.mu, self.sigma)
        if ch == " " and rng.random() < self.word_pause_p:
            return rng.uniform(*self.word_pause), True
        return gap, False

    def line_gap(self, rng: random.Random) -> float:
        return rng.uniform(*self.line_pause)


# The lognormal's mean is exp(mu + sigma**2 / 2): about 106 ms, 60 ms and 250 ms between keys.
TYPICAL = Rhythm("typical: about 110 ms between keys", -2.3, 0.35, 0.15, (0.35, 1.2), (0.4, 1.5))
FAST_TYPIST = Rhythm("fast typist: mean 60 ms, wide spread", math.log(0.060) - 0.8**2 / 2, 0.8,
                     0.08, (0.3, 0.9), (0.3, 1.0))
SLOW_TYPIST = Rhythm("slow typist: mean 250 ms, wide spread", math.log(0.250) - 0.7**2 / 2, 0.7,
                     0.25, (0.5, 2.0), (0.6, 2.5))


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def proc_rss_mb(pid: int) -> float:
    return proc_peak_rss_mb(pid, "VmRSS")


async def part_bd(ms: ModelServer, keystrokes: int, rhythm: Rhythm = TYPICAL, seed: int = 7,
                  documents: int = 200, fault: dict | None = None) -> dict:
    """Typing replay with the adaptive debounce, ``documents`` documents open, at ``rhythm``;
    ``fault`` is injected into every model request (a constant 429, say)."""
    rng = random.Random(seed)
    scenario = {"name": "rewrite", "model": "gpt-5.3-codex-spark", "rewrite_insert": "  # noqa"}
    ms.load([dict(scenario, fault=fault) if fault else scenario])
    ed = await Editor.start(*sparkforge_cmd(), settings=settings_for(ms.base_url, None))
    files = source_files()
    texts = [f.read_text() for f in files]
    for i in range(documents):
        ed.open(f"file:///bench/doc{i}/{files[i % len(files)].name}", texts[i % len(texts)])
    await ed.status()
    await asyncio.sleep(1.0)  # the tokenizer finishes loading in the background
    rss_open = proc_rss_mb(ed.pid)

    # The text to type: real lines of a real file, typed into a fresh spot of a document.
    uri = "file:///bench/doc0/" + files[0].name
    source_lines = [ln for ln in texts[1].split("\n") if ln.strip()][200:]
    line = len(ed.docs[uri][0].split("\n")) - 1
    ed.type(uri, line, 0, "\n")
    line += 1
    ms.reset()
    cpu0 = proc_cpu_seconds(ed.pid)
    started = time.perf_counter()
    pending = None
    shown_at_pause = []
    last_result = {"shown": False, "sent": 0.0, "items_at": None, "bytes_at": None}
    seen_ids: set = set()
    debounces: list[float] = []  # the debounce of each sampled prediction (ms)
    over_debounce = 0  # sampled predictions whose work before the request outlasted the debounce
    debounce_to_request: list[float] = []  # ms: debounce end -> model server received the request
    keystroke_trip: list[float] = []  # ms: the editor sends a keystroke -> the server has it
    over_sleep: list[float] = []  # ms: the debounce's end -> the server's wait ends
    after_last_byte: list[tuple[float, float, float]] = []  # last byte -> items, in three steps
    last_byte_to_items: list[float] = []  # ms: the model's last byte -> the client has the items
    last_byte_to_bytes: list[float] = []  # ms: the model's last byte -> the answer's bytes reach the client
    sample_transports: set = set()
    typed = 0
    src_i = 0
    char = 0
    gaps: list[float] = []  # seconds between keystrokes within a line, pauses aside
    answered: list[float] = []  # ms from an inline request to its answer (cancelled ones aside)

    async def ask(future, sent: float, key_at: float):
        try:
            r = await future
            now = time.monotonic()
            answered.append((time.perf_counter() - sent) * 1000)
            if r and (r.get("items") if isinstance(r, dict) else getattr(r, "items", None)):
                last_result.update(shown=True, items_at=now, sent=key_at, bytes_at=ed.bytes_at)
        except Exception:
            pass

    async def sample_pause() -> None:
        """After a pause that ended with a suggestion shown: the prediction's debounce (from
        the status) and the model request it made (from the model server's log)."""
        if not last_result["shown"] or fault:
            return
        last = plain(await ed.status()).get("predictions", {}).get("last")
        log = ms.requests(limit=1)
        if not last or last["id"] in seen_ids or not log or model_ms(log[-1]) is None:
            return
        nonlocal over_debounce
        seen_ids.add(last["id"])
        entry = log[-1]
        if entry["received_monotonic"] < last_result["sent"]:
            return  # not this keystroke's request
        debounces.append(last["debounceMs"])
        t = last.get("timingsMs") or {}
        if t.get("ready", 0) - t.get("keystroke", 0) > last["debounceMs"]:
            over_debounce += 1
        # The debounce counts from the keystroke's arrival at the server (the server's clock,
        # perf_counter, is CLOCK_MONOTONIC as the model server's and ours are): the trip of the
        # keystroke from the editor is reported on its own.
        t = last.get("timingsMs") or {}
        if not (last.get("startedAt") and "keystroke" in t and "debounce_end" in t):
            return
        at = last["startedAt"]
        arrived = at + t["keystroke"] / 1000
        debounce_end = arrived + last["debounceMs"] / 1000
        debounce_to_request.append((entry["received_monotonic"] - debounce_end) * 1000)
        keystroke_trip.append((arrived - last_result["sent"]) * 1000)
        over_sleep.append((at + t["debounce_end"] / 1000 - debounce_end) * 1000)
        last_byte_to_items.append((last_result["items_at"] - last_byte(entry)) * 1000)
        last_byte_to_bytes.append((last_result["bytes_at"] - last_byte(entry)) * 1000)
        if "answer_end" in t and "classified" in t:
            after_last_byte.append((
                (at + t["answer_end"] / 1000 - last_byte(entry)) * 1000,  # the answer's end read
                t["classified"] - t["answer_end"],  # the answer read back into a suggestion
                (last_result["items_at"] - at - t["classified"] / 1000) * 1000,  # to the editor
            ))
        sample_transports.add(str(entry.get("transport")))

    while typed < keystrokes:
        src = source_lines[src_i % len(source_lines)]
        src_i += 1
        for ch in src:
            key_at = time.monotonic()
            pos = ed.type(uri, line, char, ch)
            char += 1
            typed += 1
            if pending is not None and not pending[0].done():
                pending[1]()  # VS Code cancels the previous inline request on each keystroke
            last_result["shown"] = False
            future, cancel = ed.inline_raw(uri, pos)
            pending = (asyncio.ensure_future(ask(future, time.perf_counter(), key_at)), cancel)
            gap, word_pause = rhythm.key_gap(rng, ch)  # human typing, longer pauses after some words
            if not word_pause:
                gaps.append(gap)
            await asyncio.sleep(gap)
            if gap > 0.3:
                shown_at_pause.append(last_result["shown"])
                await sample_pause()
            if typed >= keystrokes:
                break
        key_at = time.monotonic()
        pos = ed.type(uri, line, char, "\n")
        line += 1
        char = 0
        typed += 1
        if pending is not None and not pending[0].done():
            pending[1]()
        last_result["shown"] = False
        future, cancel = ed.inline_raw(uri, types.Position(line=line, character=0))
        pending = (asyncio.ensure_future(ask(future, time.perf_counter(), key_at)), cancel)
        gap = rhythm.line_gap(rng)  # the end of a line: a pause
        await asyncio.sleep(gap)
        shown_at_pause.append(last_result["shown"])
        await sample_pause()
    if pending is not None:
        await asyncio.wait([pending[0]], timeout=5)
    cpu = proc_cpu_seconds(ed.pid) - cpu0
    duration = time.perf_counter() - started
    stats = ms.stats()
    log = ms.requests(limit=200)
    status = await ed.status()
    rss_end = proc_rss_mb(ed.pid)
    rss_peak = proc_peak_rss_mb(ed.pid)
    await ed.close()
    return {
        "keystrokes": typed,
        "requests": stats["requests_total"],
        "tokens": stats["tokens_streamed"],
        "abandoned": stats["streams_abandoned"],
        "tokens_abandoned": stats["tokens_abandoned"],
        "input_tokens": stats.get("input_tokens", 0),
        "cached_tokens": stats.get("cached_tokens", 0),
        "debounce_to_request": debounce_to_request,
        "keystroke_trip": keystroke_trip,
        "over_sleep": over_sleep,
        "after_last_byte": after_last_byte,
        "debounces": debounces,
        "over_debounce": over_debounce,
        "last_byte_to_items": last_byte_to_items,
        "last_byte_to_bytes": last_byte_to_bytes,
        "sample_transports": sorted(sample_transports),
        "arrivals": [r["received_monotonic"] for r in log] if len(log) < 200 else None,
        "gaps": gaps,
        "answered_ms": answered,
        "rhythm": rhythm.name,
        "duration_s": duration,
        "pauses": len(shown_at_pause),
        "pauses_shown": sum(shown_at_pause),
        "cpu_ms_per_key": cpu * 1000 / typed,
        "rss_open_mb": rss_open,
        "rss_peak_mb": rss_peak,
        "rss_end_mb": rss_end,
        "debounce_last": getattr(getattr(status, "predictions", None), "last", None),
    }


async def part_c(ms: ModelServer, n: int) -> list[float]:
    """From the newer keystroke to the close of the stale stream."""
    ms.load([{"name": "slow", "model": "gpt-5.3-codex-spark", "rewrite_insert": "  # noqa " * 200, "tokens_per_s": 200}])
    ed = await Editor.start(*sparkforge_cmd(), settings=settings_for(ms.base_url, 0))
    path = source_files()[2]
    text = path.read_text()
    uri = path.as_uri()
    ed.open(uri, text)
    await ed.status()
    await asyncio.sleep(0.5)
    closes = []
    for line, char in typing_points(text, n, 3):
        pos = ed.type(uri, line, char, " ")
        first, cancel_first = ed.inline_raw(uri, pos)
        deadline = time.monotonic() + 5
        while ms.stats()["open_streams"] < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.02)
        t_key = time.monotonic()
        pos = ed.type(uri, line, pos.character, "x")
        second, cancel_second = ed.inline_raw(uri, pos)
        while True:
            log = ms.requests(limit=2)
            stale = log[0] if len(log) == 2 else None
            if stale and stale["duration_ms"] is not None:
                closes.append((stale["received_monotonic"] + stale["duration_ms"] / 1000 - t_key) * 1000)
                break
            if time.monotonic() - t_key > 5:
                break
            await asyncio.sleep(0.005)
        cancel_first()
        cancel_second()
        await asyncio.wait([first, second], timeout=5)
        for f in (first, second):  # the cancelled ones end in an error: read it, it is expected
            if f.done() and not f.cancelled():
                f.exception()
        while ms.stats()["open_streams"]:
            await asyncio.sleep(0.01)
        ms.reset()
    await ed.close()
    return closes


async def part_e(ms: ModelServer, rates: list[int], transport: str) -> list[dict]:
    """One long stream at rising token rates: does the server keep up?"""
    path = source_files()[1]
    text = path.read_text()
    uri = path.as_uri()
    settings = settings_for(ms.base_url, 0, transport)
    settings["inline"].update({"linesAbove": 150, "linesBelow": 150, "promptTokens": 12000, "maxOutputTokens": 8000})
    ed = await Editor.start(*sparkforge_cmd(), settings=settings)
    ed.open(uri, text)
    await ed.status()
    await asyncio.sleep(0.5)
    out = []
    for rate in rates:
        ms.load([{"name": "fast", "model": "gpt-5.3-codex-spark", "rewrite_insert": "  # noqa", "tokens_per_s": rate, "ttft_ms": 5}])
        lags, durations, counts = [], [], []
        for k, (line, char) in enumerate(typing_points(text, 4, 10 + rate)):
            pos = ed.type(uri, line, char, " ")
            ms.reset()
            await ed.inline(uri, pos, invoked=True)
            t_done = time.monotonic()
            log = ms.requests(limit=1)[-1]
            counts.append(ms.stats()["tokens_streamed"])
            lags.append((t_done - last_byte(log)) * 1000)
            durations.append(model_ms(log))
        out.append({"transport": transport, "rate": rate, "tokens": pct(counts, .5), "lag_ms": pct(lags, .5), "stream_ms": pct(durations, .5)})
    await ed.close()
    return out


async def main_async(args) -> None:
    ms = ModelServer("--fast-tps", "1000", "--fast-ttft-ms", str(args.ttft))
    try:
        floor = await part_floor(args.samples)
        by_transport = [await part_a(ms, args.samples, t) for t in ("http", "websocket")]
        c = await part_c(ms, max(10, args.samples // 4))
        e = [row for t in ("http", "websocket") for row in await part_e(ms, [5000, 10000, 20000, 40000, 80000], t)]
        bd = await part_bd(ms, args.keystrokes)
        rhythms = [bd] + [await part_bd(ms, args.keystrokes, r, seed=11) for r in (FAST_TYPIST, SLOW_TYPIST)]
        limited = await part_bd(ms, args.keystrokes // 2, documents=1, fault={"kind": "429", "retry_after": RETRY_AFTER_S})
    finally:
        ms.close()
    floor50 = pct(floor, .5)
    print(f"## Fast path benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]})")
    print()
    print(f"Command: `python bench/bench_fast.py{' --quick' if args.quick else ''}` (fast model 1,000 tok/s, TTFT {args.ttft} ms)")
    print()
    print("Model time = the model server's own logged time per request (arrival to last byte); "
          "added latency = the client's round trip - model time.")
    print()
    print("| measure | p50 | p95 | p99 | ratio to the floor (p50) | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| bare pygls floor, inlineCompletion round trip (ms, n={len(floor)}) | {floor50:.2f} | {pct(floor, .95):.2f} | {pct(floor, .99):.2f} | 1x | |")
    for a in by_transport:
        t = a["transport"]
        add50, add95, add99 = (pct(a["added"], q) for q in (.5, .95, .99))
        target = f"p50 <= 2.5x floor ({2.5 * floor50:.2f}), p99 <= 10" if t == "websocket" else ""
        print(f"| sparkforge added latency over {t} (ms, n={len(a['added'])}; served over {', '.join(a['used'])}) "
              f"| {add50:.2f} | {add95:.2f} | {add99:.2f} | {add50 / floor50:.2f}x | {target} |")
    for a in by_transport:
        print(f"| model's own time per suggestion, {a['transport']} run (ms) | {pct(a['model'], .5):.1f} | {pct(a['model'], .95):.1f} | {pct(a['model'], .99):.1f} | | |")
        print(f"| round trip, {a['transport']} run (ms) | {pct(a['rtt'], .5):.1f} | {pct(a['rtt'], .95):.1f} | {pct(a['rtt'], .99):.1f} | | |")
    print()
    ws = by_transport[1]
    ws50, ws99 = pct(ws["added"], .5), pct(ws["added"], .99)
    print(f"- WebSocket added latency p50 <= 2.5x the floor: {met(ws50 <= 2.5 * floor50)} ({ws50 / floor50:.2f}x)")
    print(f"- WebSocket added latency p99 <= 10 ms: {met(ws99 <= 10)} ({ws99:.2f} ms)")
    print()
    print("| measure | p50 | p95 | p99 | target |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| newer keystroke -> stale stream closed (ms, n={len(c)}) | {pct(c, .5):.2f} | {pct(c, .95):.2f} | {pct(c, .99):.2f} | p99 <= 5 |")
    print()
    k = bd["keystrokes"]
    print("| typing replay (adaptive debounce, 200 documents open) | value | target |")
    print("| --- | --- | --- |")
    print(f"| keystrokes | {k} | |")
    print(f"| model requests per 100 keystrokes | {100 * bd['requests'] / k:.1f} | <= 25 |")
    print(f"| streamed tokens per 100 keystrokes | {100 * bd['tokens'] / k:.0f} | |")
    print(f"| stale streams closed early | {bd['abandoned']} | |")
    print(f"| pauses > 300 ms ending with a suggestion shown | {bd['pauses_shown']}/{bd['pauses']} = {100 * bd['pauses_shown'] / max(bd['pauses'], 1):.1f}% | >= 95% |")
    print(f"| server CPU time per keystroke (ms) | {bd['cpu_ms_per_key']:.2f} | |")
    print(f"| RSS with 200 documents open, after the replay (MB) | {bd['rss_open_mb']:.0f}, {bd['rss_end_mb']:.0f} | <= 150 |")
    print(f"| peak RSS of the process (MB; the tokenizer's load is the peak) | {bd['rss_peak_mb']:.0f} | |")
    d2r, b2i = bd["debounce_to_request"], bd["last_byte_to_items"]
    share = bd["cached_tokens"] / bd["input_tokens"] if bd["input_tokens"] else float("nan")
    print(f"| debounce end (the keystroke's arrival at the server + the debounce) -> model server received the request, p50 / p90 (ms, n={len(d2r)}; "
          f"over {', '.join(bd['sample_transports']) or '-'}) | {pct(d2r, .5):.2f} / {pct(d2r, .9):.2f} | p50 <= 1 |")
    trip, late = bd["keystroke_trip"], bd["over_sleep"]
    print(f"| of which: the server's wait ending after the debounce, p50 / p90 (ms) | {pct(late, .5):.2f} / {pct(late, .9):.2f} | |")
    print(f"| the editor sends a keystroke -> the server has it (not in the above), p50 / p90 (ms) "
          f"| {pct(trip, .5):.2f} / {pct(trip, .9):.2f} | |")
    print(f"| the debounce of those predictions, p50 / p10 (ms); work before the request outlasting it "
          f"| {pct(bd['debounces'], .5):.1f} / {pct(bd['debounces'], .1):.1f}; {bd['over_debounce']}/{len(d2r)} | |")
    print(f"| model's last byte -> client has the items, p50 / p90 (ms, n={len(b2i)}) | {pct(b2i, .5):.2f} / {pct(b2i, .9):.2f} | p50 <= 1 |")
    steps = bd["after_last_byte"]
    if steps:
        read, classify, deliver = ([x[i] for x in steps] for i in range(3))
        print(f"| of which, p50 (ms): the answer's end (the region's end marker) read; the answer read back into a suggestion; "
              f"on to the client's parsed result | {pct(read, .5):.2f}; {pct(classify, .5):.2f}; {pct(deliver, .5):.2f} | |")
    b2b = bd["last_byte_to_bytes"]
    print(f"| model's last byte -> the answer's bytes reach the client's pipe reader (before the "
          f"Python client parses them), p50 / p90 (ms) | {pct(b2b, .5):.2f} / {pct(b2b, .9):.2f} | |")
    print(f"| fast-model input tokens that hit the prompt cache | {bd['cached_tokens']:,} / {bd['input_tokens']:,} = {100 * share:.1f}% | |")
    print()
    print(f"- debounce end -> request received p50 <= 1 ms: {met(pct(d2r, .5) <= 1)}")
    print(f"- last byte -> items p50 <= 1 ms: {met(pct(b2i, .5) <= 1)}")
    print()
    print("| typing rhythm (replay as above) | keystrokes | gap between keys, pauses aside: mean / p10 / p90 (ms) "
          "| model requests per 100 keystrokes | abandoned streams | abandoned-stream tokens per 100 keystrokes "
          "| streamed tokens per 100 keystrokes | pauses > 300 ms ending with a suggestion shown |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rhythms:
        k = r["keystrokes"]
        gaps = [g * 1000 for g in r["gaps"]]
        print(f"| {r['rhythm']} | {k} | {statistics.mean(gaps):.0f} / {pct(gaps, .1):.0f} / {pct(gaps, .9):.0f} "
              f"| {100 * r['requests'] / k:.1f} | {r['abandoned']} | {100 * r['tokens_abandoned'] / k:.0f} "
              f"| {100 * r['tokens'] / k:.0f} | {r['pauses_shown']}/{r['pauses']} |")
    print()
    k = limited["keystrokes"]
    print(f"| typing under a constant 429 (Retry-After {RETRY_AFTER_S} s; typical rhythm, 1 document open) | value | target |")
    print("| --- | --- | --- |")
    print(f"| keystrokes, over (s) | {k}, {limited['duration_s']:.0f} | |")
    print(f"| model requests per 100 keystrokes | {100 * limited['requests'] / k:.1f} | |")
    print(f"| most requests reaching the model within any {RETRY_AFTER_S} s | {most_within(limited['arrivals'], RETRY_AFTER_S)} | 1 |")
    answered = limited["answered_ms"]
    print(f"| ghost text answer time, p50 / p99 (ms, n={len(answered)}) | {pct(answered, .5):.1f} / {pct(answered, .99):.1f} | "
          f"far below {RETRY_AFTER_S * 1000} |")
    print(f"| suggestions shown | {limited['pauses_shown']} | 0 |")
    print()
    print("| one stream over | at (tok/s) | tokens (median) | stream time: the model's own time (median ms, measured) | result after stream end (median ms) |")
    print("| --- | --- | --- | --- | --- |")
    for row in e:
        print(f"| {row['transport']} | {row['rate']} | {row['tokens']:.0f} | {row['stream_ms']:.0f} | {row['lag_ms']:.1f} |")


RETRY_AFTER_S = 5


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def most_within(arrivals: list[float] | None, window: float) -> int | str:
    """The most requests that arrived within ``window`` seconds of each other."""
    if arrivals is None:
        return "(more than the request log keeps)"
    times = sorted(arrivals)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)), default=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer samples, for a smoke run")
    p.add_argument("--ttft", type=float, default=20, help="the fast model's time to first token (ms)")
    args = p.parse_args()
    args.samples = 40 if args.quick else 200
    args.keystrokes = 150 if args.quick else 600
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
