"""The fast model's prompt: an editable region around the cursor, with budgeted context.

OpenAI offers no fill-in-the-middle endpoint, so the fast model is asked to *rewrite* a small
editable region (the cursor line and a few lines either side) with the user's next edit
applied; ``diffing.classify`` then turns the rewrite into ghost text and next edits.

Everything the model reads that is not the user's own text (instructions, markers, section
headers) is a constant of this module, documented in docs/prompts.md. Change
``PROMPT_VERSION`` whenever any of it changes, so that logs, caches and benchmarks can tell
prompts apart.

Sections go from what changes least to what changes most (instructions, code from other files,
the edit history, the excerpt around the cursor), so that consecutive prompts share the
longest prefix the API's prompt cache can reuse.

Budgets are in o200k tokens. The instructions and the editable region are always included
(the region shrinks towards the cursor line if it alone is too large); then, in order of
priority, the file around the region, the edit history, and code from other files each get
what remains, up to their own cap.

Line endings: the prompt is LF-only. ``Prompt.region_text`` is the region exactly as it is in
the document and ``Prompt.line_ending`` the document's dominant line ending, which
post-processing restores. Positions are (line, character) with characters counted in
Python ``str`` indices, not UTF-16 (the LSP layer converts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from sparkforge.privacy import scan_ahead
from sparkforge.models.tokens import count_tokens, truncate_tail
from sparkforge.predict.snippets import related_code
from sparkforge.textpos import pieces
from sparkforge.predict.text import (
    CHARS_PER_TOKEN_MAX,
    DocumentLines,
    detect_indent,
    dominant_line_ending,
    lines_cost,
    split_lines,
    take_lines,
    to_lf,
)

__all__ = [
    "CURSOR", "INSTRUCTIONS", "PROMPT_VERSION", "REGION_END", "REGION_START", "Prompt",
    "PromptSettings", "RegionTooLarge", "build_prompt", "split_lines", "to_lf",
]

PROMPT_VERSION = "sf-predict-2"

REGION_START = "<|editable_region_start|>"
REGION_END = "<|editable_region_end|>"
CURSOR = "<|user_cursor_is_here|>"

INSTRUCTIONS = f"""\
You predict the next edit a programmer will make in their code editor.

You are shown related code from other files, the user's recent edits as unified diffs, and an \
excerpt of the file being edited. In the excerpt, the editable region lies between \
{REGION_START} and {REGION_END}, and {CURSOR} marks the cursor.

Rewrite the editable region with the user's next edit applied.
- Usually the next edit completes the code at the cursor. It may also change other lines of \
the region: carry on a rename or a refactoring that the recent edits began, or fix an \
obvious mistake.
- Copy every line you do not change exactly, with its indentation and whitespace.
- Make only the edit you are confident about. If there is none, return the region unchanged.
- Do not repeat code that follows the region.

Answer with {REGION_START}, a newline, the rewritten region, then {REGION_END}, and nothing \
else: no explanation, no markdown fences, no {CURSOR}."""

HISTORY_HEADER = "## Recent edits (oldest first)\n"
SNIPPETS_HEADER = "## Related code from other files\n"
SNIPPET_HEADER = "--- {path}\n"
FILE_HEADER = "## Current file: {path} ({language}), lines {first}-{last} of {total}\n"



class RegionTooLarge(ValueError):
    """The cursor line alone exceeds the region budget (minified code): predict nothing."""


@dataclass(frozen=True)
class PromptSettings:
    """Sizes of the prompt. The sub-budgets are caps; ``max_tokens`` bounds the whole."""

    lines_above: int = 3
    lines_below: int = 3
    max_tokens: int = 1500
    region_max_tokens: int = 400
    context_max_tokens: int = 600
    history_max_tokens: int = 300
    snippets_max_tokens: int = 250
    max_definitions: int = 6
    definition_lines_before: int = 1
    definition_lines_after: int = 5


@dataclass(frozen=True)
class Prompt:
    """A prompt for one prediction, and what is needed to read the answer back."""

    instructions: str
    input: str
    path: str
    language_id: str
    region_start_line: int
    region_end_line: int  # exclusive
    region_text: str  # exactly as in the document, original line endings included
    cursor_offset_in_region: int  # str index into region_text
    cursor_line: int
    cursor_character: int
    line_ending: str  # the document's dominant line ending: "\n" or "\r\n"
    indent: str  # the document's indentation unit: "\t" or some spaces
    version: str = PROMPT_VERSION
    token_bound: int = 0  # the prompt is at most this many tokens (counted when built)
    section_tokens: Mapping[str, int] = field(default_factory=dict)

    @functools.cached_property
    def token_count(self) -> int:
        """The prompt's exact token count (instructions and input), counted when first asked:
        the prompt is built from its sections' counts, which bound it."""
        return count_tokens(self.instructions) + count_tokens(self.input)

    @functools.cached_property
    def region_lf(self) -> str:
        """``region_text`` with LF line endings, as the model saw it."""
        return to_lf(self.region_text)

    @functools.cached_property
    def cursor_offset_lf(self) -> int:
        """The cursor's index into ``region_lf`` (a cursor never sits inside a CRLF)."""
        return len(to_lf(self.region_text[: self.cursor_offset_in_region]))


def build_prompt(
    text: str | Sequence[str],
    path: str,
    language_id: str,
    cursor: tuple[int, int],
    *,
    history: str = "",
    other_documents: Sequence[tuple[str, str]] = (),
    settings: PromptSettings = PromptSettings(),
    definitions: Sequence[str | None] | None = None,
) -> Prompt:
    """The prompt to predict the next edit of ``text`` with the cursor at ``cursor``.

    ``text`` is the document, or its lines each with its line ending (as
    ``textpos.TextLines.snapshot`` gives them): then only the window of lines the prompt can
    hold around the cursor is read, however long the document.

    ``history`` is ``EditHistory.render(...)``'s output. ``other_documents`` are
    ``(path, text)`` of other open documents, most relevant first: definitions of names used
    in the region are looked up in them (and in the rest of this document), then what budget
    remains is filled with the start of each. ``definitions``, if the caller keeps them, are
    ``snippets.line_definition`` of each line of ``text`` (else they are looked up). Raises ``RegionTooLarge`` when the cursor line
    alone is over ``settings.region_max_tokens``.
    """
    document = pieces(text) if isinstance(text, str) else text
    total = len(document)
    cursor_line = min(max(cursor[0], 0), total - 1)
    # The window: every line the region and the file context could show (each line costs a
    # token at least), split and measured; the lines outside it are never touched.
    reach = max(settings.lines_above, settings.lines_below) + settings.context_max_tokens + 1
    lo, hi = max(0, cursor_line - reach), min(total, cursor_line + reach + 1)
    contents, eols = split_lines("".join(document[lo:hi]))
    if hi < total:
        contents.pop(), eols.pop()  # the "" after the window's last line ending
    line = cursor_line - lo
    character = min(max(cursor[1], 0), len(contents[line]))
    instructions_cost = count_tokens(INSTRUCTIONS)
    widest = "9" * len(str(total))  # line numbers in the header, at their widest
    header_cost = count_tokens(FILE_HEADER.format(path=path, language=language_id,
                                                  first=widest, last=widest, total=widest))
    # The region also shrinks to fit the total budget, with its header and markers.
    room = (settings.max_tokens - instructions_cost - header_cost
            - count_tokens(f"{REGION_START}\n{CURSOR}\n{REGION_END}\n") - 2)
    start, end = _region_lines(contents, line, settings, min(settings.region_max_tokens, room))

    region_text = "".join(c + e for c, e in zip(contents[start:end], eols[start:end]))
    cursor_offset = sum(len(c) + len(e) for c, e in zip(contents[start:line], eols[start:line]))
    cursor_offset += character
    region_lf = "".join(c + "\n" for c in contents[start:end])
    if lo + end == total:
        region_lf = region_lf[:-1]  # the document's last line has no line ending
    cursor_lf = sum(len(c) + 1 for c in contents[start:line]) + character
    marked = region_lf[:cursor_lf] + CURSOR + region_lf[cursor_lf:]
    if not marked.endswith("\n"):
        marked += "\n"  # the end marker always sits on a line of its own
    region_block = f"{REGION_START}\n{marked}{REGION_END}\n"

    sections: dict[str, int] = {"instructions": instructions_cost,
                                "region": count_tokens(region_block)}
    framing = header_cost + count_tokens(HISTORY_HEADER + SNIPPETS_HEADER + "\n\n")
    remaining = settings.max_tokens - sum(sections.values()) - framing - 6

    above_budget = min(settings.context_max_tokens, max(remaining, 0)) * 2 // 3
    above = take_lines(contents[:start][::-1], above_budget)[::-1]
    below_budget = min(settings.context_max_tokens, max(remaining, 0)) - lines_cost(above)
    below = take_lines(contents[end:], below_budget)
    sections["context"] = lines_cost(above) + lines_cost(below)
    remaining -= sections["context"]

    history_text = _fit_history(to_lf(history).strip("\n"), min(settings.history_max_tokens, remaining))
    sections["history"] = count_tokens(history_text)
    remaining -= sections["history"]

    first_shown = lo + start - len(above)
    snippets = related_code(
        region_lf, cursor_lf, path, DocumentLines(document), (first_shown, lo + end + len(below)),
        other_documents, min(settings.snippets_max_tokens, remaining), settings, SNIPPET_HEADER,
        definitions,
    )
    sections["snippets"] = count_tokens(snippets)

    def assemble() -> str:
        # What changes least first: the prompt cache reuses the longest unchanged prefix.
        parts = []
        if snippets:
            parts.append(SNIPPETS_HEADER + snippets)
        if history_text:
            parts.append(HISTORY_HEADER + history_text + "\n")
        header = FILE_HEADER.format(path=path, language=language_id, first=lo + start - len(above) + 1,
                                    last=lo + end + len(below), total=total)
        parts.append(header + "".join(c + "\n" for c in above) + region_block
                     + "".join(c + "\n" for c in below))
        return "\n".join(parts)

    user_input = assemble()
    # The sections' counts add up to at least the whole's (parts meet at line breaks): when
    # their sum fits, so does the prompt, and it is not tokenized again. Otherwise count it,
    # and give up context in reverse order of priority until it fits.
    bound = sum(sections.values()) + framing
    input_tokens = bound - sections["instructions"]
    if bound > settings.max_tokens:
        input_tokens = count_tokens(user_input)
    while sections["instructions"] + input_tokens > settings.max_tokens:
        if snippets:
            snippets, sections["snippets"] = "", 0
        elif history_text:
            history_text, sections["history"] = "", 0
        elif above or below:
            if len(above) >= len(below):
                above.pop(0)  # the farthest line above
            else:
                below.pop()
            sections["context"] = lines_cost(above) + lines_cost(below)
        else:
            break  # instructions and region alone: always sent
        user_input = assemble()
        input_tokens = count_tokens(user_input)

    return Prompt(
        instructions=INSTRUCTIONS,
        input=user_input,
        path=path,
        language_id=language_id,
        region_start_line=lo + start,
        region_end_line=lo + end,
        region_text=region_text,
        cursor_offset_in_region=cursor_offset,
        cursor_line=cursor_line,
        cursor_character=character,
        line_ending=dominant_line_ending("".join(document[lo:hi])),  # the window's
        indent=detect_indent(above[-20:] + contents[start:end] + below[:20]),
        version=PROMPT_VERSION,
        token_bound=sections["instructions"] + input_tokens,
        section_tokens=sections,
    )


def _region_lines(contents: list[str], line: int, settings: PromptSettings,
                  budget: int) -> tuple[int, int]:
    """The region's lines: cursor line ± settings, dropping the farthest lines to fit."""
    limit = settings.region_max_tokens
    if len(contents[line]) > limit * CHARS_PER_TOKEN_MAX or count_tokens(contents[line]) > limit:
        raise RegionTooLarge(f"line {line} is over {limit} tokens")
    start = max(0, line - settings.lines_above)
    end = min(len(contents), line + settings.lines_below + 1)
    while end - start > 1 and count_tokens("\n".join(contents[start:end])) > budget:
        if line - start >= end - 1 - line:
            start += 1
        else:
            end -= 1
    return start, end


def _fit_history(history: str, budget: int) -> str:
    """The most recent part of the history that fits, cut at a line boundary."""
    if budget <= 0 or not history:
        return ""
    if count_tokens(history) <= budget:
        return history
    cut = truncate_tail(history, budget)
    nl = cut.find("\n")
    cut = cut[nl + 1 :] if nl >= 0 else ""
    while cut and count_tokens(cut) > budget:
        cut = cut[cut.find("\n") + 1 :] if "\n" in cut else ""
    return cut


WARM_REACH = 700  # lines either side of an edit: about what a prompt near it can show


def warm_lines(lines: Sequence[str]) -> None:
    """Do now, for ``lines`` of a document (with their endings), the per-line work a prompt
    showing them would do: their token counts and their secret scan, both cached per line.
    For idle time: the first prompts after a jump to a new spot then cost what later ones do."""
    for content in DocumentLines(lines)[:]:  # each line as the prompt shows it
        count_tokens(content + "\n")
        scan_ahead(content)
