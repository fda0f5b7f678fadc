"""Token counting loads offline from packaged data and refuses a corrupted file."""

import os
import subprocess
import sys

import pytest

from sparkforge.models import tokens


def test_counts_and_truncates():
    text = "def total(items):\n    return sum(i.price for i in items)  # 😀\n"
    n = tokens.count_tokens(text)
    assert 10 < n < 40
    assert tokens.count_tokens(tokens.truncate_head(text, 5)) <= 5
    assert text.startswith(tokens.truncate_head(text, 5))
    assert text.endswith(tokens.truncate_tail(text, 5))
    assert tokens.truncate_head(text, 1000) == text
    assert tokens.truncate_head(text, 0) == ""
    assert "".join(tokens.split_tokens(text)) == text


def test_special_token_text_is_ordinary_text():
    assert tokens.count_tokens("<|endoftext|>") > 1


def test_loads_with_empty_cache_and_no_network(tmp_path):
    # A child process with an empty TIKTOKEN_CACHE_DIR and every proxy pointing nowhere:
    # any attempt to download would fail, so success proves the data came from the package.
    env = dict(os.environ)
    env.update(
        TIKTOKEN_CACHE_DIR=str(tmp_path / "cache"),
        DATA_GYM_CACHE_DIR=str(tmp_path / "cache2"),
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
    )
    code = (
        "import socket\n"
        "def deny(*a, **k): raise OSError('network disabled in this test')\n"
        "socket.socket.connect = deny\n"
        "socket.create_connection = deny\n"
        "from sparkforge.models.tokens import count_tokens\n"
        "print(count_tokens('hello world'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
    assert not any((tmp_path / "cache").glob("*"))


def test_corrupted_file_is_refused(tmp_path):
    good = tokens.default_data_path().read_bytes()
    bad = tmp_path / "o200k_base.tiktoken"
    bad.write_bytes(good[:-10] + b"AAAAAAAAAA")
    with pytest.raises(tokens.TokenizerDataError, match="corrupted"):
        tokens.load_encoding(bad)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(tokens.TokenizerDataError, match="reinstall"):
        tokens.load_encoding(tmp_path / "nope.tiktoken")


def test_shipped_file_is_the_verified_one():
    import hashlib

    data = tokens.default_data_path().read_bytes()
    # the sha256 tiktoken publishes for o200k_base (tiktoken_ext/openai_public.py)
    published = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
    assert hashlib.sha256(data).hexdigest() == published == tokens.O200K_SHA256
