"""`sparkforge lsp` over stdin/stdout: the event loop's own pipe transports (sparkforge.stdio),
and pygls's threaded reader where stdin is a regular file. The real server process, bytes as
an editor writes them: split anywhere, large, and the end of input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SERVER = [sys.executable, "-m", "sparkforge", "lsp"]


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize(root: Path, msg_id: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "initialize",
            "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}}


def responses(stdout: bytes) -> list[dict]:
    """The messages in ``stdout``, parsed by their Content-Length (written here, not by pygls)."""
    out = []
    while stdout:
        head, _, rest = stdout.partition(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        out.append(json.loads(rest[:length]))
        stdout = rest[length:]
    return out


def env() -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": "sk-test"}


def test_messages_split_anywhere_and_a_large_one_are_read_whole(tmp_path):
    big = "x = 1  # filler\n" * 70_000  # about 1.1 MB: many pipe buffers
    uri = (tmp_path / "big.py").as_uri()
    data = b"".join([
        frame(initialize(tmp_path)),
        frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        frame({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": big}}}),
        frame({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
            "textDocument": {"uri": uri}, "range": {"start": {"line": 69_999, "character": 0},
                                                    "end": {"line": 69_999, "character": 5}},
            "context": {"diagnostics": []}}}),
        frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        frame({"jsonrpc": "2.0", "method": "exit"}),
    ])
    proc = subprocess.Popen(SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env(), cwd=tmp_path)
    assert proc.stdin is not None
    # The headers a byte at a time, then the rest in uneven pieces.
    for i in range(40):
        proc.stdin.write(data[i:i + 1])
        proc.stdin.flush()
    step = 4093
    for start in range(40, len(data), step):
        proc.stdin.write(data[start:start + step])
    stdout, stderr = proc.communicate(timeout=120)  # closes stdin: the end of input
    got = {m["id"]: m for m in responses(stdout) if "id" in m}
    assert got[1]["result"]["serverInfo"]["name"] == "sparkforge"
    assert isinstance(got[2]["result"], list)  # the code actions of line 69,999 of the big file
    assert got[3]["result"] is None
    assert proc.returncode == 0
    assert b"Traceback" not in stderr


def test_the_end_of_input_ends_the_server_quietly(tmp_path):
    proc = subprocess.run(SERVER, input=frame(initialize(tmp_path)), capture_output=True, env=env(),
                          cwd=tmp_path, timeout=60)
    assert responses(proc.stdout)[0]["result"]["serverInfo"]["name"] == "sparkforge"
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr


def test_stdin_from_a_regular_file_uses_the_threaded_reader(tmp_path):
    requests = tmp_path / "requests.bin"  # a file cannot be watched by the event loop
    requests.write_bytes(frame(initialize(tmp_path)) + frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
                         + frame({"jsonrpc": "2.0", "method": "exit"}))
    with requests.open("rb") as stdin:
        proc = subprocess.run(SERVER, stdin=stdin, capture_output=True, env=env(), cwd=tmp_path, timeout=60)
    got = {m["id"]: m for m in responses(proc.stdout) if "id" in m}
    assert got[1]["result"]["serverInfo"]["name"] == "sparkforge"
    assert got[2]["result"] is None
    assert b"Traceback" not in proc.stderr


def test_exit_without_shutdown_exits_with_1_as_lsp_asks(tmp_path):
    proc = subprocess.run(SERVER, input=frame(initialize(tmp_path)) + frame({"jsonrpc": "2.0", "method": "exit"}),
                          capture_output=True, env=env(), cwd=tmp_path, timeout=60)
    assert responses(proc.stdout)[0]["id"] == 1
    assert proc.returncode == 1
    assert b"Traceback" not in proc.stderr
