"""How a failed model request reads to the user, for code actions and chat alike.

The gateway's ``ModelError`` says what happened to which role; the caller knows the model's
name and the concrete way out (the other model and the setting that routes to it), so the
gateway's generic "switch to the other model" is dropped here in favour of the caller's, and
a rate limit is said plainly with the time left until the model is asked again.
"""

from __future__ import annotations

import re

from sparkforge.models.gateway import ModelError, RateLimitError

_GENERIC_WAY_OUT = re.compile(r"[;,]?\s*(?:or\s+)?switch (?:this action |this chat )?to the other model\s*$")


def model_failure(exc: ModelError, model: str) -> str:
    """What went wrong with ``model`` and what to do, without a final period."""
    if isinstance(exc, RateLimitError):
        if exc.retry_after:  # the role is paused that long: nothing is sent to it meanwhile
            return f"{model} is rate-limited (HTTP 429), resuming in {exc.retry_after:g} s; try again then"
        return f"{model} is rate-limited (HTTP 429): wait a minute and try again"
    text = " ".join(str(exc).split())
    text = _GENERIC_WAY_OUT.sub("", text)
    return text.rstrip(" .;,") or f"{model} failed"
