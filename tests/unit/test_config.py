"""Settings: defaults, camelCase parsing, validation that reports and falls back."""

from sparkforge.config import Settings, mask_secret, parse_settings


def test_defaults():
    s, problems = parse_settings(None)
    assert problems == []
    assert s.fast.model == "gpt-5.3-codex-spark"
    assert s.deep.model == "gpt-5.3-codex"
    assert s.fast.api == s.deep.api == "responses"
    assert s.deep.reasoning_effort == "medium"


def test_camel_case_and_nesting():
    s, problems = parse_settings(
        {
            "sparkforge": {
                "fast": {"baseUrl": "http://127.0.0.1:9/v1", "api": "chat", "timeouts": {"firstToken": 2}},
                "inline": {"debounceMs": 0, "linesAbove": 5},
                "exclude": ["secret/**"],
                "actions": {"routing": {"document": "fast"}},
            }
        }
    )
    assert problems == []
    assert s.fast.base_url == "http://127.0.0.1:9/v1"
    assert s.fast.api == "chat"
    assert s.fast.timeouts.first_token == 2.0
    assert s.inline.debounce_ms == 0
    assert s.inline.lines_above == 5
    assert s.exclude == ["secret/**"]
    assert s.actions.routing == {"document": "fast"}


def test_bad_values_fall_back_with_a_message():
    s, problems = parse_settings(
        {"fast": {"api": "grpc", "maxOutputTokens": -3}, "inline": "yes", "nonsense": 1}
    )
    defaults = Settings()
    assert s.fast.api == defaults.fast.api
    assert s.fast.max_output_tokens == defaults.fast.max_output_tokens
    assert len(problems) == 4
    assert any("sparkforge.fast.api must be one of" in p for p in problems)
    assert any("sparkforge.nonsense is not a sparkforge setting" in p for p in problems)


def test_mask_secret_never_shows_the_middle():
    key = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"
    masked = mask_secret(key)
    assert "abcdefghijklmnop" not in masked
    assert masked.endswith("0123")
    assert mask_secret(None) == "(not set)"
    assert mask_secret("short") == "*****"


def test_the_vs_code_extensions_own_settings_are_not_reported():
    settings, problems = parse_settings({"python": {"interpreter": ["/usr/bin/python3"]},
                                         "trace": {"server": "off"}, "inline": {"enabled": False}})
    assert problems == []
    assert settings.inline.enabled is False
    _, problems = parse_settings({"pyhton": 1})
    assert problems == ["sparkforge.pyhton is not a sparkforge setting (ignored)"]


def test_settings_layers_merge_and_a_folder_never_sets_where_code_goes():
    from sparkforge.config import SettingsLayers

    layers = SettingsLayers(initialization={"deep": {"baseUrl": "http://127.0.0.1:1/v1", "model": "m"}})
    layers.push({})  # eglot's empty push ({settings: {}})
    layers.push({"sparkforge": {"deep": {"model": "m2"}}})  # a partial one
    assert layers.effective() == {"deep": {"baseUrl": "http://127.0.0.1:1/v1", "model": "m2"}}
    layers.pulled = {"exclude": ["gen/**"]}
    layers.folders = {"file:///a": {"exclude": ["gen/**"]},
                      "file:///b": {"exclude": ["drafts/**"], "deep": {"baseUrl": "https://evil.example/v1"}}}
    assert layers.folder("file:///a") is None  # the same as the workspace: nothing of its own
    assert layers.folder("file:///b") == {
        "deep": {"baseUrl": "http://127.0.0.1:1/v1", "model": "m2"}, "exclude": ["drafts/**"]}


def test_environment_values_are_recorded_so_advice_names_the_variable(monkeypatch):
    from sparkforge.config import settings_from_env

    for name in ("SPARKFORGE_FAST_BASE_URL", "SPARKFORGE_FAST_MODEL", "SPARKFORGE_DEEP_MODEL", "SPARKFORGE_DEEP_API_KEY_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPARKFORGE_DEEP_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SPARKFORGE_DEEP_API", "chat")
    monkeypatch.setenv("SPARKFORGE_FAST_API", "grpc")  # not an API sparkforge speaks: ignored
    monkeypatch.setenv("SPARKFORGE_FAST_API_KEY_ENV", "")  # empty: as if unset
    settings = settings_from_env()
    assert (settings.deep.base_url, settings.deep.api, settings.fast.api) == ("http://127.0.0.1:9/v1", "chat", "responses")
    assert settings.origins == {"deep.baseUrl": "SPARKFORGE_DEEP_BASE_URL", "deep.api": "SPARKFORGE_DEEP_API"}
    assert settings.named(
        "cannot reach the deep model; check sparkforge.deep.baseUrl. Or sparkforge.deep.api, "
        "sparkforge.fast.baseUrl, sparkforge.deep.apiKeyEnv or sparkforge.deep.timeouts.firstToken"
    ) == (
        "cannot reach the deep model; check SPARKFORGE_DEEP_BASE_URL. Or SPARKFORGE_DEEP_API, "
        "sparkforge.fast.baseUrl, sparkforge.deep.apiKeyEnv or sparkforge.deep.timeouts.firstToken"
    )
    assert Settings().named("check sparkforge.deep.baseUrl") == "check sparkforge.deep.baseUrl"


def test_origins_are_not_a_setting():
    settings, problems = parse_settings({"origins": {"deep.baseUrl": "--base-url"}, "fast": {"model": "m"}})
    assert settings.origins == {} and settings.fast.model == "m"
    assert problems == ["sparkforge.origins is not a sparkforge setting (ignored)"]


def test_fallback_models_are_a_list_of_model_names_per_role():
    settings, problems = parse_settings({})
    assert (settings.fast.fallback_models, settings.deep.fallback_models) == (["gpt-5.3-codex"], [])
    settings, problems = parse_settings({"fast": {"fallbackModels": []}, "deep": {"fallbackModels": ["gpt-5.2-codex"]}})
    assert (settings.fast.fallback_models, settings.deep.fallback_models, problems) == ([], ["gpt-5.2-codex"], [])
    settings, problems = parse_settings({"fast": {"fallbackModels": "gpt-5.3-codex"}, "deep": {"fallbackModels": [""]}})
    assert settings.fast.fallback_models == ["gpt-5.3-codex"] and settings.deep.fallback_models == []
    assert problems == [
        "sparkforge.fast.fallbackModels must be a list of model names, not 'gpt-5.3-codex'; using the default ['gpt-5.3-codex']",
        "sparkforge.deep.fallbackModels must be a list of model names, not ['']; using the default []",
    ]
