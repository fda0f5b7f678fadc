"""The agent's read-only tools and the workspace they see: paths confined to the root,
excluded and ignored files left out, outputs capped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sparkforge.agent.tools import AgentWorkspace, Args, ToolError, list_files, read_file, search
from sparkforge.edits import SourceText
from sparkforge.privacy import ExclusionPolicy


@pytest.fixture
def ws(tmp_path: Path) -> AgentWorkspace:
    root = tmp_path / "project"
    files = {
        "cart.py": "def total(items):\n    return sum(i.price for i in items)\n",
        "src/app/main.py": "from cart import total\nprint(total([]))\n",
        "src/app/notes.txt": "def total is documented here\n",
        ".env": "API_KEY=sk-live-1234567890abcdef\n",
        "private/plans.md": "def total(secret plan)\n",
        "build/out.py": "def total(): pass\n",
        "logs/run.log": "def total\n",
        "logs/keep.log": "def total kept\n",
        ".git/config": "def total in git\n",
        ".gitignore": "build/\n*.log\n!keep.log\n",
        ".sparkforgeignore": "private/\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (tmp_path / "outside.py").write_text("def total(): outside\n")
    os.symlink(tmp_path / "outside.py", root / "link.py")
    return AgentWorkspace(root, ExclusionPolicy(root))


def call(tool, ws, **args):
    return tool(ws, Args(tool.__name__, args))


@pytest.mark.parametrize("path", ["../outside.py", "/etc/passwd", "src/../../outside.py", "link.py", "C:/x.py"])
def test_paths_outside_the_workspace_are_refused(ws, path):
    with pytest.raises(ToolError, match="outside the workspace"):
        call(read_file, ws, path=path)


@pytest.mark.parametrize("path, why", [(".env", "secrets file"), ("private/plans.md", ".sparkforgeignore"),
                                       (".git/config", "inside .git")])
def test_excluded_files_are_refused(ws, path, why):
    with pytest.raises(ToolError, match=why) as err:
        call(read_file, ws, path=path)
    assert err.value.message.startswith("refused: ")


def test_an_absolute_path_inside_the_workspace_is_read_relative(ws):
    out = call(read_file, ws, path=str(ws.root / "cart.py"))
    assert out.text == (
        "cart.py, lines 1-2 of 2:\n"
        "     1\tdef total(items):\n"
        "     2\t    return sum(i.price for i in items)"
    )
    assert out.title == "Reading `cart.py` 1-2"


def test_read_file_ranges_and_caps(ws):
    (ws.root / "long.py").write_text("".join(f"line {n}\n" for n in range(1, 1001)))
    out = call(read_file, ws, path="long.py", start_line=3, end_line=4)
    assert out.text == "long.py, lines 3-4 of 1000:\n     3\tline 3\n     4\tline 4"
    capped = call(read_file, ws, path="long.py")
    lines = capped.text.splitlines()
    assert lines[0] == "long.py, lines 1-400 of 1000:"
    assert lines[-1] == "(cut at 400 lines; read on with start_line 401)"
    with pytest.raises(ToolError, match="1000 lines; start_line 2000 is past its end"):
        call(read_file, ws, path="long.py", start_line=2000)
    with pytest.raises(ToolError, match="no such file"):
        call(read_file, ws, path="missing.py")
    with pytest.raises(ToolError, match="start_line must be an integer of at least 1"):
        call(read_file, ws, path="long.py", start_line=0)
    (ws.root / "wide.txt").write_text(("y" * 1000 + "\n") * 100)
    wide = call(read_file, ws, path="wide.txt")
    assert len(wide.text.encode()) <= 32 * 1024 + 200
    assert wide.text.splitlines()[-1].startswith("(cut at 32 lines; read on with start_line 33)")


def test_the_editor_buffer_wins_over_the_disk(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "a.py").write_text("on disk\n")
    ws = AgentWorkspace(root, ExclusionPolicy(root), open_text=lambda rel: SourceText("in the editor\n", 4) if rel == "a.py" else None)
    assert call(read_file, ws, path="a.py").text.endswith("\tin the editor")


def test_list_files_skips_ignored_excluded_and_git(ws):
    out = call(list_files, ws)
    assert out.text.splitlines() == [
        ".gitignore", ".sparkforgeignore", "cart.py", "logs/keep.log", "src/app/main.py", "src/app/notes.txt",
    ]  # link.py leads out of the workspace; .env, private/, build/, *.log (but keep.log) are left out
    assert call(list_files, ws, path="src", glob="*.py").text == "src/app/main.py"
    with pytest.raises(ToolError, match="outside the workspace"):
        call(list_files, ws, path="..")
    with pytest.raises(ToolError, match="refused: private"):
        call(list_files, ws, path="private")


def test_list_files_is_capped(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    for n in range(510):
        (root / f"f{n:03}.txt").write_text("x")
    out = call(list_files, AgentWorkspace(root, ExclusionPolicy(root)))
    lines = out.text.splitlines()
    assert len(lines) == 501
    assert lines[-1] == "(10 more not shown: narrow the path or the glob)"


def test_search_honours_ignores_and_exclusions(ws):
    out = call(search, ws, pattern=r"def total")
    assert out.text.splitlines() == [
        "cart.py:1: def total(items):",
        "logs/keep.log:1: def total kept",
        "src/app/notes.txt:1: def total is documented here",
    ]
    assert out.title == "Searching `def total`"
    assert out.detail == "3 matches in 3 files"
    assert call(search, ws, pattern="total", glob="*.py", path="src").text == "src/app/main.py:1: from cart import total\nsrc/app/main.py:2: print(total([]))"
    assert call(search, ws, pattern="nothing like this").text == "no matches"
    with pytest.raises(ToolError, match="not a valid regular expression"):
        call(search, ws, pattern="def (")


def test_search_is_capped(tmp_path):
    root = tmp_path / "big"
    root.mkdir()
    (root / "a.txt").write_text("hit\n" * 150)
    out = call(search, AgentWorkspace(root, ExclusionPolicy(root)), pattern="hit")
    lines = out.text.splitlines()
    assert len(lines) == 101 and lines[99] == "a.txt:100: hit"
    assert lines[-1] == "(50 more matches not shown: narrow the pattern, the path or the glob)"


def test_bad_arguments_are_tool_errors(ws):
    with pytest.raises(ToolError, match="path is missing"):
        call(read_file, ws)
    with pytest.raises(ToolError, match="path must be a string"):
        call(read_file, ws, path=3)
    with pytest.raises(ToolError, match="must be a JSON object"):
        read_file(ws, Args("read_file", ["cart.py"]))
