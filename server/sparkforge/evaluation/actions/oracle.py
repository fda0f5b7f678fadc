"""``--oracle``: the local model server (``sparkforge model-server``, a subprocess on
loopback) answers each case with the case's own answer, through its ``/_scenarios`` API.

Before a case runs, one scenario is loaded in place of the last: it matches a prompt that
names the case's file and holds the line the action is asked on, and answers with the case's
short reply and its edits: apply_patch operations over the Responses API, and over Chat
Completions the same edits as one unified diff in a ```diff fence (computed here, strictly,
from the operations and the case's files). With every
answer right, a case that fails is the pipeline's fault: the action's listing, prompt,
patch reading and placement, the WorkspaceEdit, or the case itself.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from sparkforge.evaluation.actions.cases import ActionCase
from sparkforge.evaluation.hunks import split_lines

LISTENING = "sparkforge model-server listening on "


class OracleError(RuntimeError):
    pass


class OracleServer:
    """A ``python -m sparkforge.modelserver --port 0`` process, unpaced (answers at once)."""

    def __init__(self, *extra: str) -> None:
        self._stderr = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sparkforge.modelserver", "--port", "0",
             "--deep-tps", "0", "--deep-ttft-ms", "0", "--fast-tps", "0", "--fast-ttft-ms", "0", *extra],
            stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL, text=True,
        )
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        line = lines[0] if lines else ""
        if not line.startswith(LISTENING):
            self.close()
            raise OracleError(f"the local model server did not start: {line.strip() or 'no output'} "
                              f"{self.stderr_text().strip()}")
        self.base_url = line[len(LISTENING):].strip()
        self.root = self.base_url.removesuffix("/v1")

    def stderr_text(self) -> str:
        if self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def _post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(self.root + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OracleError(f"the local model server refused {path}: {exc}") from None

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(self.root + path, timeout=10) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OracleError(f"the local model server refused {path}: {exc}") from None

    def requests(self) -> dict[str, dict[str, int]]:
        """Requests served since the last ``reset()``, per endpoint and model."""
        return self._get("/_stats")["requests"]

    def reset(self) -> None:
        self._post("/_reset", {"scenarios": True})

    def answer(self, case: ActionCase) -> None:
        """From now on, answer ``case``'s action with the case's answer (and nothing else)."""
        self._post("/_scenarios", {"scenarios": [scenario(case)], "replace": True})

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


def scenario(case: ActionCase) -> dict[str, Any]:
    """The model-server scenario that answers ``case`` (docs/modelserver.md): apply_patch
    operations over the Responses API, the same edits as one unified diff in a ```diff
    fence over Chat Completions."""
    if case.answer is None:
        raise OracleError(f"{case.source}: no '## Answer' section, which --oracle needs")
    line = case.files[case.path].split("\n")[case.start[0]].strip()
    chat = case.answer.text
    if case.answer.operations:
        try:
            diff = unified_diff(case.files, case.answer.operations)
        except ValueError as exc:
            raise OracleError(f"{case.source}: the answer does not apply to the case's files: {exc}") from None
        chat = f"{chat}\n\n```diff\n{diff}```\n".lstrip("\n")
    return {
        "name": case.name,
        "input_contains": [case.path, line],
        "output": case.answer.text,
        "patches": [dict(op) for op in case.answer.operations],
        "chat_output": chat,
    }


def unified_diff(files: dict[str, str], operations: Sequence[dict[str, str]]) -> str:
    """The apply_patch ``operations`` on ``files`` as one unified diff (``--- a/PATH`` /
    ``+++ b/PATH``, ``/dev/null`` for a created or deleted file, three lines of context)."""
    out: list[str] = []
    for op in operations:
        path, kind = op["path"], op["type"]
        before = files.get(path)
        if kind == "create_file":
            old_name, old, new = "/dev/null", [], [line[1:] + "\n" for line in op["diff"].splitlines()]
        elif before is None:
            raise ValueError(f"{path} is not one of the case's files")
        elif kind == "delete_file":
            old_name, old, new = f"a/{path}", split_lines(before), []
        else:
            old_name, old, new = f"a/{path}", split_lines(before), split_lines(apply_v4a(before, op["diff"]))
        new_name = "/dev/null" if kind == "delete_file" else f"b/{path}"
        out.extend(difflib.unified_diff(old, new, old_name, new_name, n=3))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def apply_v4a(text: str, diff: str) -> str:
    """``text`` with a V4A update applied strictly: each ``@@ [anchor]`` section's context and
    ``-`` lines are found in order, after its anchor line when it has one."""
    lines = split_lines(text)
    sections: list[tuple[str, list[str], list[str]]] = []
    for raw in diff.split("\n")[:-1] if diff.endswith("\n") else diff.split("\n"):
        if raw.startswith("@@"):
            sections.append((raw[2:].strip(), [], []))
            continue
        if not sections:
            sections.append(("", [], []))
        tag, body = (raw[0], raw[1:]) if raw else (" ", "")
        if tag not in " -+":
            raise ValueError(f"line {raw!r} starts with none of ' ', '-', '+'")
        if tag in " -":
            sections[-1][1].append(body + "\n")
        if tag in " +":
            sections[-1][2].append(body + "\n")
    at = 0
    for anchor, old, new in sections:
        if anchor:
            found = next((i for i in range(at, len(lines)) if lines[i].strip() == anchor), None)
            if found is None:
                raise ValueError(f"the anchor {anchor!r} is not in the file")
            at = found + 1
        start = next((i for i in range(at, len(lines) - len(old) + 1) if lines[i:i + len(old)] == old), None)
        if start is None:
            first = old[0].rstrip("\n") if old else ""
            raise ValueError(f"its {len(old)} context and '-' lines from {first!r} are not in the file after line {at}")
        lines[start:start + len(old)] = new
        at = start + len(new)
    return "".join(lines)
