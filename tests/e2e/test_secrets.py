"""Secrets end to end: what the local model server received from the real server process.

The seven forms issue #9 saw reach the model in full (a shell ``export``, a Dockerfile
``ENV``, an unquoted YAML password, a database URL, an ``sk_live_`` key under a neutral name,
an environment lookup's default, and a key pasted under a neutral name, which then travels
in the edit history) go through ghost text, next edits, the edit history and chat; and a
suggestion or a chat apply over a redacted line keeps the secret.
"""

from __future__ import annotations

import re

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from lsphelp import Doc, inline_params, request
from samples import rewrite
from sparkforge.textpos import LineIndex

AWS_SECRET = "Jq7vT0bXw2nE5kR8zP1sL4mY9cA6dF3gH0uI2oWx"
DB_PASSWORD = "Quartz-7419xkQ"
YAML_PASSWORD = "hunter2-like-9Zq"
URL_PASSWORD = "Maple.2291bv"
STRIPE = "51Hq8ZrTgX4vN1kP7mW2yL9cB6dF0"
ENV_DEFAULT = "Cinder_8842TmzW"
PASTED = "q8Zr3vN1xK7pL2mW9tY4bC6dF0gH5jS8"
SEVEN = (AWS_SECRET, DB_PASSWORD, YAML_PASSWORD, URL_PASSWORD, STRIPE, ENV_DEFAULT, PASTED)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture
def client(shared_client: LanguageClient) -> LanguageClient:
    """One server for the module (tests/e2e/conftest.py): no test here changes its settings."""
    return shared_client


@pytest.fixture
def workspace(module_workspace):
    return module_workspace


SETTINGS = (
    "import os\n\n"
    f'DATABASE_URL = "postgresql://shop:{URL_PASSWORD}@db.internal:5432/shop"\n'
    f'charge_with = "sk_live_{STRIPE}"\n'
    f'token = os.environ.get("X", "{ENV_DEFAULT}")\n'
    "value = \n"
)


def leaks(prompt: str) -> list[str]:
    return [s for s in SEVEN if s in prompt]


def apply_text_edits(text: str, edits: list[dict]) -> str:
    """Apply LSP text edits (plain JSON, UTF-16 positions; ASCII here) to ``text``."""
    index = LineIndex.of(text)
    spans = sorted(
        ((index.offset(e["range"]["start"]["line"], e["range"]["start"]["character"]),
          index.offset(e["range"]["end"]["line"], e["range"]["end"]["character"]), e["newText"]) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


async def test_the_seven_forms_reach_no_prompt_nor_the_edit_history(client: LanguageClient, workspace, model_server):
    model_server.load([rewrite("any", [], "x = 1\n")])
    docs = [
        Doc(client, workspace / "deploy.sh", f"#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={AWS_SECRET}\naws s3 ls\n", "shellscript"),
        Doc(client, workspace / "Dockerfile", f"FROM python:3.12\nENV DB_PASSWORD={DB_PASSWORD}\nRUN pip install app\n", "dockerfile"),
        Doc(client, workspace / "config.yaml", f"db:\n  user: shop\n  password: {YAML_PASSWORD}\n", "yaml"),
        Doc(client, workspace / "settings.py", SETTINGS),
    ]
    for doc in docs:
        last = doc.text.rstrip("\n").count("\n")
        await client.text_document_inline_completion_async(inline_params(doc.uri, last, 0))
    # a key pasted under a neutral name: in the file, then in the next prompt's edit history
    settings = docs[3]
    pos = settings.position_after("value = ")
    settings.type(pos, f'"{PASTED}"')
    await client.text_document_inline_completion_async(inline_params(settings.uri, 0, 0))
    config = docs[2]
    await client.text_document_inline_completion_async(inline_params(config.uri, 0, 0))

    prompts = [r["prompt"] for r in model_server.requests()]
    assert len(prompts) == 6
    assert [leaks(p) for p in prompts] == [[]] * 6
    # each form was in a prompt, as its marker
    everything = "\n".join(prompts)
    for shown in ("export AWS_SECRET_ACCESS_KEY=[REDACTED-", "ENV DB_PASSWORD=[REDACTED-", "password: [REDACTED-",
                  "postgresql://shop:[REDACTED-", '"sk_live_[REDACTED-', 'os.environ.get("X", "[REDACTED-',
                  'value = "[REDACTED-'):
        assert shown in everything, shown
    # the paste travelled in the edit history of the prompts after it, redacted
    for prompt in prompts[4:]:
        history = prompt.split("## Recent edits", 1)[1].split("## ", 1)[0]
        assert '+value = "[REDACTED-' in history


async def test_chat_context_message_and_history_are_redacted(client: LanguageClient, workspace, model_server):
    model_server.load([{"name": "answer", "input_contains": ["Where is the key used?"], "output": "In charge_with."}])
    doc = Doc(client, workspace / "settings.py", SETTINGS.replace("value = \n", f'value = "{PASTED}"\n'))
    history = [
        {"role": "user", "text": f"My Dockerfile has ENV DB_PASSWORD={DB_PASSWORD}, is that safe?"},
        {"role": "assistant", "text": "No: pass it at run time.", "model": "gpt-5.3-codex"},
    ]
    await request(client, "sparkforge/chat", {
        "conversationId": "s1", "role": "fast", "history": history,
        "message": f"Where is the key used? And export AWS_SECRET_ACCESS_KEY={AWS_SECRET} in deploy.sh?\n  password: {YAML_PASSWORD}",
        "context": {"uri": doc.uri, "includeFile": True},
    })
    prompt = model_server.requests()[-1]["prompt"]
    assert "Where is the key used?" in prompt and "charge_with" in prompt  # the message and the file went
    assert leaks(prompt) == []
    assert "ENV DB_PASSWORD=[REDACTED-" in prompt and '"sk_live_[REDACTED-' in prompt


REGION = (
    'DATABASE_URL = "postgresql://shop:[REDACTED-1]@db.internal:5432/shop"\n'
    'charge_with = "sk_live_[REDACTED-2]"\n'
    'token = os.environ.get("X", "[REDACTED-3]")\n'
)


async def test_a_suggestion_over_redacted_lines_keeps_the_secrets(client: LanguageClient, workspace, model_server):
    # The model renames `token` and completes `value`, copying the markers of the lines around.
    model_server.load([rewrite(
        "rename", ['value = <|user_cursor_is_here|>'],
        REGION.replace("token =", "stripe_token =") + "value = 3\n",
    )])
    doc = Doc(client, workspace / "settings.py", SETTINGS)
    pos = doc.position_after("value = ")
    result = await request(client, "sparkforge/nextEdit", {"textDocument": {"uri": doc.uri}, "position": {"line": pos.line, "character": pos.character}})
    prompt = model_server.requests()[-1]["prompt"]
    assert leaks(prompt) == [] and REGION in prompt
    # the rename is a next edit that keeps the key; the completion at the cursor is ghost text
    assert apply_text_edits(doc.text, result["edits"]) == SETTINGS.replace("token =", "stripe_token =")
    ghost = await client.text_document_inline_completion_async(inline_params(doc.uri, pos.line, pos.character))
    items = ghost.items if isinstance(ghost, types.InlineCompletionList) else ghost
    assert [i.insert_text for i in items] == ["3"]


async def test_apply_from_chat_puts_the_files_secret_back(client: LanguageClient, workspace, model_server):
    billing = f'STRIPE_KEY = "sk_live_{STRIPE}"\n\n\ndef charge(amount):\n    return stripe.charge(amount, key=STRIPE_KEY)\n'
    doc = Doc(client, workspace / "billing.py", billing)
    model_server.load([{"name": "chat", "input_contains": ["Add a currency"], "output": "Here it is."}])
    await request(client, "sparkforge/chat", {"conversationId": "s2", "role": "fast", "message": "Add a currency",
                                              "context": {"uri": doc.uri, "includeFile": True}})
    marker = re.search(r'sk_live_(\[REDACTED-\d+\])', model_server.requests()[-1]["prompt"]).group(1)
    # the code block of the answer, as the model wrote it (with chat's marker), applied by the client
    block = (f'```python\nSTRIPE_KEY = "sk_live_{marker}"\n\n\ndef charge(amount, currency="eur"):\n'
             '    return stripe.charge(amount, currency=currency, key=STRIPE_KEY)\n```')
    merged = billing.replace("def charge(amount):", 'def charge(amount, currency="eur"):').replace(
        "charge(amount, key=", "charge(amount, currency=currency, key=")
    model_server.load([{"name": "apply", "model": "gpt-5.3-codex-spark", "input_contains": ["merge a code change", 'currency="eur"'],
                        "output": merged.replace(STRIPE, "[REDACTED-1]")}])
    result = await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": block, "version": doc.version})
    assert STRIPE not in model_server.requests()[-1]["prompt"]
    assert 'STRIPE_KEY = "sk_live_[REDACTED-1]"' in model_server.requests()[-1]["prompt"]
    assert apply_text_edits(doc.text, result["edit"]["documentChanges"][0]["edits"]) == merged


async def test_apply_refuses_a_marker_it_cannot_put_back(client: LanguageClient, workspace, model_server):
    doc = Doc(client, workspace / "billing.py", 'STRIPE_KEY = ""\n')
    diff = '--- a/billing.py\n+++ b/billing.py\n@@ -1,1 +1,1 @@\n-STRIPE_KEY = ""\n+STRIPE_KEY = "sk_live_[REDACTED-7]"\n'
    with pytest.raises(JsonRpcException, match=r"holds \[REDACTED-7\], a secret that sparkforge cannot put back into billing.py; nothing was applied"):
        await request(client, "sparkforge/chatApply", {"uri": doc.uri, "code": diff, "version": doc.version})
    assert model_server.stats()["requests_total"] == 0
