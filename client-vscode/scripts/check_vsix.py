#!/usr/bin/env python3
"""Checks a platform .vsix built with bundled Python libraries (a .vsix is a zip).

    python3 scripts/check_vsix.py dist/sparkforge-linux-x64.vsix --target linux-x64 [--smoke]

It must carry the extension, the sparkforge package, the compiled modules of tiktoken and
pydantic_core for each bundled CPython version, and no __pycache__ or test tools. With
--smoke, on a machine of the same platform, each CPython 3.10-3.13 found here (pythonX.Y on
PATH, or pyenv's) imports the server from the extracted bundle alone (``-S``: no site-packages).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

LIBS = "extension/bundled/libs/"
COMPILED = ["tiktoken/_tiktoken", "pydantic_core/_pydantic_core"]
TEST_ONLY = ["pytest", "_pytest", "pytest_lsp", "pytest_asyncio", "hypothesis", "importlinter", "grimp", "pip", "setuptools"]
HOST_TARGETS = {("Linux", "x86_64"): "linux-x64", ("Linux", "aarch64"): "linux-arm64",
                ("Darwin", "x86_64"): "darwin-x64", ("Darwin", "arm64"): "darwin-arm64", ("Windows", "AMD64"): "win32-x64"}
SMOKE = """
import sys, tiktoken, aiohttp, pydantic_core, openai, pygls, lsprotocol, unidiff
import sparkforge.app, sparkforge.cli
assert tiktoken.__file__.startswith(sys.argv[1]), tiktoken.__file__
print(sys.version.split()[0], "imports the server from the bundle")
"""


def check(vsix: Path, target: str) -> list[str]:
    problems: list[str] = []
    with zipfile.ZipFile(vsix) as z:
        names = z.namelist()
        for required in ["extension/package.json", "extension/dist/extension.js", f"{LIBS}sparkforge/__init__.py",
                         f"{LIBS}sparkforge/__main__.py", "extension/bundled/manifest.json"]:
            if required not in names:
                problems.append(f"missing {required}")
        if problems:
            return problems
        manifest = json.loads(z.read("extension/bundled/manifest.json"))
        vsixmanifest = z.read("extension.vsixmanifest").decode()
    if manifest["target"] != target:
        problems.append(f"bundled/ was built for {manifest['target']}, not {target}")
    if f'TargetPlatform="{target}"' not in vsixmanifest:
        problems.append(f"extension.vsixmanifest does not say TargetPlatform={target} (vsce --target)")
    for version in manifest["python"]:
        tag = version.replace(".", "")
        for module in COMPILED:
            # _tiktoken.cpython-311-x86_64-linux-gnu.so, _tiktoken.cpython-311-darwin.so, _tiktoken.cp311-win_amd64.pyd
            pattern = re.compile(re.escape(LIBS + module) + rf"\.(cpython-{tag}-|cp{tag}-)[^/]*\.(so|pyd)$")
            if not any(pattern.match(n) for n in names):
                problems.append(f"no {module} compiled for CPython {version}")
    for n in names:
        if "/__pycache__/" in n or n.endswith((".pyc", ".pyo")):
            problems.append(f"compiled bytecode shipped: {n}")
            break
    # vsce refuses .env files unless told (--allow-package-env-file): the only one allowed is
    # the demo's fixture, which shows that .env never reaches a model.
    for n in names:
        if (n.endswith("/.env") or "/.env." in n) and n != f"{LIBS}sparkforge/data/demo/project/.env":
            problems.append(f".env file shipped: {n}")
    for pkg in TEST_ONLY:
        if any(n.startswith(f"{LIBS}{pkg}/") for n in names):
            problems.append(f"test-only package shipped: {pkg}")
    return problems


def interpreter(version: str) -> str | None:
    found = shutil.which(f"python{version}")
    if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:  # not a dangling pyenv shim
        return found
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    return candidates[-1] if candidates else None


def smoke(vsix: Path, target: str) -> list[str]:
    if HOST_TARGETS.get((platform.system(), platform.machine())) != target:
        print(f"smoke test skipped: this machine is not {target}")
        return []
    problems = []
    with tempfile.TemporaryDirectory(prefix="sparkforge-vsix-") as tmp:
        with zipfile.ZipFile(vsix) as z:
            z.extractall(tmp, [n for n in z.namelist() if n.startswith("extension/bundled/")])
            manifest = json.loads(z.read("extension/bundled/manifest.json"))
        libs = os.path.join(tmp, *LIBS.split("/"))
        for version in manifest["python"]:
            python = interpreter(version)
            if python is None:
                print(f"smoke test: no CPython {version} here, skipped")
                continue
            env = {**os.environ, "PYTHONPATH": libs, "PYTHONDONTWRITEBYTECODE": "1"}
            done = subprocess.run([python, "-S", "-c", SMOKE, libs], env=env, capture_output=True, text=True)
            if done.returncode:
                problems.append(f"CPython {version} ({python}) cannot import the server from the bundle:\n{done.stderr}")
            else:
                print(f"smoke test: {done.stdout.strip()} ({python})")
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("vsix", type=Path)
    p.add_argument("--target", default="linux-x64")
    p.add_argument("--smoke", action="store_true", help="import the server with each local CPython from the bundle")
    args = p.parse_args()
    problems = check(args.vsix, args.target)
    if not problems and args.smoke:
        problems = smoke(args.vsix, args.target)
    if problems:
        print(f"{args.vsix}: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"{args.vsix}: ok ({args.vsix.stat().st_size / 1e6:.1f} MB, {args.target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
