"""UTF-16 positions <-> str offsets, strictly, with emoji, surrogate pairs and CRLF."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparkforge.textpos import LineIndex, PositionError, utf16_len


def test_emoji_line():
    idx = LineIndex.of('x = "😋"\nnext\n')
    assert idx.offset(0, 5) == 5  # after the opening quote
    assert idx.offset(0, 7) == 6  # after the emoji: two UTF-16 units, one str index
    assert idx.position(6) == (0, 7)
    with pytest.raises(PositionError, match="surrogate pair"):
        idx.offset(0, 6)
    with pytest.raises(PositionError, match="past the end of the line"):
        idx.offset(0, 9)


def test_crlf_and_past_end():
    idx = LineIndex.of("ab\r\ncd\r\n")
    assert idx.line(0) == "ab"
    assert idx.offset(1, 2) == 6
    assert idx.line_count == 3
    with pytest.raises(PositionError, match="past the end of the line"):
        idx.offset(0, 3)  # the \r is not a column
    with pytest.raises(PositionError, match="past the end of the document"):
        idx.offset(7, 0)
    with pytest.raises(PositionError, match="negative"):
        idx.offset(-1, 0)


@given(st.text(alphabet=st.sampled_from(list("ab \n\r😀é\t")), max_size=40))
def test_round_trip(text):
    idx = LineIndex.of(text)
    for offset in range(len(text) + 1):
        line, char = idx.position(offset)
        if text[idx.starts[line] : offset].endswith("\r") and offset < len(text) and text[offset] == "\n":
            continue  # between \r and \n is not a position a client can name
        assert idx.offset(line, char) == offset
        assert char == utf16_len(text[idx.starts[line] : offset])


# A line ending in a surrogate pair (🍕), after a euro sign and CJK; then a CRLF line.
MIXED = "€ 価格 🍕\r\nx\n"


@pytest.mark.parametrize(
    ("encoding", "end", "inside"),
    [
        # counted by hand: € 3 bytes, 価 and 格 3 each, 🍕 4; spaces 1 each
        ("utf-8", 3 + 1 + 3 + 3 + 1 + 4, 2),
        # 🍕 is a surrogate pair: two units
        ("utf-16", 1 + 1 + 2 + 1 + 2, 6),
        ("utf-32", 1 + 1 + 2 + 1 + 1, None),
    ],
)
def test_each_encoding_at_the_end_of_a_non_ascii_line(encoding, end, inside):
    idx = LineIndex.of(MIXED, encoding)
    assert idx.offset(0, end) == len("€ 価格 🍕")
    assert idx.position(len("€ 価格 🍕")) == (0, end)
    assert idx.to_lsp(0, len("€ 価格 🍕")) == (0, end)
    with pytest.raises(PositionError, match="past the end of the line"):
        idx.offset(0, end + 1)  # the \r is not a column in any encoding
    if inside is not None:
        with pytest.raises(PositionError, match="inside"):
            idx.offset(0, inside)
    assert idx.offset(1, 1) == len(MIXED) - 1


def test_utf8_columns_of_cjk_and_the_euro_sign():
    idx = LineIndex.of("a€b価c", "utf-8")
    assert [idx.offset(0, c) for c in (0, 1, 4, 5, 8, 9)] == [0, 1, 2, 3, 4, 5]
    assert [idx.position(o)[1] for o in range(6)] == [0, 1, 4, 5, 8, 9]


@given(st.text(alphabet=st.sampled_from(list("ab \n😀é€価\t")), max_size=40),
       st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_round_trip_in_every_encoding(text, encoding):
    idx = LineIndex.of(text, encoding)
    codec, width = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}[encoding]
    for offset in range(len(text) + 1):
        line, char = idx.position(offset)
        assert idx.offset(line, char) == offset
        assert char == len(text[idx.starts[line]:offset].encode(codec)) // width
