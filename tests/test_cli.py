"""The ``sparkforge`` command as a user runs it: demo, doctor, help."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def sparkforge(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    full_env.pop("OPENAI_API_KEY", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "sparkforge", *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


def test_help_lists_the_subcommands():
    out = sparkforge("--help")
    assert out.returncode == 0
    for name in ("lsp", "model-server", "doctor", "demo", "act"):
        assert name in out.stdout


def test_demo_runs_to_the_end_offline(tmp_path):
    out = sparkforge("demo", env={"TIKTOKEN_CACHE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stdout + out.stderr
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


def test_doctor_against_a_closed_port_names_role_problem_and_fix():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    out = sparkforge("doctor", "--base-url", url)
    assert out.returncode == 1
    assert f"FAIL fast: cannot reach the fast model at {url}" in out.stdout
    assert f"FAIL deep: cannot reach the deep model at {url}" in out.stdout
    assert "check sparkforge.fast.baseUrl" in out.stdout


def test_doctor_without_a_key_for_openai_says_how_to_set_it():
    out = sparkforge("doctor", env={"SPARKFORGE_DEEP_API_KEY_ENV": "SPARKFORGE_NO_SUCH_KEY"})
    assert out.returncode == 1
    assert "no API key for the deep model: set SPARKFORGE_NO_SUCH_KEY or sparkforge.deep.apiKeyEnv" in out.stdout
