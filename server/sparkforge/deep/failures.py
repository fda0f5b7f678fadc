"""How a failed model request reads to the user, for code actions and chat alike.

The gateway's ``ModelError`` says what happened to which role; the caller knows the model's
name and the concrete way out (the other model and the setting that routes to it), so the
gateway's generic "switch to the other model" is dropped here in favour of the caller's, and
a rate limit is said plainly with the time left until the model is asked again.

Two rules keep the advice true: it names what the user actually set
(``SPARKFORGE_DEEP_BASE_URL`` when the base URL came from the environment,
``sparkforge.deep.baseUrl`` when it is a setting), and the other model is offered only when
it would not fail the same way (``other_role_helps``).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from sparkforge.config import Role, RoleConfig, Settings
from sparkforge.models.errors import (
    AuthError,
    MissingKeyError,
    ModelError,
    ModelUnavailableError,
    RateLimitError,
)
from sparkforge.models.gateway import is_local

_GENERIC_WAY_OUT = re.compile(r"[;,]?\s*(?:or\s+)?switch (?:this action |this chat )?to the other model\s*$")


def model_failure(exc: ModelError, model: str, settings: Settings | None = None) -> str:
    """What went wrong with ``model`` and what to do, without a final period; with
    ``settings``, the advice names what the user set."""
    if isinstance(exc, RateLimitError):
        if exc.retry_after:  # the role is paused that long: nothing is sent to it meanwhile
            return f"{model} is rate-limited (HTTP 429), resuming in {exc.retry_after:g} s; try again then"
        return f"{model} is rate-limited (HTTP 429): wait a minute and try again"
    text = " ".join(str(exc).split())
    status = http_status(exc)
    if settings is not None and isinstance(exc, AuthError) and status in (401, 403):
        cfg = settings.role(exc.role)
        if cfg.api_key() is None:
            # The gateway sent a placeholder to a local server: no key was refused, none was set.
            text = (f"{cfg.base_url} needs an API key and none is set (it answered {status}): put the key "
                    f"in {cfg.api_key_env}, or name the variable that holds it in sparkforge.{exc.role}.apiKeyEnv")
    text = _GENERIC_WAY_OUT.sub("", text)
    if settings is not None:
        text = settings.named(text)
    return text.rstrip(" .;,") or f"{model} failed"


def other_role_helps(exc: ModelError, settings: Settings, other: Role) -> bool:
    """Whether the ``other`` role is a way out of ``exc``: False when it would fail the same
    way (no key either, the same unreachable server, the same refused key, or the same model
    on the same server)."""
    mine, theirs = settings.role(exc.role), settings.role(other)
    if not has_key(theirs):
        return False  # it would not even send the request
    same_server = server_of(mine.base_url) == server_of(theirs.base_url)
    same_model = same_server and mine.model == theirs.model
    if isinstance(exc, MissingKeyError):
        return True
    if isinstance(exc, AuthError):
        status = http_status(exc)
        if status == 403:  # this key may not use this model: another model may be allowed
            return not (same_model and mine.api_key() == theirs.api_key())
        return not (same_server and mine.api_key() == theirs.api_key())
    if unreachable(exc):
        return not same_server  # nothing on that server answers
    return not same_model


def unreachable(exc: ModelError) -> bool:
    """The server did not answer at all (refused, unknown host, no connection in time)."""
    if isinstance(exc, ModelUnavailableError) and http_status(exc) is None:
        return True
    return any(type(inner).__name__ in _NO_CONNECTION for inner in _causes(exc))


# Transport errors (httpx, the socket layer) that mean no connection was made, by name: the
# engines do not import the HTTP stack.
_NO_CONNECTION = frozenset({"ConnectTimeout", "ConnectError", "ConnectionRefusedError", "gaierror"})


def has_key(cfg: RoleConfig) -> bool:
    """Whether requests for this role go out at all: a key is set, or the server is local
    (the gateway then sends a placeholder)."""
    return cfg.api_key() is not None or is_local(cfg.base_url)


def server_of(base_url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a base URL, the default port filled in."""
    u = urlparse(base_url)
    try:
        port = u.port
    except ValueError:
        port = None
    return u.scheme, (u.hostname or "").lower(), port or {"http": 80, "https": 443}.get(u.scheme)


def http_status(exc: ModelError) -> int | None:
    """The HTTP status behind a gateway error (the SDK's, down its chain of causes), if the
    server answered at all."""
    for inner in _causes(exc):
        status = getattr(inner, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    inner: BaseException | None = exc.__cause__
    while inner is not None and all(inner is not s for s in seen):
        seen.append(inner)
        inner = inner.__cause__ or inner.__context__
    return seen
