"""The small project most deep-path tests work on, and the model answers they share
(scenarios for the local model server: ``rewrite`` for the fast model, ``deep``)."""

from typing import Any

DEEP = "gpt-5.3-codex"
FAST = "gpt-5.3-codex-spark"
# The fast prompt's markers (docs/prompts.md)
START, END, CURSOR = "<|editable_region_start|>", "<|editable_region_end|>", "<|user_cursor_is_here|>"

CART = (
    "import math\n"
    "\n"
    "\n"
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
)
DOCSTRING = '    """The sum of the items\' prices."""\n'
CART_DOCUMENTED = CART.replace("def total(items):\n", "def total(items):\n" + DOCSTRING)
# the apply_patch operation that documents total()
DOC_PATCH = {"type": "update_file", "path": "cart.py",
             "diff": "@@ def total(items):\n+" + DOCSTRING + "     result = 0\n"}


# -- model answers (scenarios for the local model server) ------------------------------------
def rewrite(name: str, contains: list[str], region: str, **extra: Any) -> dict[str, Any]:
    """A fast-model scenario: the editable region rewritten (docs/prompts.md)."""
    return {"name": name, "model": FAST, "input_contains": contains, "output": f"{START}\n{region}{END}", **extra}


def deep(name: str, contains: list[str], *, output: str = "", patches: list[dict] | None = None,
         chat_diff: str | None = None, **extra: Any) -> dict[str, Any]:
    """A deep-model scenario; ``chat_diff`` is the unified diff answered over Chat Completions."""
    # A quick deep model unless a test wants it slow (the default paces 70 tokens/s).
    scenario = {"name": name, "model": DEEP, "input_contains": contains, "output": output,
                "patches": patches or [], "ttft_ms": 5, "tokens_per_s": 5000, **extra}
    if chat_diff is not None:
        scenario["chat_output"] = f"{output}\n\n```diff\n{chat_diff}```\n"
    return scenario
