"""The product through a real LiteLLM proxy (in front of the local model server), on both APIs:
ghost text, Document resolved into an edit, and a stale prediction's stream closed upstream.

Skipped unless ``SPARKFORGE_LITELLM`` names the proxy's ``litellm`` executable; ``.ci/run``
installs LiteLLM in a virtual environment of its own and sets it. The proxy runs without a
database, with a master key (which it requires), no retries of its own and its bundled model
cost map (it fetches none)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsphelp import Doc, actions_at, apply_edit, lsp_settings, overtake_a_prediction
from samples import CART, CART_DOCUMENTED, DEEP, DOC_PATCH, DOCSTRING, FAST, deep, rewrite

LITELLM = os.environ.get("SPARKFORGE_LITELLM")
pytestmark = pytest.mark.skipif(
    not LITELLM, reason="SPARKFORGE_LITELLM is not set (the path of a litellm proxy executable)")

KEY_ENV = "SPARKFORGE_TEST_LITELLM_KEY"
MASTER_KEY = "sk-sparkforge-interop-5f0c8e2a9b7d4c1e"
# The language servers read the key from the environment they inherit; pytest-lsp may start
# one before any fixture of this module runs, so the key is set when the module loads.
if LITELLM:
    os.environ[KEY_ENV] = MASTER_KEY
STARTUP_S = 180.0  # a cold start imports a great deal (8 s on an idle 2-core machine)

DOC_DIFF = (
    "--- a/cart.py\n+++ b/cart.py\n"
    "@@ -4,2 +4,3 @@\n def total(items):\n+" + DOCSTRING + "     result = 0\n"
)
TOTAL = "def total(items):\n    result = 0\n    for item in items:\n        result += item.price\n    return res\n"
TOTAL_DONE = "    result = 0\n    for item in items:\n        result += item.price\n    return result\n"


def proxy_config(upstream: str) -> str:
    models = "".join(
        f"  - model_name: {name}\n"
        f"    litellm_params:\n"
        f"      model: openai/{name}\n"
        f"      api_base: {upstream}\n"
        f"      api_key: sparkforge-local\n"
        for name in (FAST, DEEP)
    )
    return (f"model_list:\n{models}"
            "litellm_settings:\n  num_retries: 0\n  request_timeout: 60\n"
            f"general_settings:\n  master_key: {MASTER_KEY}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def litellm_proxy(model_server, tmp_path_factory) -> Any:
    """``http://127.0.0.1:PORT/v1`` of a LiteLLM proxy in front of the session's model server."""
    if not os.access(LITELLM, os.X_OK):
        pytest.fail(f"SPARKFORGE_LITELLM={LITELLM} is not an executable (install: litellm[proxy] in a venv)")
    folder = tmp_path_factory.mktemp("litellm")
    cfg = folder / "config.yaml"
    cfg.write_text(proxy_config(model_server.base_url))
    port = free_port()
    log_path = folder / "litellm.log"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([LITELLM, "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"litellm exited ({proc.returncode}) before listening:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"litellm did not listen within {STARTUP_S:g} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)  # polling a process we do not control: it has no readiness signal
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(params=["responses", "chat"])
def api(request) -> str:
    return request.param


@pytest.fixture
def settings(litellm_proxy, api) -> dict[str, Any]:
    # the default transport, auto: LiteLLM 1.108.5 accepts a Responses WebSocket but closes
    # each socket before answering when its upstream is http:// (1011 "ssl argument is
    # incompatible with a ws:// URI"), so the first request moves the role to HTTP for good
    # (docs/gateways.md)
    role = {"baseUrl": litellm_proxy, "api": api, "apiKeyEnv": KEY_ENV}
    return lsp_settings(litellm_proxy, fast=role, deep=role)


def inline(uri: str, pos: types.Position) -> types.InlineCompletionParams:
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic))


async def test_ghost_text_through_litellm(client: LanguageClient, workspace: Path, model_server, api):
    model_server.load([rewrite("total", ["return res<|user_cursor_is_here|>"], TOTAL_DONE)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    result = await client.text_document_inline_completion_async(inline(doc.uri, pos))
    assert result is not None and result.items, model_server.requests()
    assert result.items[0].insert_text == "ult"
    sent = model_server.requests()
    assert [r["model"] for r in sent] == [FAST]  # one request, no retry by either side


async def test_document_through_litellm_resolves_into_an_edit(client: LanguageClient, workspace: Path,
                                                              model_server, api):
    if api == "responses":  # apply_patch passes through the proxy both ways
        model_server.load([deep("doc", ["Document function total"], output="Added a docstring.",
                                patches=[DOC_PATCH])])
    else:  # the unified diff in the text (the proxy may ask upstream over either API)
        text = f"Added a docstring.\n\n```diff\n{DOC_DIFF}```\n"
        model_server.load([deep("doc", ["Document function total"], output=text, chat_output=text)])
    doc = Doc(client, workspace / "cart.py", CART)
    action = (await actions_at(client, doc, (5, 8)))["document"]
    resolved = await client.code_action_resolve_async(action)
    assert apply_edit({doc.uri: doc.text}, {doc.uri: doc.version}, resolved.edit)[doc.uri] == CART_DOCUMENTED
    sent = model_server.requests()
    assert [r["model"] for r in sent] == [DEEP]
    if api == "responses":
        assert sent[0]["endpoint"] == "responses"
        assert sent[0]["body"]["tools"] == [{"type": "apply_patch"}]
        assert sent[0]["body"]["store"] is False


# Chat Completions only: through LiteLLM 1.108.5's Responses route, sparkforge closes its
# connection to the proxy at once here, yet the proxy reads the backend's stream to its end
# (docs/gateways.md).
@pytest.mark.parametrize("api", ["chat"], indirect=True)
async def test_a_newer_keystroke_closes_the_stale_stream_upstream(client: LanguageClient, workspace: Path,
                                                                 model_server, api):
    slow = TOTAL_DONE + "".join(f"# line {i}\n" for i in range(200))
    model_server.load([rewrite("slow", ["return res<|user_cursor_is_here|>"], slow, tokens_per_s=100)])
    doc = Doc(client, workspace / "cart.py", TOTAL)
    pos = doc.position_after("return res")
    # the product drops its connection to the proxy; the proxy then drops its own upstream
    await overtake_a_prediction(client, model_server, doc, pos, inline)
    assert model_server.stats()["streams_completed"] == 0
