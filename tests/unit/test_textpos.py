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
