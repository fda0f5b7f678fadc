"""sparkforge in a real Neovim 0.11: what a Neovim user gets from `sparkforge lsp`.

Each test starts a headless Neovim (tests/nvim/driver.lua) whose own LSP client runs
``python -m sparkforge lsp`` against the local model server, and checks what Neovim ended
up with (the negotiated position encoding, buffer text, messages, files) against text
written by hand:

- position encodings: Neovim offers utf-8 first; clients offering only utf-16 or utf-32 get
  those; ghost text and the Document action land exactly, with €, an emoji (a surrogate pair
  in UTF-16) and CJK before the cursor;
- the code-action menu, and Document and Generate tests picked from it (resolve, apply, :wall);
- Explain: a server command whose answer Neovim opens through window/showDocument;
- a model server that is down: a clear error, nothing changed, the client still works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from samples import DEEP, FAST, deep, rewrite


def nvim_settings(base_url: str) -> dict[str, Any]:
    """The ``sparkforge`` settings (initializationOptions) pointing both roles at the local
    model server: no retries, no debounce (as ``lsp_settings`` in tests/lsphelp.py)."""
    return {
        "fast": {"baseUrl": base_url, "model": FAST, "maxRetries": 0},
        "deep": {"baseUrl": base_url, "model": DEEP, "maxRetries": 0},
        "inline": {"debounceMs": 0},
    }


def by_level(result, source: str, level: int) -> list[str]:
    return [m["text"] for m in result["messages"] if m["source"] == source and m.get("level") == level]


ERROR = 4  # vim.log.levels.ERROR
WARN = 3


# -- 1. position encodings ------------------------------------------------------------------------
# The cursor sits at the end of line 1, after "🍕" (4 UTF-8 bytes, 2 UTF-16 units, 1 code
# point), "価格" (3 bytes each, 1 unit each) and "€" (3 bytes, 1 unit).
MENU = (
    "def menu_line(name):\n"
    '    tag = "🍕 価格 €" + nam\n'
    "    return tag\n"
)
MENU_LINE_COMPLETED = '    tag = "🍕 価格 €" + name.upper()'
MENU_REWRITTEN = (
    "def menu_line(name):\n"
    '    tag = "🍕 価格 €" + name.upper()\n'
    "    return tag\n"
)
# The end of line 1 ('    tag = "🍕 価格 €" + nam', 24 code points) in each encoding.
END_OF_MENU_LINE = {"utf-8": 33, "utf-16": 25, "utf-32": 24}

CLIENTS = [
    # (what the client offers in general.positionEncodings, what the server must choose)
    pytest.param(None, "utf-8", id="neovim-default-utf8"),
    pytest.param(["utf-16"], "utf-16", id="utf16-only"),
    pytest.param(["utf-32"], "utf-32", id="utf32-only"),
]


@pytest.mark.parametrize("offered, expected", CLIENTS)
def test_ghost_text_lands_at_the_end_of_a_non_ascii_line(nvim_run, model_server, offered, expected):
    model_server.reset(scenarios=True)
    model_server.load([rewrite("menu", ['"🍕 価格 €" + nam<|user_cursor_is_here|>'], MENU_REWRITTEN)])
    result = nvim_run(
        files={"menu.py": MENU}, open="menu.py", encodings=offered,
        settings=nvim_settings(model_server.base_url),
        steps=[{"op": "inline", "name": "ghost", "line": 1, "col": "end"}],
    )
    assert result["offset_encoding"] == expected, result.context()
    ghost = result.step("ghost")
    assert ghost["position"] == {"line": 1, "character": END_OF_MENU_LINE[expected]}, result.context()
    assert "error" not in ghost, result.context()
    assert ghost.get("item") not in (None, {}), f"no ghost text{result.context()}"
    assert ghost["item"]["insertText"] == "e.upper()", result.context()
    cursor = {"line": 1, "character": END_OF_MENU_LINE[expected]}
    assert ghost["item"]["range"] == {"start": cursor, "end": cursor}, result.context()
    assert ghost["line_after"] == MENU_LINE_COMPLETED, result.context()
    assert result["errors"] == [], result.context()


PIZZA = (
    "import math\n"
    "\n"
    "\n"
    "def pizza_label(name):\n"
    '    tag = "🍕 価格 €" + name\n'
    '    return f"{tag} 🍕"\n'
)
PIZZA_DOCUMENTED = (
    "import math\n"
    "\n"
    "\n"
    "def pizza_label(name):\n"
    '    """The label for a pizza: "🍕 価格 €" and its name."""\n'
    '    tag = "🍕 価格 €" + name\n'
    '    return f"{tag} 🍕"\n'
)
PIZZA_DOC_PATCH = {"type": "update_file", "path": "pizza.py", "diff": (
    "@@ def pizza_label(name):\n"
    '+    """The label for a pizza: "🍕 価格 €" and its name."""\n'
    '     tag = "🍕 価格 €" + name\n'
)}


@pytest.mark.parametrize("offered, expected", CLIENTS)
def test_document_a_function_with_non_ascii_lines(nvim_run, model_server, offered, expected):
    model_server.reset(scenarios=True)
    model_server.load([deep("pizza-doc", ["Document function pizza_label", '    return f"{tag} 🍕"'],
                            output="Added a docstring.", patches=[PIZZA_DOC_PATCH])])
    result = nvim_run(
        files={"pizza.py": PIZZA}, open="pizza.py", encodings=offered,
        settings=nvim_settings(model_server.base_url),
        # the cursor at the end of '    tag = "🍕 価格 €" + name'
        steps=[{"op": "apply", "name": "document", "line": 4, "col": "end", "title": "Document pizza_label"}],
    )
    assert result["offset_encoding"] == expected, result.context()
    step = result.step("document")
    assert [r["method"] for r in step["requests"]] == ["textDocument/codeAction", "codeAction/resolve"], result.context()
    assert all("error" not in r for r in step["requests"]), result.context()
    assert "\n".join(step["lines"]) + "\n" == PIZZA_DOCUMENTED, result.context()
    assert {"kind": "begin", "title": f"sparkforge: Document with {DEEP}"} in result["progress"], result.context()
    assert result["errors"] == [], result.context()


# -- 2. the code-action menu, Document and Generate tests -----------------------------------------
CART = (
    "def total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
)
CART_DOCUMENTED = (
    "def total(items):\n"
    '    """The sum of the items\' prices."""\n'
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
)
CART_DOC_PATCH = {"type": "update_file", "path": "cart.py", "diff": (
    "@@ def total(items):\n"
    '+    """The sum of the items\' prices."""\n'
    "     result = 0\n"
)}
CART_TESTS = (
    "from cart import total\n"
    "\n"
    "\n"
    "class Item:\n"
    "    def __init__(self, price):\n"
    "        self.price = price\n"
    "\n"
    "\n"
    "def test_total_adds_prices():\n"
    "    assert total([Item(2), Item(3)]) == 5\n"
)
CART_TESTS_PATCH = {"type": "create_file", "path": "tests/test_cart.py",
                    "diff": "".join("+" + line + "\n" for line in CART_TESTS.splitlines())}


def test_code_action_menu_then_document(nvim_run, model_server):
    model_server.reset(scenarios=True)
    model_server.load([deep("cart-doc", ["Document function total"], output="Added a docstring.",
                            patches=[CART_DOC_PATCH])])
    result = nvim_run(
        files={"cart.py": CART}, open="cart.py", settings=nvim_settings(model_server.base_url),
        steps=[
            {"op": "actions", "name": "menu", "line": 3, "col": 8},
            {"op": "apply", "name": "document", "line": 3, "col": 8, "title": "Document total"},
            {"op": "write_all"},
        ],
    )
    # the menu Neovim offers (vim.ui.select), listed with no model call
    titles = [a["title"] for a in result.step("menu")["offered"] or []]
    for title in ("Refactor with sparkforge…", "Document total with sparkforge",
                  "Generate tests for total with sparkforge", "Explain total with sparkforge"):
        assert title in titles, result.context()
    assert len(titles) == 4, result.context()
    # picking Document: resolved (one deep-model call), applied by Neovim, saved by :wall
    document = result.step("document")
    assert [r["method"] for r in document["requests"]] == ["textDocument/codeAction", "codeAction/resolve"], result.context()
    assert all("error" not in r for r in document["requests"]), result.context()
    assert "\n".join(document["lines"]) + "\n" == CART_DOCUMENTED, result.context()
    assert result["files"].get("cart.py") == CART_DOCUMENTED, result.context()
    assert model_server.stats()["requests"]["responses"] == {DEEP: 1}
    assert result["errors"] == [], result.context()


def test_generate_tests_creates_the_test_file(nvim_run, model_server, workspace: Path):
    model_server.reset(scenarios=True)
    model_server.load([deep("cart-tests", ["Create the new test file tests/test_cart.py"], output="Added tests.",
                            patches=[CART_TESTS_PATCH])])
    result = nvim_run(
        files={"cart.py": CART}, open="cart.py", settings=nvim_settings(model_server.base_url),
        steps=[
            {"op": "apply", "name": "tests", "line": 4, "col": 8, "title": "Generate tests for total"},
            {"op": "write_all"},
        ],
    )
    tests = result.step("tests")
    assert [r["method"] for r in tests["requests"]] == ["textDocument/codeAction", "codeAction/resolve"], result.context()
    assert all("error" not in r for r in tests["requests"]), result.context()
    assert "\n".join(tests["lines"]) + "\n" == CART, result.context()  # cart.py untouched
    # Neovim created tests/test_cart.py (CreateFile) and filled a buffer for it; :wall saved it.
    # (Neovim 0.11 announces workspaceEdit.resourceOperations {rename, create, delete} but not
    # documentChanges, which it nevertheless applies; and it holds a new, empty file as one
    # empty line, which an insertion at 0:0 ending in a newline leaves at the end.)
    test_file = str(workspace / "tests" / "test_cart.py")
    buffers = {b["name"]: b for b in result["buffers"]}
    assert test_file in buffers, result.context()
    assert buffers[test_file]["text"] == CART_TESTS, (
        f"the new test file's buffer differs from the model's file{result.context()}")
    assert result["files"].get("tests/test_cart.py") == CART_TESTS, result.context()
    assert result["errors"] == [], result.context()


# -- 3. Explain: a server command, the answer shown with window/showDocument ------------------------
EXPLANATION = "total adds up the price of every item and returns the sum."


def test_explain_opens_the_explanation_in_a_buffer(nvim_run, model_server, tmp_path: Path):
    model_server.reset(scenarios=True)
    model_server.load([deep("cart-explain", ["Explain function total"], output=EXPLANATION)])
    result = nvim_run(
        files={"cart.py": CART}, open="cart.py", settings=nvim_settings(model_server.base_url),
        steps=[{"op": "apply", "name": "explain", "line": 3, "col": 8, "title": "Explain total",
                "wait_for": "show_document"}],
    )
    step = result.step("explain")
    methods = [r["method"] for r in step["requests"]]
    assert "workspace/executeCommand" in methods, f"Explain ran no server command{result.context()}"
    assert all("error" not in r for r in step["requests"]), result.context()
    assert not by_level(result, "notify", WARN) and not by_level(result, "notify", ERROR), result.context()
    # the server asked Neovim to show a Markdown file under $XDG_CACHE_HOME/sparkforge/
    cache = tmp_path / "home" / "cache" / "sparkforge"
    assert len(result["show_documents"]) == 1, result.context()
    shown = result["show_documents"][0]
    uri = shown["params"]["uri"]
    assert uri.startswith(cache.as_uri() + "/") and uri.endswith(".md"), result.context()
    assert shown["answer"] == {"success": True}, result.context()
    path = unquote(uri.removeprefix("file://"))
    buffers = {b["name"]: b for b in result["buffers"]}
    assert path in buffers and buffers[path]["displayed"], result.context()  # open in a window
    assert buffers[path]["filetype"] == "markdown", result.context()
    assert EXPLANATION in buffers[path]["text"], result.context()
    assert EXPLANATION in result["cache_files"].get(path, ""), result.context()
    assert "\n".join(step["lines"]) + "\n" == CART, result.context()  # the code is untouched


# -- 5. the model server is down ------------------------------------------------------------------
def test_document_when_the_model_server_is_down(nvim_run, model_server_factory):
    gone = model_server_factory()
    base_url = gone.base_url
    gone.close()  # nothing listens there any more
    result = nvim_run(
        files={"cart.py": CART}, open="cart.py", settings=nvim_settings(base_url),
        steps=[
            {"op": "apply", "name": "document", "line": 3, "col": 8, "title": "Document total"},
            {"op": "actions", "name": "menu-after", "line": 3, "col": 8},
        ],
    )
    document = result.step("document")
    assert "\n".join(document["lines"]) + "\n" == CART, result.context()  # nothing applied
    resolve = [r for r in document["requests"] if r["method"] == "codeAction/resolve"]
    assert len(resolve) == 1 and resolve[0]["error"]["code"] == -32803, result.context()  # RequestFailed
    # what the user sees: Neovim's error notification with the server's message
    shown = by_level(result, "notify", ERROR)
    assert len(shown) == 1, result.context()
    message = shown[0]
    assert message.startswith(f"-32803: sparkforge: Document with {DEEP} failed, nothing was applied"), result.context()
    assert "cannot reach" in message and base_url in message, result.context()
    # the client is still attached and the server still answers
    assert result["attached"] is True, result.context()
    titles = [a["title"] for a in result.step("menu-after")["offered"] or []]
    assert "Document total with sparkforge" in titles, result.context()
    assert result["errors"] == [], result.context()
