"""``sparkforge act`` as a user runs it: a subprocess against the local model server, printing
the plan as a unified diff, writing it only with --apply, failing with a reason and exit 1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from samples import CART, DEEP, DOCSTRING

NEW_TESTS = "from cart import total\n\n\ndef test_total_of_nothing_is_zero():\n    assert total([]) == 0\n"


def scenario(name: str, contains: list[str], patches: list[dict], chat_diff: str | None = None) -> dict:
    s = {"name": name, "model": DEEP, "input_contains": contains, "output": "Done.", "patches": patches,
         "ttft_ms": 5, "tokens_per_s": 5000}
    if chat_diff is not None:
        s["chat_output"] = f"Done.\n\n```diff\n{chat_diff}```\n"
    return s


def act(project: Path, model_server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARKFORGE_")}
    return subprocess.run(
        [sys.executable, "-m", "sparkforge", "act", *args, "--base-url", model_server.base_url],
        cwd=project, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path, model_server) -> Path:
    model_server.reset(scenarios=True)
    root = tmp_path / "shop"
    root.mkdir()
    (root / "cart.py").write_text(CART)
    return root


DOC_OP = {"type": "update_file", "path": "cart.py", "diff": "@@ def total(items):\n+" + DOCSTRING + "     result = 0\n"}
DOC_DIFF = "--- a/cart.py\n+++ b/cart.py\n@@ -4,2 +4,3 @@\n def total(items):\n+" + DOCSTRING + "     result = 0\n"


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_document_prints_the_diff_and_writes_only_with_apply(project: Path, model_server, api):
    model_server.load([scenario("doc", ["Document function total"], [DOC_OP], DOC_DIFF)])
    shown = act(project, model_server, "document", "cart.py:6", "--api", api)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("--- a/cart.py\n+++ b/cart.py\n@@ -2,6 +2,7 @@\n")
    assert "\n def total(items):\n+" + DOCSTRING + "     result = 0\n" in shown.stdout
    assert f"Document with {DEEP}" in shown.stderr
    assert (project / "cart.py").read_text() == CART  # printing writes nothing
    assert model_server.requests()[-1]["endpoint"] == api

    applied = act(project, model_server, "document", "cart.py:6", "--api", api, "--apply")
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout == shown.stdout
    assert (project / "cart.py").read_text() == CART.replace("def total(items):\n", "def total(items):\n" + DOCSTRING)
    assert "wrote cart.py" in applied.stderr


# Over Chat Completions the model server renders the create as a normal diff; "no @@" is the
# same file written the way models also write it, with no hunk header at all.
NO_HUNK_HEADER = ("--- /dev/null\n+++ b/tests/test_cart.py\n+from cart import total\n+\n+\n"
                  "+def test_total_of_nothing_is_zero():\n+    assert total([]) == 0\n")


@pytest.mark.parametrize("api, chat_diff", [("responses", None), ("chat", None), ("chat", NO_HUNK_HEADER)],
                         ids=["responses", "chat", "chat-no-hunk-header"])
def test_generate_tests_creates_the_test_file_under_tests(project: Path, model_server, api, chat_diff):
    (project / "tests").mkdir()
    create = {"type": "create_file", "path": "tests/test_cart.py",
              "diff": "".join("+" + line + "\n" for line in NEW_TESTS.splitlines())}
    model_server.load([scenario("tests", ["Create the new test file tests/test_cart.py"], [create], chat_diff)])
    shown = act(project, model_server, "tests", "cart.py:4", "--api", api)
    assert shown.returncode == 0, shown.stderr
    assert model_server.requests()[-1]["endpoint"] == api
    assert shown.stdout.startswith("--- /dev/null\n+++ b/tests/test_cart.py\n@@ -0,0 +1,5 @@\n+from cart import total\n")
    assert not (project / "tests" / "test_cart.py").exists()
    applied = act(project, model_server, "tests", "cart.py:4", "--api", api, "--apply")
    assert applied.returncode == 0, applied.stderr
    assert (project / "tests" / "test_cart.py").read_text() == NEW_TESTS
    assert [p.name for p in (project / "tests").iterdir()] == ["test_cart.py"]  # no temporary left


def test_a_patch_that_cannot_apply_fails_with_exit_1_and_writes_nothing(project: Path, model_server):
    bad = [{"type": "update_file", "path": "cart.py", "diff": "@@ def total(items):\n-    result = 99\n+    result = 0\n"},
           {"type": "create_file", "path": "tests/test_cart.py", "diff": "+x = 1\n"}]
    model_server.load([scenario("bad", ["Write tests for"], bad)])
    failed = act(project, model_server, "tests", "cart.py:5", "--apply")
    assert failed.returncode == 1
    assert "cannot locate hunk 1 of cart.py" in failed.stderr and "nothing was applied" in failed.stderr
    assert failed.stdout == ""
    assert (project / "cart.py").read_text() == CART and not (project / "tests").exists()


def test_bad_command_lines_get_a_reason(project: Path, model_server):
    missing = act(project, model_server, "document", "nope.py:3")
    assert missing.returncode == 1 and "nope.py is not a file" in missing.stderr
    fix = act(project, model_server, "fix", "cart.py:5")
    assert fix.returncode == 1 and "fix needs --diagnostic" in fix.stderr
    (project / ".env").write_text("OPENAI_API_KEY=sk-test\n")
    env = act(project, model_server, "explain", ".env")
    assert env.returncode == 1 and "never sends it" in env.stderr
    assert model_server.stats()["requests_total"] == 0


def test_explain_prints_the_answer(project: Path, model_server):
    model_server.load([{"name": "explain", "model": DEEP, "input_contains": ["Explain function total"],
                        "output": "It adds up the prices.", "ttft_ms": 5, "tokens_per_s": 5000}])
    explained = act(project, model_server, "explain", "cart.py:7")
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout == "It adds up the prices.\n"


def test_settings_file_routes_the_action(project: Path, model_server):
    (project / "sparkforge.json").write_text('{"actions": {"routing": {"document": "fast"}}}')
    fast = dict(scenario("doc", ["Document function total"], [DOC_OP]), model="gpt-5.3-codex-spark")
    model_server.load([fast])
    shown = act(project, model_server, "document", "cart.py:5", "--settings", "sparkforge.json")
    assert shown.returncode == 0, shown.stderr
    assert "Document with gpt-5.3-codex-spark" in shown.stderr
    assert model_server.requests()[-1]["model"] == "gpt-5.3-codex-spark"


# -- advice when a model cannot be used: names what the user set, offers only a working way out --
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def act_with(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``sparkforge act`` with no key and only the SPARKFORGE_* variables given."""
    clean = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY" and not k.startswith("SPARKFORGE_")}
    return subprocess.run([sys.executable, "-m", "sparkforge", "act", *args], cwd=project, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


FAILED = f"sparkforge act: Document with {DEEP} failed, nothing was applied: "


def test_no_key_for_either_model_suggests_no_route(project: Path):
    out = act_with(project, {}, "document", "cart.py:6")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.endswith(FAILED + "no API key for the deep model: set OPENAI_API_KEY or sparkforge.deep.apiKeyEnv.\n")
    assert "route this action" not in out.stderr  # the fast model has no key either


def test_an_unreachable_base_url_from_the_environment_is_named_as_such(project: Path, model_server):
    url = closed_port_url()
    alone = act_with(project, {"SPARKFORGE_DEEP_BASE_URL": url}, "document", "cart.py:6")
    assert alone.returncode == 1
    # the cause, with no "retrying in 30 s": the command exits, nothing will retry
    assert f"nothing was applied: cannot reach the deep model at {url}" in alone.stderr
    assert "check SPARKFORGE_DEEP_BASE_URL." in alone.stderr and "sparkforge.deep.baseUrl" not in alone.stderr
    assert "route this action" not in alone.stderr  # the fast model (OpenAI) has no key here

    # with a fast model that works, it is the way out
    helped = act_with(project, {"SPARKFORGE_DEEP_BASE_URL": url, "SPARKFORGE_FAST_BASE_URL": model_server.base_url},
                      "document", "cart.py:6")
    assert helped.returncode == 1
    assert "check SPARKFORGE_DEEP_BASE_URL." in helped.stderr
    assert helped.stderr.endswith(
        'Or route this action to the fast model (gpt-5.3-codex-spark): sparkforge.actions.routing = {"document": "fast"}\n')
    assert model_server.stats()["requests_total"] == 0  # the advice costs no request


def test_one_unreachable_server_for_both_models_suggests_no_route(project: Path):
    url = closed_port_url()
    out = act_with(project, {}, "document", "cart.py:6", "--base-url", url)
    assert out.returncode == 1
    assert f"cannot reach the deep model at {url}" in out.stderr and "check --base-url." in out.stderr
    assert "route this action" not in out.stderr


def test_a_local_server_that_needs_a_key(project: Path, model_server_factory):
    needy = model_server_factory("--require-key", "sk-local-proxy-0123456789abcdef")
    out = act_with(project, {}, "document", "cart.py:6", "--base-url", needy.base_url)
    assert out.returncode == 1
    assert out.stderr.endswith(
        FAILED + f"{needy.base_url} needs an API key and none is set (it answered 401): put the key in "
        "OPENAI_API_KEY, or name the variable that holds it in sparkforge.deep.apiKeyEnv.\n")
