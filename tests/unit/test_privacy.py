"""Exclusions and redaction shared by every feature."""


from sparkforge.privacy import REDACTED, ExclusionPolicy, redact


def test_env_like_files_are_excluded_by_default(tmp_path):
    policy = ExclusionPolicy(tmp_path)
    for name in (".env", "app/.env.local", "deploy/prod.env", ".envrc", "keys/server.pem", ".git/config"):
        assert policy.excluded(tmp_path / name), name
    for name in ("app/main.py", "environment.py", "src/envelope.ts"):
        assert not policy.excluded(tmp_path / name), name


def test_globs_and_ignore_file(tmp_path):
    (tmp_path / ".sparkforgeignore").write_text("# private\nvendor/\n*.generated.ts\n")
    policy = ExclusionPolicy(tmp_path, ["secret/**"])
    assert "sparkforge.exclude" in policy.reason(tmp_path / "secret" / "a.py")
    assert ".sparkforgeignore" in policy.reason(tmp_path / "vendor" / "lib" / "x.py")
    assert ".sparkforgeignore" in policy.reason(tmp_path / "ui" / "api.generated.ts")
    assert policy.reason(tmp_path / "src" / "a.py") is None


def test_redaction_keeps_the_shape_and_hides_the_secret():
    text = (
        'OPENAI_API_KEY = "sk-proj-Abcdefghijklmnopqrstuvwxyz012345"\n'
        "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"
        'aws = "AKIAABCDEFGHIJKLMNOP"\n'
        'password = "hunter2hunter2"\n'
        "def total(items): return sum(items)\n"
    )
    out = redact(text)
    assert "Abcdefghijklmnop" not in out
    assert "ghp_abcdefghij" not in out
    assert "AKIAABCDEFGHIJKLMNOP" not in out
    assert "hunter2hunter2" not in out
    assert out.count(REDACTED) == 4
    assert "def total(items): return sum(items)" in out


def test_plain_code_is_untouched():
    code = "for key, value in items.items():\n    print(key)\n"
    assert redact(code) == code
