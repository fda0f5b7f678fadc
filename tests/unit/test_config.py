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
