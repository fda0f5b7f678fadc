"""Which refusals say a key may not use a model, and what the user reads (models.access)."""

from __future__ import annotations

import openai

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from sparkforge.config import RoleConfig
from sparkforge.models.access import RoleAccess, denial, message, serving, serving_config

SPARK = "gpt-5.3-codex-spark"


def refused(status: int, body: object) -> openai.APIStatusError:
    request = httpx.Request("POST", "https://api.example/v1/responses")
    cls = {403: openai.PermissionDeniedError, 404: openai.NotFoundError}[status]
    return cls(f"Error code: {status} - {body}", response=httpx.Response(status, request=request), body=body)


def test_a_404_is_a_denial_only_when_it_is_about_the_model():
    not_found = {"message": f"The model `{SPARK}` does not exist or you do not have access to it.",
                 "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
    assert denial(refused(404, not_found), SPARK) == (
        f"HTTP 404 model_not_found: The model `{SPARK}` does not exist or you do not have access to it.")
    # a wrong base URL is a 404 too, and says nothing about the model
    assert denial(refused(404, {"message": "POST /v2/responses: Not Found", "code": "unknown_url"}), SPARK) is None
    assert denial(refused(404, {"message": f"no such model: {SPARK}"}), SPARK) == f"HTTP 404: no such model: {SPARK}"
    # over a WebSocket the error event is the body, its error object inside
    event = {"type": "error", "status": 404, "error": not_found}
    assert denial(refused(404, event), SPARK).startswith("HTTP 404 model_not_found: The model")


def test_a_403_is_a_denial_for_a_request_but_for_a_lookup_only_as_model_not_found():
    scopes = {"message": "You have insufficient permissions for this operation. Missing scopes: api.model.read"}
    assert denial(refused(403, scopes), SPARK, lookup=True) is None  # a restricted key may not list models
    assert denial(refused(403, scopes), SPARK) == f"HTTP 403: {scopes['message']}"
    project = {"message": f"Project `proj_1` does not have access to model `{SPARK}`", "code": "model_not_found"}
    assert denial(refused(403, project), SPARK, lookup=True) == f"HTTP 403 model_not_found: {project['message']}"


def test_the_fallback_serves_at_low_effort_for_ghost_text_and_the_message_says_so():
    fast = RoleConfig(model=SPARK, fallback_models=["gpt-5.3-codex", SPARK])
    access = RoleAccess()
    assert serving(fast, access) == SPARK and message("fast", fast, access) is None
    access.denied[SPARK] = "HTTP 404 model_not_found: gone"
    assert serving(fast, access) == "gpt-5.3-codex"
    assert serving_config("fast", fast, "gpt-5.3-codex").reasoning_effort == "low"
    assert message("fast", fast, access) == (
        "your key has no access to gpt-5.3-codex-spark (a research preview); using gpt-5.3-codex at low "
        "reasoning effort for ghost text — set sparkforge.fast.model to choose")
    chat = RoleConfig(model=SPARK, api="chat", fallback_models=["local-coder"])
    assert serving_config("fast", chat, "local-coder").reasoning_effort is None  # no such field on chat
    deep = RoleConfig(model="gpt-5.3-codex", reasoning_effort="medium", fallback_models=["gpt-5.2-codex"])
    assert serving_config("deep", deep, "gpt-5.2-codex").reasoning_effort == "medium"
    access = RoleAccess(denied={"gpt-5.3-codex": "HTTP 403: no", "gpt-5.2-codex": "HTTP 404 model_not_found: no"})
    assert serving(deep, access) is None
    assert message("deep", deep, access) == (
        "your key has no access to gpt-5.3-codex nor to gpt-5.2-codex, so code actions and chat cannot run: set "
        "sparkforge.deep.model to a model it may use, or list some in sparkforge.deep.fallbackModels "
        "(the server answered HTTP 403: no)")
