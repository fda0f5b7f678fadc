"""The prompt cache as the OpenAI API reports it: ``cached_tokens`` for a repeated prefix.

The API caches a prompt's prefix once the prompt is 1,024 tokens or more; a later request
that starts with the same tokens (same model, same ``prompt_cache_key`` or none) reads them
from the cache, in steps of 128 tokens. So a request's ``cached_tokens`` is the longest
prefix it shares with a recent request, rounded down to a multiple of 128, or 0 when that is
under 1,024. Prompts are the flattened prompt's o200k tokens (see ``flatten_prompt``); the
most recent ``size`` prompts per server are remembered (least recently used dropped first).
"""

from __future__ import annotations

from collections import OrderedDict

from sparkforge.models.tokens import encoding

MIN_PREFIX = 1024
"""The shortest prefix the API caches."""
STEP = 128
"""Cached prefixes grow in steps of this many tokens."""
DEFAULT_SIZE = 64


class PromptCache:
    """Recent prompts' tokens; ``lookup_and_store`` says how many tokens of a new one hit."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._prompts: OrderedDict[tuple[str, str | None, tuple[int, ...]], None] = OrderedDict()

    def clear(self) -> None:
        self._prompts.clear()

    def lookup_and_store(self, model: str, cache_key: str | None, prompt: str) -> tuple[int, int]:
        """(input tokens, cached tokens) of this request; the prompt is remembered after."""
        tokens = tuple(encoding().encode_ordinary(prompt))
        cached = 0
        for other_model, other_key, other in self._prompts:
            if other_model == model and other_key == cache_key:
                cached = max(cached, shared_blocks(tokens, other) * STEP)
        if cached < MIN_PREFIX:
            cached = 0
        if len(tokens) >= MIN_PREFIX:
            entry = (model, cache_key, tokens)
            self._prompts.pop(entry, None)
            self._prompts[entry] = None  # the most recently used last
            while len(self._prompts) > self.size:
                self._prompts.popitem(last=False)
        return len(tokens), cached


def shared_blocks(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """How many whole ``STEP``-token blocks ``a`` and ``b`` share from their start."""
    n = 0
    limit = min(len(a), len(b)) // STEP
    while n < limit and a[n * STEP : (n + 1) * STEP] == b[n * STEP : (n + 1) * STEP]:
        n += 1
    return n
