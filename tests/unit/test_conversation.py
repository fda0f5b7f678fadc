"""Chat conversations and fast-apply merging, without LSP."""

from sparkforge.conversation import Conversation, Turn, merge_problem, merged_text

ORIGINAL = "import math\n\n\ndef area(r):\n    return 3.14 * r * r\n"
MERGED = ORIGINAL.replace("3.14 * r * r", "math.pi * r ** 2")
BLOCK = "def area(r):\n    return math.pi * r ** 2\n"


def test_a_chatty_first_line_and_a_fence_are_not_part_of_the_file():
    answer = "Here is the updated file:\n```python\n" + MERGED + "```\n"
    assert merged_text(answer, ORIGINAL) == MERGED
    # a file whose own first line ends with a colon keeps it
    own = "class A:\n    pass\n"
    assert merged_text(own, own) == own


def test_crlf_files_stay_crlf():
    original = ORIGINAL.replace("\n", "\r\n")
    assert merged_text(MERGED, original) == MERGED.replace("\n", "\r\n")


def test_garbage_merges_are_refused():
    assert merge_problem(ORIGINAL, BLOCK, MERGED) is None
    assert "empty" in merge_problem(ORIGINAL, BLOCK, "  \n")
    assert "placeholder" in merge_problem(ORIGINAL, BLOCK, "# ... existing code ...\n" + BLOCK)
    assert "not in it" in merge_problem(ORIGINAL, BLOCK, "import math\n")
    apology = "\n".join(f"Sorry, I cannot do that ({i})." for i in range(12))
    assert merge_problem(ORIGINAL, BLOCK, apology + "\n" + BLOCK) is not None


def test_history_keeps_the_newest_turns_within_budget():
    conv = Conversation("c", [Turn("user", "word " * 400), Turn("assistant", "ok"), Turn("user", "next?")])
    assert [m["content"] for m in conv.messages(max_tokens=50)] == ["ok", "next?"]
    assert len(conv.messages(max_tokens=10_000)) == 3
