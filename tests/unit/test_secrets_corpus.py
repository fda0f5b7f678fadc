"""The secrets corpus: how much of what should be redacted is, and how much that should not be is.

Positives are in ``tests/data/secrets/positive/``, written by hand: one case a line (or, in
``private_keys.txt``, cases separated by lines of ``%%``), every secret between ⟦ and ⟧; the
values are fake, random characters in the shape of each kind of key. A case counts as
redacted when none of its secrets is left in the redacted text. Negatives are every line of
``tests/data/secrets/negative/`` (UUIDs, lock-file hashes, git SHAs, base64 test data, code
and placeholders under keyword names) and of a set of standard-library modules, read from
this interpreter's own library: a line counts as a false positive when redaction changes it.
"""

from __future__ import annotations

import re
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparkforge.privacy import redact, redact_reversibly, unredact

DATA = Path(__file__).resolve().parents[1] / "data" / "secrets"
SECRET = re.compile(r"⟦(.*?)⟧", re.S)

# Modules that talk about passwords, tokens, keys and hashes, and a spread of ordinary code.
STDLIB_MODULES = (
    "smtplib.py", "ftplib.py", "imaplib.py", "poplib.py", "getpass.py", "netrc.py", "hmac.py",
    "secrets.py", "hashlib.py", "base64.py", "uuid.py", "ssl.py", "tokenize.py", "token.py",
    "configparser.py", "argparse.py", "shlex.py", "string.py", "textwrap.py", "difflib.py",
    "subprocess.py", "os.py", "pathlib.py", "typing.py", "dataclasses.py", "functools.py",
    "zipfile.py", "tarfile.py", "csv.py", "datetime.py", "random.py", "ipaddress.py", "socket.py",
    "json/__init__.py", "json/decoder.py", "json/encoder.py", "http/client.py", "http/cookiejar.py",
    "http/cookies.py", "http/server.py", "urllib/request.py", "urllib/parse.py", "email/utils.py",
    "email/_header_value_parser.py", "email/message.py", "logging/__init__.py", "logging/config.py",
    "logging/handlers.py", "xmlrpc/client.py", "collections/__init__.py", "asyncio/base_events.py",
    "sqlite3/__init__.py", "mimetypes.py", "platform.py", "pydoc.py",
)

# The seven forms the probe in issue #9 saw reach the model in full.
ISSUE_FORMS = {
    "shell export": ("export AWS_SECRET_ACCESS_KEY=Jq7vT0bXw2nE5kR8zP1sL4mY9cA6dF3gH0uI2oWx", "Jq7vT0bXw2nE5kR8zP1sL4mY9cA6dF3gH0uI2oWx"),
    "Dockerfile ENV": ("ENV DB_PASSWORD=Quartz-7419xkQ", "Quartz-7419xkQ"),
    "YAML unquoted": ("  password: hunter2-like-9Zq", "hunter2-like-9Zq"),
    "database URL": ('DATABASE_URL = "postgresql://shop:Maple.2291bv@db.internal:5432/shop"', "Maple.2291bv"),
    "sk_live_ under a neutral name": ('charge_with = "sk_live_51Hq8ZrTgX4vN1kP7mW2yL9cB6dF0"', "51Hq8ZrTgX4vN1kP7mW2yL9cB6dF0"),
    "environment default": ('token = os.environ.get("X", "Cinder_8842TmzW")', "Cinder_8842TmzW"),
    "pasted under a neutral name": ('value = "q8Zr3vN1xK7pL2mW9tY4bC6dF0gH5jS8"', "q8Zr3vN1xK7pL2mW9tY4bC6dF0gH5jS8"),
}


@dataclass
class Case:
    where: str
    text: str
    secrets: list[str]


def positives() -> list[Case]:
    cases: list[Case] = []
    for path in sorted((DATA / "positive").glob("*.txt")):
        content = path.read_text(encoding="utf-8")
        if path.name == "private_keys.txt":
            chunks = [(f"{path.name} case {i}", c.strip("\n")) for i, c in enumerate(content.split("\n%%\n")[1:], 1)]
        else:
            chunks = [(f"{path.name}:{n}", line) for n, line in enumerate(content.split("\n"), 1)
                      if line.strip() and not line.startswith("#")]
        for where, chunk in chunks:
            secrets = SECRET.findall(chunk)
            assert secrets, f"{where} names no secret"
            cases.append(Case(where, SECRET.sub(lambda m: m.group(1), chunk), secrets))
    return cases


def leaked(case: Case, redacted: str) -> list[str]:
    """The parts of the case's secrets still in ``redacted`` (a multi-line key: any of its lines)."""
    parts = [p.strip() for s in case.secrets for p in s.split("\n")]
    return [p for p in parts if p and p in redacted]


def negative_lines() -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for path in sorted((DATA / "negative").glob("*.txt")):
        lines.extend((f"{path.name}:{n}", line) for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1)
                     if line.strip() and not line.startswith("#"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in STDLIB_MODULES:
        text = (stdlib / name).read_text(encoding="utf-8")
        lines.extend((f"{name}:{n}", line) for n, line in enumerate(text.split("\n"), 1) if line.strip())
    return lines


@pytest.mark.parametrize("form", list(ISSUE_FORMS))
def test_the_forms_from_the_issue_are_redacted(form):
    line, secret = ISSUE_FORMS[form]
    out = redact(line)
    assert secret not in out, out
    assert "[REDACTED-1]" in out


def test_the_forms_from_the_issue_are_in_the_corpus():
    corpus = "\n".join(c.text for c in positives())
    shapes = [
        r"^export AWS_SECRET_ACCESS_KEY=\S", r"^ENV DB_PASSWORD=\S", r"^\s*password: [^\"'\s]",
        r"postgres(?:ql)?://\w+:[^@\s]+@", r"^value = \"sk_live_",
        r"os\.environ\.get\(\"X\", \"", r"^value = \"[A-Za-z0-9]{32}\"$",
    ]
    for shape in shapes:
        assert re.search(shape, corpus, re.M), shape


def test_recall_and_false_positive_rate():
    cases = positives()
    assert len(cases) >= 150
    missed = []
    for case in cases:
        if left := leaked(case, redact(case.text)):
            missed.append(f"{case.where}: {left[0][:40]}")
    negatives = negative_lines()
    altered = [f"{where}: {line.strip()[:100]}" for where, line in negatives if redact(line) != line]
    recall = 1 - len(missed) / len(cases)
    fp_rate = len(altered) / len(negatives)
    print(
        f"\nsecrets corpus: recall {recall:.1%} ({len(cases) - len(missed)} of {len(cases)} cases redacted); "
        f"false positives {fp_rate:.2%} ({len(altered)} of {len(negatives)} negative lines altered)"
    )
    for line in missed:
        print("  missed", line)
    for line in altered:
        print("  altered", line)
    assert recall >= 0.98, missed
    assert fp_rate <= 0.005, altered


def test_every_secret_comes_back():
    """Redaction never loses text: the pairs restore each case exactly."""
    for case in positives():
        redacted, pairs = redact_reversibly(case.text)
        assert unredact(redacted, pairs) == case.text, case.where
