"""The small project most deep-path tests work on, and the model answers they share."""

DEEP = "gpt-5.3-codex"
FAST = "gpt-5.3-codex-spark"

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
