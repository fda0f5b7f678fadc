"""``ActionRun`` without an editor: the real gateway against the local model server, plans
computed against the snapshots the prompt saw, failures as actionable ActionErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkforge.config import Settings
from sparkforge.deep.flow import ActionError, ActionRequest, ActionRun, Workspace
from sparkforge.deep.targets import find_definition
from sparkforge.edits import SourceText
from sparkforge.models.gateway import ModelGateway
from sparkforge.privacy import ExclusionPolicy

DEEP = "gpt-5.3-codex"
SECRET = "sk-proj-Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz"
APP = f'API_KEY = "{SECRET}"\n\n\ndef connect():\n    return client(API_KEY)\n'


@pytest.fixture
def settings(model_server) -> Settings:
    model_server.reset(scenarios=True)
    s = Settings()
    for role in (s.fast, s.deep):
        role.base_url, role.max_retries = model_server.base_url, 0
    return s


def run_for(settings: Settings, root: Path, kind: str, text: str = APP, version: int = 3) -> ActionRun:
    policy = ExclusionPolicy(root, [])
    ws = Workspace(root, {"app.py": SourceText(text, version)}, lambda rel: policy.reason(root / rel))
    target = find_definition(text.split("\n"), 4, "python")
    return ActionRun(ModelGateway(settings), settings, ActionRequest(kind, "app.py", "python", target), ws)


def scenario(patches: list[dict] | None = None, output: str = "") -> dict:
    return {"name": "s", "model": DEEP, "output": output, "patches": patches or [], "ttft_ms": 1, "tokens_per_s": 20000}


async def test_the_plan_is_against_the_snapshot_and_secrets_come_back(settings, model_server, tmp_path: Path):
    (tmp_path / "app.py").write_text("something else on disk\n")  # the open document wins
    patch = {"type": "update_file", "path": "app.py", "diff":
             '@@\n API_KEY = "sk-proj-[REDACTED-1]"\n+TIMEOUT = 5\n'}
    model_server.load([scenario([patch], "Added a timeout.")])
    result = await run_for(settings, tmp_path, "refactor").run()
    assert SECRET not in model_server.requests()[-1]["prompt"]
    (edit,) = result.plan.files
    assert edit.base_version == 3
    assert edit.new_text == APP.replace(f'"{SECRET}"\n', f'"{SECRET}"\nTIMEOUT = 5\n')
    assert result.sources["app.py"] == SourceText(APP, 3)
    assert result.text == "Added a timeout." and result.role == "deep" and result.model == DEEP


async def test_a_patch_that_would_replace_a_secret_with_a_marker_is_refused(settings, model_server, tmp_path: Path):
    # the model garbled the marker's number: [REDACTED-2] stands for nothing it was shown
    patch = {"type": "update_file", "path": "app.py", "diff":
             '@@\n-API_KEY = "sk-proj-[REDACTED-1]"\n+API_KEY = "sk-proj-[REDACTED-2]"\n'}
    model_server.load([scenario([patch], "Renamed.")])
    with pytest.raises(ActionError, match=r"writes \[REDACTED-2\], a redacted secret sparkforge cannot put back into app.py; nothing was applied"):
        await run_for(settings, tmp_path, "refactor").run()


async def test_an_answer_without_a_patch_is_an_error(settings, model_server, tmp_path: Path):
    model_server.load([scenario(output="I would rename the function.")])
    with pytest.raises(ActionError, match='answered without an edit \\("I would rename the function."\\); nothing was applied'):
        await run_for(settings, tmp_path, "refactor").run()


async def test_a_patch_to_an_excluded_file_is_refused(settings, model_server, tmp_path: Path):
    (tmp_path / ".env").write_text("DEBUG=1\n")
    model_server.load([scenario([{"type": "update_file", "path": ".env", "diff": "@@\n-DEBUG=1\n+DEBUG=0\n"}])])
    with pytest.raises(ActionError, match=r"refused: the patch edits \.env, and \.env looks like a secrets file"):
        await run_for(settings, tmp_path, "fix").run()


async def test_explain_returns_the_answer_and_no_plan(settings, model_server, tmp_path: Path):
    model_server.load([scenario(output="It connects with the key.")])
    result = await run_for(settings, tmp_path, "explain").run()
    assert result.plan is None and result.text == "It connects with the key."
    assert "tools" not in model_server.requests()[-1]["body"]


async def test_routing_and_a_down_model(settings, model_server, tmp_path: Path):
    settings.actions.routing = {"refactor": "fast"}
    run = run_for(settings, tmp_path, "refactor")
    assert (run.role, run.model, run.title) == ("fast", "gpt-5.3-codex-spark", "sparkforge: Refactor with gpt-5.3-codex-spark")
    model_server.load([{"name": "down", "model": "gpt-5.3-codex-spark", "fault": {"kind": "500"}}])
    with pytest.raises(ActionError) as err:
        await run.run()
    assert "Refactor with gpt-5.3-codex-spark failed" in err.value.message
    assert f'route this action to the deep model ({DEEP}): sparkforge.actions.routing = {{"refactor": "deep"}}' in err.value.message
