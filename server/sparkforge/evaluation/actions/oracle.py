"""``--oracle``: the local model server (``sparkforge model-server``, a subprocess on
loopback) answers each case with the case's own answer, through its ``/_scenarios`` API.

Before a case runs, one scenario is loaded in place of the last: it matches a prompt that
names the case's file and holds the line the action is asked on, and answers with the case's
apply_patch operations (the Responses API's edit format) and its short reply. With every
answer right, a case that fails is the pipeline's fault: the action's listing, prompt,
patch reading and placement, the WorkspaceEdit, or the case itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Any

from sparkforge.evaluation.actions.cases import ActionCase

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
    """The model-server scenario that answers ``case`` (docs/modelserver.md)."""
    if case.answer is None:
        raise OracleError(f"{case.source}: no '## Answer' section, which --oracle needs")
    line = case.files[case.path].split("\n")[case.start[0]].strip()
    return {
        "name": case.name,
        "endpoint": "responses",
        "input_contains": [case.path, line],
        "output": case.answer.text,
        "patches": [dict(op) for op in case.answer.operations],
    }
