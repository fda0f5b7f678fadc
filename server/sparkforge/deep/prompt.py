"""The deep model's prompt for a code action (``sf-action-3``).

The model gets instructions (the rules, and how to answer: the ``apply_patch`` tool with the
Responses API, one unified diff with Chat Completions, prose for Explain) and an input with,
in order of priority: the task, the target's text, the diagnostic (Fix), the enclosing scope,
the file around the target, then related files (for Generate tests: the existing test file,
conftest.py, another test of the project for its style). Everything is counted with
``count_tokens`` against ``sparkforge.actions.promptTokens``; what does not fit is cut, the
target never. The input shows them in the order of what changes least: related files, the
file, then the task with its target, so that two actions on one file share a long prefix
for the API's prompt cache. All text is redacted with one ``Redaction`` (a secret has the
same numbered marker in every section, numbered in the order the input shows them; the pairs
let the flow put a secret back where the model copied its marker into a patch). LF line
endings only.

Every fixed string the model reads is a constant here. Change PROMPT_VERSION with any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sparkforge.deep.targets import Target, whole_lines
from sparkforge.deep.testing import TestLayout
from sparkforge.models.tokens import count_tokens, truncate_head
from sparkforge.privacy import Redaction
from sparkforge.predict.text import CHARS_PER_TOKEN_MAX, split_lines, to_lf

PROMPT_VERSION = "sf-action-3"

ACTION_VERBS = {
    "refactor": "Refactor",
    "tests": "Generate tests",
    "document": "Document",
    "fix": "Fix",
    "explain": "Explain",
}
DEFAULT_INSTRUCTION = "Improve readability"

RULES = """\
You are sparkforge, a senior engineer working in the user's code editor. You are given a task \
on one part of a file (the target), the file around it, and related files.
- Do what the task asks and nothing more; keep everything else exactly as it is, including \
formatting and comments.
- Follow the conventions of the surrounding code: naming, indentation, quotes, documentation style.
- Paths are relative to the workspace root. Never touch a file outside it.
- [REDACTED-1], [REDACTED-2]… mark where secrets were removed from the code you see: leave those \
lines alone, and copy a marker exactly wherever the secret it stands for belongs."""

PATCH_TOOL = """\
Make your edits with the apply_patch tool: update_file for an existing file, with context lines \
copied exactly from it; create_file for a new file. Do not paste code in your reply; after the \
edits, reply with one short sentence saying what you changed."""

UNIFIED_DIFF = """\
Answer with your edits as one unified diff in a single ```diff fenced block: for each file a \
`--- a/PATH` and a `+++ b/PATH` header with workspace-relative paths (`--- /dev/null` for a new \
file), then hunks with `@@ -start,count +start,count @@` headers and three lines of unchanged \
context copied exactly from the file. After the block, one short sentence saying what you \
changed. No other code blocks."""

EXPLAIN = """\
Explain the target to the user: what it does, how, and anything surprising (edge cases, bugs, \
cost). Be concise: short paragraphs or a list, in markdown, about 250 words at most. Do not \
edit any file."""

DOC_CONVENTIONS = {
    "python": "PEP 257 docstrings (a one-line summary, then details such as Args/Returns/Raises "
    "in the style the file already uses)",
    "javascript": "JSDoc `/** ... */` comments",
    "typescript": "TSDoc `/** ... */` comments (no types in @param, TypeScript has them)",
    "go": "Go doc comments: `//` sentences that start with the name they document",
    "rust": "`///` doc comments (and `//!` for modules)",
    "java": "Javadoc `/** ... */` comments",
    "csharp": "XML documentation comments (`/// <summary>`)",
    "ruby": "YARD comments",
    "c": "Doxygen-style `/** ... */` comments",
    "cpp": "Doxygen-style `/** ... */` comments",
}


class PromptTooLarge(ValueError):
    """The target alone does not fit the prompt budget."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # workspace-relative posix path
    text: str
    language: str = ""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """The problem a Fix action fixes (what the editor reported)."""

    message: str
    line: int  # 0-based
    severity: str = "error"
    source: str | None = None
    code: str | None = None

    def describe(self) -> str:
        origin = " ".join(str(x) for x in (self.source, self.code) if x)
        return f"{self.severity} at line {self.line + 1}: {self.message}" + (f" [{origin}]" if origin else "")


@dataclass(frozen=True, slots=True)
class RelatedFile:
    path: str
    text: str
    why: str  # "existing tests for this module", ...


@dataclass(frozen=True)
class ActionInput:
    kind: str  # one of ACTION_VERBS
    file: SourceFile
    target: Target
    scope: Target | None = None
    instruction: str | None = None
    diagnostic: Diagnostic | None = None
    tests: TestLayout | None = None
    related: Sequence[RelatedFile] = ()


@dataclass
class DeepPrompt:
    instructions: str
    input: str
    tokens: int
    included: list[str] = field(default_factory=list)  # paths shown, in order
    truncated: bool = False
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (marker, secret)
    version: str = PROMPT_VERSION


def fence(text: str, lang: str = "") -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{ticks}{lang}\n{body}{ticks}\n"


def instructions_for(kind: str, api: str) -> str:
    if kind == "explain":
        return f"{RULES}\n\n{EXPLAIN}"
    return f"{RULES}\n\n{PATCH_TOOL if api == 'responses' else UNIFIED_DIFF}"


def task_text(action: ActionInput) -> str:
    t, path = action.target, action.file.path
    what = f"{t.describe()} in {path}" if t.kind != "file" else path
    if action.kind == "refactor":
        instruction = (action.instruction or "").strip() or DEFAULT_INSTRUCTION
        return (
            f"Refactor {what}. The user's instruction: {instruction}\n"
            "Keep its behaviour unless the instruction says otherwise; if its signature changes, "
            "update the callers shown."
        )
    if action.kind == "document":
        convention = DOC_CONVENTIONS.get(action.file.language, "the language's usual doc comments")
        extra = " and its public methods" if t.kind == "class" else ""
        return (
            f"Document {what}{extra}, with {convention}. Add or improve documentation and "
            "comments only: do not change the code itself."
        )
    if action.kind == "tests":
        layout = action.tests
        lines = [f"Write tests for {what}."]
        if layout is not None:
            if layout.path == path:
                lines.append(f"Add them to {path} itself.")
            elif layout.exists:
                lines.append(
                    f"Add them to the existing test file {layout.path} (shown below), keeping its "
                    "tests as they are and not duplicating them."
                )
            else:
                lines.append(f"Create the new test file {layout.path}.")
            lines.append(f"Framework: {layout.convention}")
            if layout.import_hint:
                lines.append(f"In the tests, {layout.import_hint}.")
        lines.append(
            "Cover the normal cases, the edge cases and the errors the code handles. The tests must "
            f"pass against the code as it is now: do not change {path}."
        )
        return "\n".join(lines)
    if action.kind == "fix":
        problem = action.diagnostic.describe() if action.diagnostic else "the problem in it"
        return f"Fix this problem in {path}, with the smallest correct change:\n{problem}"
    return f"Explain {what}."


def build_prompt(action: ActionInput, *, api: str, budget: int) -> DeepPrompt:
    """The prompt for ``action``, within ``budget`` tokens; PromptTooLarge if the target alone is over.

    ``budget`` bounds the tokens of the instructions and the input as the model reads them
    (joined by a newline). Sections are estimated while building; the whole is then counted,
    and rebuilt with less room for the file and related files if the estimate fell short.
    """
    room = budget
    for attempt in range(4):
        prompt = _assemble(action, api=api, budget=budget, room=room)
        total = count_tokens(f"{prompt.instructions}\n{prompt.input}")
        if total <= budget:
            prompt.tokens = total
            return prompt
        room -= (total - budget) + 32 * (attempt + 1)
    raise PromptTooLarge(
        f"{action.target.describe()} does not fit sparkforge.actions.promptTokens ({budget}) with its "
        "instructions; select less, or raise the setting"
    )


def _assemble(action: ActionInput, *, api: str, budget: int, room: int) -> DeepPrompt:
    """One try at the prompt: the fixed part must fit ``budget``, the rest gets ``room``."""
    redaction = Redaction()
    for source in (action.file.text, action.instruction or "", *(r.text for r in action.related)):
        redaction.reserve(source)  # before any marker is given out (privacy.Redaction)
    # Secrets are numbered in the order the input shows them (related files, the file, then
    # the task), so that the prefix another action on this file shares stays the same.
    for source in (*(r.text for r in action.related if r.text.strip()), action.file.text):
        redaction(to_lf(source))

    def clean(text: str) -> str:
        return redaction(to_lf(text))

    f, t = action.file, action.target
    lines, _ = split_lines(f.text)
    first, last = whole_lines(t, lines)
    lang = f.language
    instructions = instructions_for(action.kind, api)
    head = [f"## Task\n{clean(task_text(action))}\n"]
    if action.instruction and action.kind != "refactor":
        head.append(f"The user adds: {clean(action.instruction)}\n")
    if t.kind != "file":
        head.append(
            f"## Target: {t.describe()}, {f.path} lines {first + 1}-{last + 1}\n"
            + fence(clean(t.text(lines)), lang)
        )
    if action.diagnostic is not None:
        head.append(f"## Diagnostic\n{clean(action.diagnostic.describe())}\n")
    scope = action.scope
    if scope is not None:
        s0, s1 = whole_lines(scope, lines)
        head.append(f"## Enclosing scope\nThe target is inside {scope.describe()} (lines {s0 + 1}-{s1 + 1}).\n")
    fixed = count_tokens(instructions) + count_tokens("\n".join(head))
    if fixed > budget:
        raise PromptTooLarge(
            f"{t.describe()} needs {fixed} tokens, more than sparkforge.actions.promptTokens "
            f"({budget}); select less, or raise the setting"
        )
    remaining = room - fixed
    related = [r for r in action.related if r.text.strip()]
    # The file's section header and fence, with the widest line numbers it could show.
    label_cost = count_tokens(f"## File: {f.path} ({lang or 'text'}), lines {len(lines)}-{len(lines)} of {len(lines)}\n```{lang}\n```\n") + 2
    file_budget = int(remaining * (0.6 if related else 1.0)) - label_cost
    a, b, excerpt, used = _excerpt(lines, first, last, file_budget)
    truncated = (a, b) != (0, len(lines) - 1)
    task = list(head)
    remaining -= used
    if scope is not None and truncated:
        s0, s1 = whole_lines(scope, lines)
        if s0 < a or s1 > b:  # the excerpt cut the scope: show its header at least
            header = clean("\n".join(lines[s0 : min(s1, s0 + 3) + 1]))
            cost = count_tokens(header) + 8
            if cost <= remaining:
                task.append(f"Its first lines:\n{fence(header, lang)}")
                remaining -= cost
    shown: list[str] = []  # the file's section
    if excerpt:
        label = f"{f.path} ({lang or 'text'}), lines {a + 1}-{b + 1} of {len(lines)}"
        shown.append(f"## File: {label}\n{fence(clean(excerpt), lang)}")
        remaining -= label_cost
    elif t.kind == "file":
        raise PromptTooLarge(
            f"{f.path} does not fit sparkforge.actions.promptTokens ({budget}); "
            "pick a function or a range of lines"
        )
    others: list[str] = []  # related files' sections
    included = []
    for rel in related:
        text = clean(rel.text)
        cost = count_tokens(text) + count_tokens(f"## Related file: {rel.path} ({rel.why})\n```\n```\n") + 2
        if cost > remaining:
            if remaining < 200:
                truncated = True
                continue
            text = truncate_head(text, remaining - 32) + "\n… (cut here)\n"
            cost = remaining
            truncated = True
        others.append(f"## Related file: {rel.path} ({rel.why})\n{fence(text)}")
        included.append(rel.path)
        remaining -= cost
    if shown:
        included.append(f.path)
    # What changes least first: the API's prompt cache reuses the longest unchanged prefix.
    text = "\n".join(others + shown + task)
    return DeepPrompt(instructions, text, room - remaining, included, truncated, redaction.pairs)


def _excerpt(lines: list[str], first: int, last: int, budget: int) -> tuple[int, int, str, int]:
    """(first line, last line, text, tokens) of the largest window around the target that fits."""
    n = len(lines)
    whole = "\n".join(lines)
    if len(whole) <= budget * CHARS_PER_TOKEN_MAX:
        cost = count_tokens(whole)
        if cost <= budget:
            return 0, n - 1, whole, cost
    # Grow a window around the target by characters (about 3.5 a token), then check in tokens.
    chars = int(budget * 3.5)
    a, b = first, last
    size = sum(len(lines[k]) + 1 for k in range(a, b + 1))
    while size < chars and (a > 0 or b < n - 1):
        if a > 0:
            a -= 1
            size += len(lines[a]) + 1
        if b < n - 1 and size < chars:
            b += 1
            size += len(lines[b]) + 1
    while True:
        text = "\n".join(lines[a : b + 1])
        cost = count_tokens(text)
        if cost <= budget or b - a <= last - first:
            if cost > budget:  # the target's own lines are too many: the Target section has them
                return first, first, "", 0
            return a, b, text, cost
        shrink = max(1, (b - a - (last - first)) // 7)
        a = min(first, a + (shrink + 1) // 2)
        b = max(last, b - shrink // 2 - (1 if a == first else 0))
