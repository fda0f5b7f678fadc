"""Shared fixtures: ``model_server``, one local OpenAI-compatible model server per session.

Tests talk to it as the product does (``openai.AsyncOpenAI(base_url=model_server.base_url,
api_key="test")``), load the scenarios they need with ``model_server.load(...)`` and check
what reached the model with ``model_server.requests()`` and ``model_server.stats()``.
Tests that need their own server (special flags, a scenario file, signals) use the
``model_server_factory`` fixture (it calls ``start_model_server(*args)``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

LISTENING_PREFIX = "sparkforge model-server listening on "

# The servers the tests start write what they keep for the user (Explain's Markdown files)
# under XDG_CACHE_HOME: a folder of the test run's, never the user's own cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="sparkforge-test-cache-")


class ModelServer:
    """A running ``python -m sparkforge.modelserver`` process and its control endpoints."""

    def __init__(self, proc: subprocess.Popen[str], base_url: str, stderr_file: Any) -> None:
        self.proc = proc
        self.base_url = base_url  # "http://127.0.0.1:PORT/v1"
        self.root = base_url.removesuffix("/v1")
        self.port = int(self.root.rsplit(":", 1)[1])
        self._stderr = stderr_file

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()!r}") from exc

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_stats")

    def requests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The last ``limit`` requests, oldest first (endpoint, model, scenario, prompt, body)."""
        return self._call("GET", f"/_requests?limit={limit}")["requests"]

    def reset(self, scenarios: bool = False) -> None:
        """Zero counters and the request log; ``scenarios=True`` also drops loaded scenarios."""
        self._call("POST", "/_reset", {"scenarios": scenarios})

    def load(self, scenarios: list[dict[str, Any]], models: dict[str, Any] | None = None,
             replace: bool = True) -> None:
        self._call("POST", "/_scenarios",
                   {"scenarios": scenarios, "models": models or {}, "replace": replace})

    def refuse(self, deny: list[str] | None = None, forbid: list[str] | None = None) -> None:
        """Answer the ``deny`` models 404 ``model_not_found`` (lookups and requests) and the
        ``forbid`` ones 403 (requests only), as OpenAI answers a key without access; until
        ``reset(scenarios=True)``."""
        self._call("POST", "/_models", {"deny": deny or [], "forbid": forbid or []})

    def stderr_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self, timeout: float = 5.0) -> int:
        """Stop with SIGTERM (SIGKILL if it hangs); the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()
        return self.proc.returncode


def start_model_server(*args: str, timeout: float = 15.0) -> ModelServer:
    """Start ``python -m sparkforge.modelserver --port 0 ARGS`` and wait until it listens."""
    stderr_file = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sparkforge.modelserver", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=stderr_file, text=True,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    # The server prints exactly one line once it listens; read it on a thread so a server
    # that hangs before listening fails the test instead of blocking it.
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = lines[0] if lines else ""
    if not line.startswith(LISTENING_PREFIX):
        proc.kill()
        proc.wait()
        stderr_file.seek(0)
        raise RuntimeError(f"model server did not start: {line!r} {stderr_file.read()}")
    return ModelServer(proc, line[len(LISTENING_PREFIX):].strip(), stderr_file)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty project folder: the workspace root the editor opens."""
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def model_server() -> Iterator[ModelServer]:
    server = start_model_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def model_server_factory() -> Iterator[Callable[..., ModelServer]]:
    """``start(*args)``: a separate model server process for this test, stopped afterwards.

    (A fixture rather than an import: several conftest.py files share the module name
    ``conftest``, so ``from conftest import ...`` is ambiguous.)
    """
    started: list[ModelServer] = []

    def start(*args: str) -> ModelServer:
        server = start_model_server(*args)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


# -- the model server through the real openai SDK (test_modelserver*, test_prompt_cache) -------
# (tests/e2e has its own ``client``: the language client)
@pytest.fixture
def ms(model_server: ModelServer) -> ModelServer:
    """The session's model server, reset with its runtime scenarios."""
    model_server.reset(scenarios=True)
    return model_server


@pytest.fixture
async def client(ms: ModelServer):
    """An ``openai.AsyncOpenAI`` on the model server, without the SDK's retries."""
    import openai

    c = openai.AsyncOpenAI(base_url=ms.base_url, api_key="test", max_retries=0)
    yield c
    await c.close()
