"""The ``sparkforge`` command as a user runs it: demo, doctor, help, version."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO_SCENARIOS = REPO / "server" / "sparkforge" / "data" / "demo" / "scenarios.json"
OFFLINE = ("To try sparkforge offline, with no key: `sparkforge model-server` answers from scripted scenarios "
           "on http://127.0.0.1:8765/v1; check it with `sparkforge doctor --base-url http://127.0.0.1:8765/v1`, "
           "or run `sparkforge demo`, which starts its own.")


def sparkforge(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # The user's own model settings and key must not leak into a test: it sets what it needs.
    full_env = {k: v for k, v in os.environ.items()
                if k != "OPENAI_API_KEY" and not k.startswith(("SPARKFORGE_FAST_", "SPARKFORGE_DEEP_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sparkforge", *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_help_lists_the_subcommands():
    out = sparkforge("--help")
    assert out.returncode == 0
    for name in ("lsp", "model-server", "doctor", "demo", "act", "agent", "eval", "--version"):
        assert name in out.stdout


def test_version_is_the_packages():
    # pyproject.toml is where the version is written; the command reads the installed package's
    written = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.M)[1]
    for flag in ("--version", "-V"):
        out = sparkforge(flag)
        assert out.returncode == 0, out.stderr
        assert out.stdout == f"sparkforge {written}\n"


def test_demo_runs_to_the_end_offline(tmp_path):
    out = sparkforge("demo", env={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(
        r"^sparkforge demo: on its own local model server at http://127\.0\.0\.1:\d+/v1, with scripted answers "
        r"\(set SPARKFORGE_FAST_BASE_URL and SPARKFORGE_DEEP_BASE_URL to use your models\)$", out.stdout, re.M)
    assert "  fast: gpt-5.3-codex-spark, api responses, at the demo's model server (1000 tok/s)\n" in out.stdout
    assert "  deep: gpt-5.3-codex, api responses, at the demo's model server (70 tok/s)\n" in out.stdout
    assert "return sum(item.quantity for item in items)" in out.stdout
    assert "0 new model requests" in out.stdout
    assert "+ grand_total += item.price" in out.stdout
    assert "ghost text in" in out.stdout and "next edit in" in out.stdout
    # the deep path: the lightbulb's list costs nothing, the resolved actions show as diffs
    assert "the lightbulb lists 4 actions" in out.stdout and "with 0 model requests" in out.stdout
    assert '+    """Return ``price`` reduced by ``percent`` per cent, rounded to cents.' in out.stdout
    assert "+++ b/tests/test_pricing.py" in out.stdout
    assert "[progress] sparkforge: Document with gpt-5.3-codex" in out.stdout
    assert "demo finished" in out.stdout
    assert "\x1b[" not in out.stdout  # no colour codes when not on a terminal


def test_demo_runs_on_the_models_the_environment_names(model_server):
    # Both roles on "the user's" server (the test's model server, given the demo's scenarios);
    # the deep model over Chat Completions, where Generate tests answers with a diff.
    model_server.reset(scenarios=True)
    model_server.load(json.loads(DEMO_SCENARIOS.read_text())["scenarios"])
    url = model_server.base_url
    out = sparkforge("demo", env={"SPARKFORGE_FAST_BASE_URL": url, "SPARKFORGE_DEEP_BASE_URL": url,
                                  "SPARKFORGE_DEEP_API": "chat"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(
        "sparkforge demo: on your models (SPARKFORGE_FAST_BASE_URL and SPARKFORGE_DEEP_BASE_URL)\n"
        f"  fast: gpt-5.3-codex-spark, api responses, at {url} (from SPARKFORGE_FAST_BASE_URL)\n"
        f"  deep: gpt-5.3-codex, api chat, at {url} (from SPARKFORGE_DEEP_BASE_URL)\n"
    )
    assert "own local model server" not in out.stdout
    assert "+++ b/tests/test_pricing.py\n     @@ -0,0 +1,17 @@\n     +import pytest\n" in out.stdout
    assert "model requests 4\ndemo finished" in out.stdout
    seen = [(r["endpoint"], r["model"], r["scenario"]) for r in model_server.requests()]
    assert seen == [
        ("responses", "gpt-5.3-codex-spark", "demo-ghost-cart-count"),
        ("responses", "gpt-5.3-codex-spark", "demo-next-edit-rename"),
        ("chat", "gpt-5.3-codex", "demo-action-document"),
        ("chat", "gpt-5.3-codex", "demo-action-tests"),
    ]


def test_demo_port_chooses_where_its_own_model_server_listens():
    url = closed_port_url()
    out = sparkforge("demo", "--port", url.rsplit(":", 1)[1].removesuffix("/v1"), "--deep-tps", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith(f"sparkforge demo: on its own local model server at {url}, with scripted answers")
    assert "  deep: gpt-5.3-codex, api responses, at the demo's model server (unpaced)\n" in out.stdout


def test_demo_port_in_use_is_a_clear_error(model_server):
    out = sparkforge("demo", "--port", str(model_server.port))
    assert out.returncode == 1
    assert out.stdout == (f"sparkforge demo: its model server did not start: cannot listen on "
                          f"127.0.0.1:{model_server.port}: address already in use\n")
    assert "Traceback" not in out.stderr


def test_doctor_reaches_both_roles_and_masks_the_key(model_server):
    model_server.reset(scenarios=True)
    key = "sk-proj-DOCTORSECRET0123456789abcdef"
    out = sparkforge("doctor", "--base-url", model_server.base_url, env={"OPENAI_API_KEY": key})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ok   fast: reachable: first token" in out.stdout
    assert "ok   deep: reachable: first token" in out.stdout
    assert " ms" in out.stdout
    assert key not in out.stdout + out.stderr
    assert "sk-…cdef" in out.stdout
    assert "offline" not in out.stdout  # nothing failed: no advice


def test_doctor_says_no_key_is_needed_only_where_the_server_answered_without_one(model_server):
    url = model_server.base_url
    out = sparkforge("doctor", "--base-url", url)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(f"key from $OPENAI_API_KEY: not set, and not needed: {url} answered without one\n") == 2


def test_doctor_on_a_local_server_that_needs_a_key(model_server_factory):
    key = "sk-local-proxy-0123456789abcdef"
    needy = model_server_factory("--require-key", key)
    url = needy.base_url
    out = sparkforge("doctor", "--base-url", url)
    assert out.returncode == 1
    assert out.stdout.count(f"key from $OPENAI_API_KEY: not set, but needed: {url} answered 401 without one\n") == 2
    assert (f"  FAIL deep: {url} needs an API key and none is set (it answered 401): put the key in "
            "OPENAI_API_KEY, or name the variable that holds it in sparkforge.deep.apiKeyEnv\n") in out.stdout
    assert "not needed" not in out.stdout and "meanwhile" not in out.stdout
    assert OFFLINE in out.stdout
    with_key = sparkforge("doctor", "--base-url", url, env={"OPENAI_API_KEY": key})
    assert with_key.returncode == 0, with_key.stdout
    assert "ok   deep: reachable" in with_key.stdout and "sk-…cdef" in with_key.stdout


def test_doctor_against_a_closed_port_names_role_problem_and_fix():
    url = closed_port_url()
    out = sparkforge("doctor", "--base-url", url)
    assert out.returncode == 1
    assert f"  fast: model gpt-5.3-codex-spark, api responses, {url} (from --base-url)\n" in out.stdout
    assert f"key from $OPENAI_API_KEY: not set; whether {url} needs one is unknown (it did not answer)\n" in out.stdout
    assert f"FAIL fast: cannot reach the fast model at {url}" in out.stdout
    assert f"FAIL deep: cannot reach the deep model at {url}" in out.stdout
    assert "check --base-url" in out.stdout and "sparkforge.fast.baseUrl" not in out.stdout
    assert "meanwhile" not in out.stdout  # the fast model is down too: no way out through it
    assert OFFLINE in out.stdout


def test_doctor_names_the_variable_the_user_set_and_offers_only_a_model_that_answered(model_server):
    url = closed_port_url()
    out = sparkforge("doctor", env={"SPARKFORGE_DEEP_BASE_URL": url, "SPARKFORGE_FAST_BASE_URL": model_server.base_url})
    assert out.returncode == 1
    assert f"  deep: model gpt-5.3-codex, api responses, {url} (from SPARKFORGE_DEEP_BASE_URL)\n" in out.stdout
    assert "ok   fast: reachable" in out.stdout
    deep = next(line for line in out.stdout.splitlines() if line.startswith("  FAIL deep: "))
    assert f"cannot reach the deep model at {url}" in deep
    assert "check SPARKFORGE_DEEP_BASE_URL" in deep and "sparkforge.deep.baseUrl" not in deep
    assert deep.endswith('; meanwhile the fast model (gpt-5.3-codex-spark) answers: actions can run on it, '
                         'e.g. sparkforge.actions.routing = {"refactor": "fast"}')


def test_doctor_without_a_key_for_openai_says_how_to_set_it():
    out = sparkforge("doctor", env={"SPARKFORGE_DEEP_API_KEY_ENV": "SPARKFORGE_NO_SUCH_KEY"})
    assert out.returncode == 1
    assert "  deep: model gpt-5.3-codex, api responses, https://api.openai.com/v1 (from SPARKFORGE_DEEP_API_KEY_ENV)\n" in out.stdout
    assert "        key from $SPARKFORGE_NO_SUCH_KEY: (not set)\n" in out.stdout
    assert ("  FAIL deep: no API key for the deep model: set SPARKFORGE_NO_SUCH_KEY or SPARKFORGE_DEEP_API_KEY_ENV\n"
            in out.stdout)
    assert "  FAIL fast: no API key for the fast model: set OPENAI_API_KEY or sparkforge.fast.apiKeyEnv\n" in out.stdout
    assert "meanwhile" not in out.stdout  # the fast model has no key either
    assert OFFLINE in out.stdout


def test_doctor_with_an_unreadable_settings_file(tmp_path):
    bad = tmp_path / "settings.json"
    bad.write_text("{not json")
    out = sparkforge("doctor", "--settings", str(bad))
    assert out.returncode == 2
    assert out.stdout.startswith(f"sparkforge doctor: cannot read the settings file {bad}: ")
    assert "Traceback" not in out.stderr


def test_doctor_reports_a_model_the_key_may_not_use_and_the_fallback_that_answers(model_server_factory, tmp_path):
    denying = model_server_factory("--deny-model", "gpt-5.3-codex-spark")
    url = denying.base_url
    out = sparkforge("doctor", "--base-url", url)
    assert out.returncode == 0, out.stdout + out.stderr  # ghost text works, from the fallback
    assert ("  model fast: your key has no access to gpt-5.3-codex-spark (a research preview); using gpt-5.3-codex "
            "at low reasoning effort for ghost text — set sparkforge.fast.model to choose\n") in out.stdout
    assert "  ok   fast: reachable (answered by gpt-5.3-codex): first token " in out.stdout
    assert "  model deep: gpt-5.3-codex is available to this key\n" in out.stdout
    assert "  ok   deep: reachable: first token " in out.stdout
    stats = denying.stats()
    assert stats["requests"]["responses"] == {"gpt-5.3-codex": 2}  # one check per role, none to the denied model
    assert stats["model_lookups"] == {"gpt-5.3-codex-spark": 1, "gpt-5.3-codex": 2}

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"fast": {"fallbackModels": []}}))
    out = sparkforge("doctor", "--base-url", url, "--settings", str(settings))
    assert out.returncode == 1
    fail = next(line for line in out.stdout.splitlines() if line.startswith("  FAIL fast: "))
    assert fail.startswith("  FAIL fast: your key has no access to gpt-5.3-codex-spark (a research preview), so there is "
                           "no ghost text: set sparkforge.fast.model to a model it may use, or list some in "
                           "sparkforge.fast.fallbackModels (the server answered HTTP 404 model_not_found")
    assert "model fast:" not in out.stdout  # said once, as the failure
    assert out.stdout.count(f"key from $OPENAI_API_KEY: not set, and not needed: {url} answered without one\n") == 2
    assert denying.stats()["requests"]["responses"] == {"gpt-5.3-codex": 3}
