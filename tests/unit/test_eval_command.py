"""``sparkforge eval predict``'s models: which settings each ``--model`` runs with."""

from __future__ import annotations

import argparse
import json

import pytest

from sparkforge.evaluation.command import CommandError, model_specs


def args(**kw) -> argparse.Namespace:
    base = {"settings": None, "model": None, "base_url": None, "api": None}
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for role in ("FAST", "DEEP"):
        for suffix in ("BASE_URL", "MODEL", "API", "API_KEY_ENV"):
            monkeypatch.delenv(f"SPARKFORGE_{role}_{suffix}", raising=False)


def test_the_configured_fast_model_by_default():
    [spec] = model_specs(args())
    assert spec.label == "fast: gpt-5.3-codex-spark" and spec.model == "gpt-5.3-codex-spark"
    fast = spec.settings["fast"]
    assert (fast["model"], fast["baseUrl"], fast["api"], fast["apiKeyEnv"]) == (
        "gpt-5.3-codex-spark", "https://api.openai.com/v1", "responses", "OPENAI_API_KEY")
    assert fast["fallbackModels"] == []  # the model asked for, never a stand-in
    assert spec.settings["deep"] == fast


def test_roles_and_names_from_a_settings_file_and_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"sparkforge": {
        "deep": {"model": "big-coder", "baseUrl": "http://127.0.0.1:9/v1", "reasoningEffort": "high"},
        "inline": {"linesAbove": 5},
    }}))
    monkeypatch.setenv("SPARKFORGE_FAST_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("SPARKFORGE_FAST_API", "chat")
    fast, deep, named = model_specs(args(settings=str(path), model=["fast", "deep", "qwen2.5-coder:7b"]))
    assert fast.label == "fast: gpt-5.3-codex-spark"
    assert (fast.settings["fast"]["baseUrl"], fast.settings["fast"]["api"]) == ("http://127.0.0.1:11434/v1", "chat")
    assert deep.label == "deep: big-coder"
    assert deep.settings["fast"]["model"] == "big-coder"
    assert deep.settings["fast"]["baseUrl"] == "http://127.0.0.1:9/v1"
    assert deep.settings["fast"]["reasoningEffort"] == "high"
    assert named.label == "qwen2.5-coder:7b" and named.settings["fast"]["model"] == "qwen2.5-coder:7b"
    assert named.settings["fast"]["baseUrl"] == "http://127.0.0.1:11434/v1"  # the fast role's endpoint
    assert all(s.settings["inline"] == {"linesAbove": 5} for s in (fast, deep, named))


def test_base_url_and_api_options_win():
    [spec] = model_specs(args(model=["m"], base_url="http://127.0.0.1:8765/v1", api="chat"))
    assert (spec.settings["fast"]["baseUrl"], spec.settings["fast"]["api"]) == ("http://127.0.0.1:8765/v1", "chat")


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "the settings must be a JSON object"),
])
def test_a_bad_settings_file_is_named(tmp_path, content, message):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message) as err:
        model_specs(args(settings=str(path)))
    assert str(path) in str(err.value)
    with pytest.raises(CommandError, match="cannot read the settings file"):
        model_specs(args(settings=str(tmp_path / "missing.json")))
