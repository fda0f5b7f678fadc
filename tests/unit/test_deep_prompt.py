"""The deep model's prompt for an action: the task, the target, the file within budget,
related files, redacted, in the format the API needs."""

from __future__ import annotations

import pytest

from sparkforge.deep.prompt import (
    ActionInput,
    Diagnostic,
    PromptTooLarge,
    RelatedFile,
    SourceFile,
    build_prompt,
    fence,
)
from sparkforge.deep.targets import find_definition, target_at
from sparkforge.deep.testing import TestLayout
from sparkforge.models.tokens import count_tokens

CART = (
    "import os\n\n"
    'API_KEY = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"\n\n\n'
    "class Cart:\n"
    "    def total(self, items):\n"
    "        result = 0\n"
    "        for item in items:\n"
    "            result += item.price\n"
    "        return result\n"
)


def action(kind: str = "document", text: str = CART, line: int = 7, **kw) -> ActionInput:
    lines = text.replace("\r\n", "\n").split("\n")
    target = kw.pop("target", None) or find_definition(lines, line, "python")
    from sparkforge.deep.targets import enclosing_scope

    return ActionInput(kind, SourceFile("shop/cart.py", text, "python"), target,
                       enclosing_scope(lines, target, "python"), **kw)


def test_document_prompt_names_the_task_target_scope_and_file():
    p = build_prompt(action(), api="responses", budget=24000)
    assert "apply_patch tool" in p.instructions and "unified diff" not in p.instructions
    assert p.input.startswith("## File: shop/cart.py (python), lines 1-12 of 12\n")
    assert "\n## Task\nDocument function total in shop/cart.py, with PEP 257 docstrings" in p.input
    assert "## Target: function total, shop/cart.py lines 7-11\n```python\n    def total(self, items):\n" in p.input
    assert "The target is inside class Cart (lines 6-11)." in p.input
    assert "## File: shop/cart.py (python), lines 1-12 of 12\n" in p.input
    assert p.included == ["shop/cart.py"] and not p.truncated
    assert abs(p.tokens - (count_tokens(p.instructions) + count_tokens(p.input))) < 50


def test_chat_asks_for_a_unified_diff_and_explain_for_prose():
    assert "```diff fenced block" in build_prompt(action(), api="chat", budget=24000).instructions
    explain = build_prompt(action("explain"), api="responses", budget=24000)
    assert "Do not edit any file" in explain.instructions and "apply_patch" not in explain.instructions


def test_secrets_are_redacted_and_remembered():
    p = build_prompt(action(), api="responses", budget=24000)
    assert "Zx9Qw8Er7Ty6" not in p.input and 'API_KEY = "sk-proj-[REDACTED-1]"' in p.input
    # the pair restores the key itself; its kind prefix stays in the text
    assert p.secrets == [("[REDACTED-1]", "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz")]


def test_a_secret_has_one_marker_in_every_section():
    settings = RelatedFile(
        "shop/settings.py",
        'API_KEY = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"\nDB_PASSWORD = "Quartz-7419xkQ"\n',
        "uses API_KEY",
    )
    p = build_prompt(action("refactor", related=[settings]), api="responses", budget=24000)
    assert p.input.count('API_KEY = "sk-proj-[REDACTED-1]"') == 2
    assert 'DB_PASSWORD = "[REDACTED-2]"' in p.input
    assert "Quartz-7419xkQ" not in p.input
    assert p.secrets == [("[REDACTED-1]", "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"), ("[REDACTED-2]", "Quartz-7419xkQ")]


def test_markers_written_in_a_later_section_keep_their_numbers():
    # the related file (a test of the redaction, say) holds a literal [REDACTED-1]
    doc = RelatedFile("tests/test_keys.py", 'assert out == \'API_KEY = "sk-proj-[REDACTED-1]"\'\n', "tests")
    p = build_prompt(action("refactor", related=[doc]), api="responses", budget=24000)
    assert 'API_KEY = "sk-proj-[REDACTED-2]"' in p.input  # the file's own key
    assert "sk-proj-[REDACTED-1]\"'" in p.input  # the literal, untouched
    assert p.secrets == [("[REDACTED-2]", "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz")]


def test_refactor_fix_and_tests_tasks():
    refactor = build_prompt(action("refactor", instruction="use sum()"), api="responses", budget=24000)
    assert "Refactor function total in shop/cart.py. The user's instruction: use sum()" in refactor.input
    default = build_prompt(action("refactor"), api="responses", budget=24000)
    assert "The user's instruction: Improve readability" in default.input
    diag = Diagnostic('"reslt" is not defined', 10, "error", "pyflakes", "F821")
    fix = build_prompt(action("fix", diagnostic=diag), api="responses", budget=24000)
    assert '## Diagnostic\nerror at line 11: "reslt" is not defined [pyflakes F821]' in fix.input
    layout = TestLayout("pytest", "tests/test_cart.py", True, "pytest: plain functions", "import it from `shop.cart`")
    tests = build_prompt(
        action("tests", tests=layout, related=[RelatedFile("tests/test_cart.py", "def test_a():\n    pass\n", "existing tests")]),
        api="responses", budget=24000,
    )
    assert "Add them to the existing test file tests/test_cart.py" in tests.input
    assert "## Related file: tests/test_cart.py (existing tests)\n```\ndef test_a():" in tests.input
    assert tests.included == ["tests/test_cart.py", "shop/cart.py"]  # in the order shown


def test_what_changes_least_comes_first_related_files_the_file_then_the_task():
    # The API's prompt cache reuses the longest unchanged prefix: two actions on one file
    # share everything up to their task.
    related = [RelatedFile("tests/test_cart.py", "def test_a():\n    pass\n", "existing tests")]
    p = build_prompt(action("refactor", instruction="use sum()", related=related), api="responses", budget=24000)
    assert p.version == "sf-action-3"
    assert p.input == (  # the whole input, written out
        "## Related file: tests/test_cart.py (existing tests)\n"
        "```\ndef test_a():\n    pass\n```\n"
        "\n"
        "## File: shop/cart.py (python), lines 1-12 of 12\n"
        "```python\n"
        "import os\n\n"
        'API_KEY = "sk-proj-[REDACTED-1]"\n\n\n'
        "class Cart:\n"
        "    def total(self, items):\n"
        "        result = 0\n"
        "        for item in items:\n"
        "            result += item.price\n"
        "        return result\n"
        "```\n"
        "\n"
        "## Task\n"
        "Refactor function total in shop/cart.py. The user's instruction: use sum()\n"
        "Keep its behaviour unless the instruction says otherwise; if its signature changes, "
        "update the callers shown.\n"
        "\n"
        "## Target: function total, shop/cart.py lines 7-11\n"
        "```python\n"
        "    def total(self, items):\n"
        "        result = 0\n"
        "        for item in items:\n"
        "            result += item.price\n"
        "        return result\n"
        "```\n"
        "\n"
        "## Enclosing scope\n"
        "The target is inside class Cart (lines 6-11).\n")
    other = build_prompt(action("document", related=related), api="responses", budget=24000)
    shared = p.input.split("## Task")[0]
    assert other.input.startswith(shared)  # another action on the file: the same prefix


def test_secrets_are_numbered_in_the_order_the_input_shows_them():
    # A key in the target would otherwise take number 1 (the target's section is cleaned
    # first) and shift the numbers of the file section every other action shares.
    text = 'TOKEN = "ghp_Abcdefghijklmnopqrstuvwxyz0123456789"\n\n\ndef f():\n    return "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"\n'
    p = build_prompt(action(text=text, line=3), api="responses", budget=24000)
    assert 'TOKEN = "ghp_[REDACTED-1]"' in p.input or 'TOKEN = "[REDACTED-1]"' in p.input
    assert p.input.count("[REDACTED-2]") == 2  # the function's key: in the file and the target


def test_a_large_file_is_cut_around_the_target_within_budget():
    head = "".join(f"def before_{i}(x):\n    return x * {i}\n\n\n" for i in range(1500))
    tail = "".join(f"def after_{i}(x):\n    return x + {i}\n\n\n" for i in range(1500))
    text = head + "def target(x):\n    return x - 1\n\n\n" + tail
    line = head.count("\n") + 1
    p = build_prompt(action(text=text, line=line), api="responses", budget=3000)
    assert count_tokens(p.instructions) + count_tokens(p.input) <= 3000
    assert p.truncated and "def target(x):" in p.input
    assert "def before_1499" in p.input and "def after_0" in p.input  # the neighbourhood is kept
    assert "def before_0(" not in p.input and "def after_1499" not in p.input
    assert f"of {text.count(chr(10)) + 1}\n" in p.input


def test_a_target_over_budget_is_refused_with_the_setting_named():
    text = "def huge():\n" + "".join(f"    x{i} = {i}\n" for i in range(3000))
    with pytest.raises(PromptTooLarge, match="sparkforge.actions.promptTokens"):
        build_prompt(action(text=text, line=1), api="responses", budget=2000)


def test_crlf_and_emoji_reach_the_model_as_lf_text():
    text = 'def greet(name):\r\n    return "🎉 " + name\r\n'
    p = build_prompt(action(text=text, line=1), api="chat", budget=24000)
    assert "\r" not in p.input and '    return "🎉 " + name\n' in p.input


def test_a_selection_target_and_fences_longer_than_the_code_s_backticks():
    text = 'DOC = """\n```python\nx = 1\n```\n"""\n'
    lines = text.split("\n")
    sel = target_at(lines, (0, 0), (4, 3), "python")
    p = build_prompt(action(text=text, target=sel), api="responses", budget=24000)
    assert "## Target: the selection, shop/cart.py lines 1-5\n````python\n" in p.input
    assert fence("a ``` b") == "````\na ``` b\n````\n"
