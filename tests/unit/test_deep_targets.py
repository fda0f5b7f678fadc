"""What an action works on: the selection, else the function or class around the cursor,
found by indentation and braces in any language (CRLF and emoji included)."""

from __future__ import annotations


import pytest

from sparkforge.deep.targets import (
    IndexLines,
    Target,
    enclosing_scope,
    find_definition,
    target_at,
    whole_lines,
)
from sparkforge.textpos import LineIndex

PY = '''import os


@cache
def total(items):
    """Sum."""
    result = 0

    for item in items:
        result += item.price
    return result


class Cart:
    tax = 0.2

    def add(
        self,
        item,
    ) -> None:
        self.items.append(item)

    def clear(self): self.items = []


value = total([])
'''


def span(t: Target | None) -> tuple[str, str | None, int, int] | None:
    return None if t is None else (t.kind, t.name, t.start_line, t.end_line)


@pytest.mark.parametrize(
    "line, expected",
    [
        (0, None),  # import
        (3, ("function", "total", 3, 10)),  # on the decorator
        (4, ("function", "total", 3, 10)),
        (7, ("function", "total", 3, 10)),  # a blank line inside the body
        (10, ("function", "total", 3, 10)),
        (11, None),  # after the function
        (14, ("class", "Cart", 13, 22)),  # a class attribute
        (17, ("function", "add", 16, 20)),  # a parameter of a black-style signature
        (19, ("function", "add", 16, 20)),  # `) -> None:` at the def's indentation
        (20, ("function", "add", 16, 20)),
        (22, ("function", "clear", 22, 22)),  # a one-line def
        (25, None),
    ],
)
def test_python_definitions(line, expected):
    assert span(find_definition(PY.split("\n"), line, "python")) == expected


def test_target_end_is_the_end_of_the_last_line():
    t = find_definition(PY.split("\n"), 5, "python")
    assert (t.start_char, t.end_char) == (0, len("    return result"))


TS = """import { x } from "y";

export function add(a: number, b = {}): number {
  return a + b;
}

class Cart extends Base {
  async total(items: Item[]): Promise<number> {
    if (items.length) {
      return 1;
    }
    items.forEach((i) => {
      log(i);
    });
    return 0;
  }
}

const mul = (a, b) => {
  return a * b;
};
"""


@pytest.mark.parametrize(
    "line, expected",
    [
        (0, None),
        (3, ("function", "add", 2, 4)),
        (6, ("class", "Cart", 6, 16)),
        (9, ("function", "total", 7, 15)),  # inside an `if`: not a definition
        (12, ("function", "total", 7, 15)),  # inside a callback passed to a call
        (19, ("function", "mul", 18, 20)),
    ],
)
def test_brace_languages(line, expected):
    assert span(find_definition(TS.split("\n"), line, "typescript")) == expected


def test_go_rust_and_ruby():
    go = "package main\n\nfunc (s *Server) Handle(w int) error {\n\tif w > 0 {\n\t\treturn nil\n\t}\n\treturn nil\n}\n"
    assert span(find_definition(go.split("\n"), 4, "go")) == ("function", "Handle", 2, 7)
    rust = "impl Cart {\n    pub fn total(&self) -> u32 {\n        self.items.iter().sum()\n    }\n}\n"
    assert span(find_definition(rust.split("\n"), 2, "rust")) == ("function", "total", 1, 3)
    assert span(find_definition(rust.split("\n"), 4, "rust")) == ("class", "Cart", 0, 4)
    ruby = "class A\n  def foo(x)\n    x + 1\n  end\nend\n"
    assert span(find_definition(ruby.split("\n"), 2, "ruby")) == ("function", "foo", 1, 3)


def test_a_selection_wins_over_the_enclosing_definition():
    lines = PY.split("\n")
    t = target_at(lines, (8, 4), (9, 28), "python")
    assert t.kind == "selection" and t.text(lines) == "for item in items:\n        result += item.price"
    # a selection of whitespace only is no selection
    assert target_at(lines, (7, 0), (7, 0), "python").name == "total"
    assert target_at(lines, (11, 0), (12, 0), "python") is None


def test_enclosing_scope_of_a_method_and_of_a_selection():
    lines = PY.split("\n")
    add = find_definition(lines, 20, "python")
    assert span(enclosing_scope(lines, add, "python")) == ("class", "Cart", 13, 22)
    sel = target_at(lines, (9, 8), (9, 14), "python")
    assert span(enclosing_scope(lines, sel, "python")) == ("function", "total", 3, 10)
    assert enclosing_scope(lines, find_definition(lines, 5, "python"), "python") is None


def test_crlf_and_emoji_through_a_line_index():
    text = 'def greet(name):\r\n    banner = "🎉🎉 " + name\r\n    return banner\r\n\r\nx = 1\r\n'
    lines = IndexLines(LineIndex.of(text))
    t = find_definition(lines, 1, "python")
    assert span(t) == ("function", "greet", 0, 2)
    assert t.end_char == len("    return banner")  # no \r
    assert t.text(lines, "\n") == 'def greet(name):\n    banner = "🎉🎉 " + name\n    return banner'
    sel = target_at(lines, (1, 14), (1, 16), "python")  # the two emoji, as str indices
    assert sel.text(lines) == "🎉🎉"
    assert whole_lines(Target("selection", 1, 0, 3, 0), lines) == (1, 2)


def test_definitions_found_anywhere_in_a_large_file():
    # (how long it takes is bench/bench_actions.py's business, not a test's)
    body = "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n\n" for i in range(2000))
    lines = IndexLines(LineIndex.of(body + "value = 1\n"))
    assert [find_definition(lines, line, "python").name for line in (1, 5001, 9996)] == ["f0", "f1000", "f1999"]
    assert find_definition(lines, 9996, "python").name == "f1999"
