"""Token counting with tiktoken's o200k_base, loaded offline from data shipped in the package.

tiktoken would fetch the encoding from the network on first use; we never let it. The file
ships in ``sparkforge/data`` and is checked against its published sha256 before use.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import tiktoken

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

# The split pattern and special tokens of o200k_base, as tiktoken_ext.openai_public defines them.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


class TokenizerDataError(RuntimeError):
    """The packaged tokenizer data is missing or corrupted."""


def default_data_path() -> Path:
    return Path(str(resources.files("sparkforge") / "data" / "o200k_base.tiktoken"))


def load_encoding(path: str | os.PathLike[str] | None = None) -> tiktoken.Encoding:
    """Build the o200k_base encoding from a local file, refusing one whose hash is wrong."""
    data_path = Path(path) if path is not None else default_data_path()
    try:
        contents = data_path.read_bytes()
    except OSError as exc:
        raise TokenizerDataError(
            f"cannot read the tokenizer data {data_path}: {exc.strerror}; reinstall sparkforge"
        ) from exc
    digest = hashlib.sha256(contents).hexdigest()
    if digest != O200K_SHA256:
        raise TokenizerDataError(
            f"the tokenizer data {data_path} is corrupted (sha256 {digest[:12]}..., "
            f"expected {O200K_SHA256[:12]}...); reinstall sparkforge"
        )
    ranks: dict[bytes, int] = {}
    b64decode = base64.b64decode
    start = 0
    # Walk the lines in place rather than splitting: a 200,000-item list would add about
    # 10 MB to the peak memory of every server process.
    while start < len(contents):
        end = contents.find(b"\n", start)
        if end == -1:
            end = len(contents)
        if end > start:
            token, _, rank = contents[start:end].partition(b" ")
            ranks[b64decode(token)] = int(rank)
        start = end + 1
    del contents
    enc = tiktoken.Encoding(
        name="o200k_base",
        pat_str=_O200K_PAT,
        mergeable_ranks=ranks,
        special_tokens=_O200K_SPECIAL,
    )
    # The Rust core keeps its own copy of the ranks; the Python one (about 30 MB) is only
    # needed to pickle the encoding, which we never do.
    del ranks
    enc._mergeable_ranks = {}
    _return_freed_memory()
    return enc


def _return_freed_memory() -> None:
    """Hand the freed loading buffers back to the OS (glibc keeps them otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@functools.lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The process-wide o200k_base encoding (loaded once, about 0.3 s)."""
    return load_encoding()


def count_tokens(text: str) -> int:
    """Tokens in ``text``; special-token strings count as ordinary text."""
    if not text:
        return 0
    if len(text) <= 512:
        # Prompt builders count line by line, and the lines around the cursor repeat from
        # one keystroke to the next.
        return _count_short(text)
    if len(text) <= 32768:
        # A section counted again by the next step of the same prompt (the edit history)
        return _count_long(text)
    return len(encoding().encode_ordinary(text))


@functools.lru_cache(maxsize=4096)
def _count_short(text: str) -> int:
    return len(encoding().encode_ordinary(text))


@functools.lru_cache(maxsize=32)
def _count_long(text: str) -> int:
    return len(encoding().encode_ordinary(text))


def truncate_head(text: str, max_tokens: int) -> str:
    """Keep the first ``max_tokens`` tokens of ``text`` (cut at the end)."""
    if max_tokens <= 0:
        return ""
    tokens = encoding().encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    return encoding().decode(tokens[:max_tokens])


def truncate_tail(text: str, max_tokens: int) -> str:
    """Keep the last ``max_tokens`` tokens of ``text`` (cut at the start)."""
    if max_tokens <= 0:
        return ""
    tokens = encoding().encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    return encoding().decode(tokens[-max_tokens:])


def split_tokens(text: str) -> list[str]:
    """``text`` as a list of token strings that concatenate back to it exactly.

    Tokens that end inside a multi-byte character are merged with the next one, so every
    piece is valid text (the model server streams these pieces as deltas).
    """
    enc = encoding()
    pieces: list[str] = []
    pending = b""
    for tok in enc.encode_ordinary(text):
        pending += enc.decode_single_token_bytes(tok)
        try:
            pieces.append(pending.decode("utf-8"))
        except UnicodeDecodeError:
            continue
        pending = b""
    if pending:
        pieces.append(pending.decode("utf-8", errors="replace"))
    return pieces


# -- budgets -------------------------------------------------------------------------------


class OverBudget(ValueError):
    """Text too large for where it was going; the message names the limit and the setting
    that changes it. Raised before anything reaches a model."""

    def __init__(self, message: str, tokens: int, limit: int) -> None:
        super().__init__(message)
        self.message = message
        self.tokens = tokens
        self.limit = limit


def count_up_to(text: str, limit: int) -> tuple[int, bool]:
    """``(count_tokens(text), True)`` when ``text`` is at most ``limit`` tokens; otherwise
    ``(n, exact)`` with ``n > limit``. A huge text is tokenized prefix by prefix, doubling,
    only until a prefix is over the limit (``exact`` is then False and ``n`` a lower bound):
    a 2 MB paste costs a few milliseconds, not a tokenizer pass over all of it.
    """
    if not text:
        return 0, True
    size = max(limit, 1) * 4  # characters: most text is 3-4 characters a token
    while size < len(text):
        # Cut after a line break where there is one: the prefix then splits into the same
        # tokens as the start of the whole text, so its count is a lower bound.
        cut = text.rfind("\n", size // 2, size) + 1 or size
        n = len(encoding().encode_ordinary(text[:cut]))
        if n > limit:
            return n, False
        size *= 2
    return count_tokens(text), True


def within_budget(text: str, limit: int, *, what: str, setting: str, advice: str = "") -> None:
    """Nothing when ``text`` is at most ``limit`` tokens, else OverBudget.

    The one check every model request goes through (fast apply, chat, actions, ghost text and
    next edits): ``what`` is how the user knows the text ("the code block", "the request to
    the fast model"), ``setting`` the setting that holds ``limit``, ``advice`` what to do.
    """
    if len(text) * 4 <= limit or len(text.encode("utf-8")) <= limit:
        return  # a token is at least one byte: no need to count
    tokens, exact = count_up_to(text, limit)
    if tokens <= limit:
        return
    size = f"{tokens:,} tokens" if exact else f"more than {tokens:,} tokens ({len(text):,} characters)"
    message = f"{what} is {size}, over the limit of {limit:,} ({setting})"
    raise OverBudget(f"{message}; {advice}" if advice else message, tokens, limit)


def request_text(instructions: str, input: str | Sequence[Mapping[str, Any]]) -> str:
    """A model request as the model reads it, for counting: the instructions, then the input
    (a string, or Responses/Chat messages whose content is text or a list of text parts)."""
    if isinstance(input, str):
        return f"{instructions}\n{input}"
    parts = [instructions]
    for message in input:
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, Mapping))
        for key in ("output", "arguments", "input"):  # tool calls and their outputs
            if isinstance(message.get(key), str):
                parts.append(message[key])
    return "\n".join(parts)


def request_budget(role: str, limit: int, instructions: str, input: str | Sequence[Mapping[str, Any]],
                   advice: str = "") -> None:
    """Nothing when one request to ``role``'s model (instructions and input) is at most
    ``limit`` tokens, else OverBudget naming ``sparkforge.<role>.maxInputTokens``."""
    within_budget(
        request_text(instructions, input),
        limit,
        what=f"the request to the {role} model",
        setting=f"sparkforge.{role}.maxInputTokens",
        advice=advice or "nothing was sent; send less, or raise the setting",
    )
