"""What a failed model request raises: one ``ModelError`` subclass per kind of failure, with a
message a user can act on (which setting to check, whether to try again), made from the SDK's,
the transport's or the parser's exception by ``translate``."""

from __future__ import annotations

import json
import socket

import openai

try:  # openai 3.x ships its HTTP client as httpx2
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from sparkforge.config import Role, RoleConfig
from sparkforge.models.parsers import BadEvent, short
from sparkforge.models.websocket import SocketClosedError


class ModelError(Exception):
    """A model request failed; ``str()`` is a message a user can act on."""

    kind = "error"

    def __init__(self, role: Role, message: str, *, retry_after: float | None = None, refused: bool = False):
        super().__init__(message)
        self.role = role
        self.retry_after = retry_after
        self.refused = refused
        """Nothing was sent: the role is paused (see ``health``)."""
        self.transient = False
        """A 429, 5xx, failed connection or missing first token: worth another try, and a
        sign of the role's health."""


class MissingKeyError(ModelError):
    kind = "missing_key"


class AuthError(ModelError):
    kind = "auth"


class RateLimitError(ModelError):
    kind = "rate_limit"


class ModelUnavailableError(ModelError):
    """Connection refused, DNS failure, 5xx after retries, unknown model."""

    kind = "unavailable"


class ModelTimeoutError(ModelError):
    kind = "timeout"


class NoAccessError(ModelError):
    """No model of the role's chain may be used with this key (``models.access``): the user
    was told once, so every request is refused quietly, with nothing sent."""

    kind = "no_access"


class StreamDroppedError(ModelError):
    kind = "dropped"


class BadResponseError(ModelError):
    kind = "bad_response"


def role_name(role: Role) -> str:
    return f"the {role} model"


def translate(role: Role, cfg: RoleConfig, exc: BaseException, *, first_token_seen: bool, tries: int = 1) -> ModelError:
    """The ModelError a user reads for ``exc`` (an SDK, transport or parsing failure) of a
    request to ``role``'s model ``cfg``, after ``tries`` tries."""
    retries = tries - 1
    who = role_name(role)
    setting = f"sparkforge.{role}"
    if isinstance(exc, TimeoutError):
        return ModelTimeoutError(
            role,
            f"{who} ({cfg.model}) did not finish within {cfg.timeouts.total:g} s; "
            f"try again or raise {setting}.timeouts.total",
        )
    if not first_token_seen and _refused(exc):
        # (some transports report a refused connection as a connect timeout)
        return ModelUnavailableError(
            role,
            f"cannot reach {who} at {cfg.base_url}: {cause_of(exc)}; is the server running? "
            f"check {setting}.baseUrl",
        )
    if isinstance(exc, openai.APITimeoutError) or isinstance(exc, httpx.TimeoutException):
        if first_token_seen:
            return ModelTimeoutError(
                role,
                f"{who} ({cfg.model}) stalled mid-answer for over "
                f"{cfg.timeouts.first_token:g} s; try again",
            )
        return ModelTimeoutError(
            role,
            f"{who} ({cfg.model}) sent nothing within {cfg.timeouts.first_token:g} s; "
            f"try again or raise {setting}.timeouts.firstToken",
        )
    if isinstance(exc, openai.AuthenticationError):
        return AuthError(
            role,
            f"{who}'s API key was refused by {cfg.base_url} (401): check the key in "
            f"{cfg.api_key_env}",
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return AuthError(
            role, f"{who}'s API key may not use {cfg.model} (403): check the key's project"
        )
    if isinstance(exc, openai.RateLimitError):
        retry = exc.response.headers.get("retry-after")
        after = f" (the server asks to wait {retry} s)" if retry else ""
        return RateLimitError(
            role,
            f"{who} is rate-limited (429){_after_retries(retries)}{after}; "
            "wait a moment and try again, or switch to the other model",
            retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None,
        )
    if isinstance(exc, openai.NotFoundError):
        return ModelUnavailableError(
            role,
            f"{who} {cfg.model!r} was not found at {cfg.base_url} (404): check "
            f"{setting}.model and {setting}.baseUrl",
        )
    if isinstance(exc, openai.APIStatusError):
        return ModelUnavailableError(
            role,
            f"{who} failed with HTTP {exc.status_code}{_after_retries(retries)}: "
            f"{short(exc.message).rstrip('.')}; try again later or switch to the other model",
        )
    if isinstance(exc, SocketClosedError):
        if not first_token_seen:
            return ModelUnavailableError(
                role,
                f"{who} at {cfg.base_url} closed its WebSocket before answering ({exc.reason}); "
                f'try again, or set {setting}.transport to "http"',
            )
        return StreamDroppedError(
            role, f"the connection to {who} dropped mid-answer (its WebSocket closed: {exc.reason}); try again"
        )
    if isinstance(exc, openai.APIConnectionError) and not first_token_seen:
        return ModelUnavailableError(
            role,
            f"cannot reach {who} at {cfg.base_url}: {cause_of(exc)}; is the server running? "
            f"check {setting}.baseUrl",
        )
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
        return StreamDroppedError(
            role, f"the connection to {who} dropped mid-answer ({cause_of(exc)}); try again"
        )
    if isinstance(exc, BadEvent):
        if exc.other_api is None:
            return BadResponseError(role, f"{who} {exc}")
        return BadResponseError(
            role, f"{who} ({cfg.base_url}) {exc}: set {setting}.api to {exc.other_api!r}"
        )
    if isinstance(exc, (json.JSONDecodeError, KeyError, TypeError, ValueError)):
        return BadResponseError(role, f"{who} sent a malformed answer ({short(str(exc))})")
    return ModelError(role, f"{who} failed: {short(str(exc)) or type(exc).__name__}")


def transient(exc: BaseException) -> bool:
    """A failure worth another try, that also says the role is unwell: a 429, a 5xx, a
    timeout, a connection that failed or was refused."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500 or exc.status_code in (408, 409)
    return isinstance(exc, (openai.APIConnectionError, httpx.TransportError, ConnectionError, socket.gaierror))


def what_failed(exc: ModelError) -> str:
    """How an outage reads: "unreachable", "not answering" or "failing (HTTP 503)"."""
    if isinstance(exc, ModelTimeoutError):
        return "not answering"
    cause = exc.__cause__
    if isinstance(cause, openai.APIStatusError):
        return f"failing (HTTP {cause.status_code})"
    return "unreachable"


def _after_retries(n: int) -> str:
    return f" after {n} {'retry' if n == 1 else 'retries'}" if n else ""


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    inner: BaseException | None = exc
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, (ConnectionRefusedError, socket.gaierror)):
            return True
        inner = inner.__cause__ or inner.__context__
    return False


def cause_of(exc: BaseException) -> str:
    """The words of the innermost exception behind ``exc`` (a refused connection's, say),
    shortened."""
    inner = exc.__cause__ or exc.__context__
    while inner is not None and (inner.__cause__ or inner.__context__) is not None:
        nxt = inner.__cause__ or inner.__context__
        if nxt is inner:
            break
        inner = nxt
    text = str(inner) if inner is not None and str(inner) else str(exc)
    return short(text, 120) or type(exc).__name__
