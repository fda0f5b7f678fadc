"""Where a project keeps its tests, and in which framework, for "Generate tests".

Python: pytest or unittest, decided by the project's own signals (conftest.py, pytest
configuration, what existing tests import); tests go to ``tests/test_<module>.py`` (or the
``test/`` folder, or beside the module when that is the project's habit). JavaScript and
TypeScript: jest or vitest by package.json; ``<name>.test.<ext>`` beside the file, or in a
``__tests__`` folder when there is one. Go: ``<name>_test.go`` beside the file, same package.
Rust: a ``#[cfg(test)] mod tests`` in the file itself. An existing test file for the module is
always extended rather than replaced.

Only cheap filesystem checks (a few ``exists`` and small reads): this runs on resolve.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ReadText = Callable[[str], "str | None"]

_JS_LANGS = {"javascript", "typescript", "javascriptreact", "typescriptreact"}
_JS_EXTS = {".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts"}


@dataclass(frozen=True, slots=True)
class TestLayout:
    """Where the tests for one module go, and how they are written."""

    __test__ = False  # not a pytest class

    framework: str  # "pytest" | "unittest" | "jest" | "vitest" | "go test" | "cargo test" | ""
    path: str  # workspace-relative posix path of the test file
    exists: bool
    convention: str  # one or two sentences for the prompt
    import_hint: str = ""
    conftest: str | None = None  # a conftest.py worth showing (pytest fixtures)
    example: str | None = None  # another test file of the project, for its style


def is_test_file(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return bool(
        re.match(r"^test_.*\.py$", name)
        or re.match(r"^.*_test\.(py|go)$", name)
        or re.search(r"\.(test|spec)\.[cm]?[jt]sx?$", name)
        or "__tests__" in PurePosixPath(rel).parts
    )


def find_test_layout(root: Path, rel: str, language: str, read: ReadText) -> TestLayout:
    """The test file for module ``rel`` (workspace-relative), existing or to be created."""
    p = PurePosixPath(rel)
    suffix = p.suffix
    if language == "python" or suffix == ".py":
        return _python(root, p, read)
    if language in _JS_LANGS or suffix in _JS_EXTS:
        return _javascript(root, p, read)
    if language == "go" or suffix == ".go":
        path = str(p.with_name(f"{p.stem}_test.go"))
        return TestLayout(
            "go test", path, _exists(root, path, read),
            "Go tests: `func TestXxx(t *testing.T)` in the same package, table-driven where it "
            "fits, using only the standard library's testing package unless the file already "
            "imports something else.",
        )
    if language == "rust" or suffix == ".rs":
        return TestLayout(
            "cargo test", rel, True,
            "Rust unit tests: a `#[cfg(test)] mod tests { use super::*; ... }` module at the end "
            "of this same file (extend it if it exists), `#[test]` functions with assert_eq!.",
        )
    name = f"test_{p.stem}{suffix}" if suffix else f"test_{p.name}"
    folder = "tests" if (root / "tests").is_dir() or not (root / "test").is_dir() else "test"
    path = f"{folder}/{name}"
    return TestLayout(
        "", path, _exists(root, path, read),
        "Use the test framework and conventions this project already uses for "
        f"{language or 'this language'}.",
    )


def _exists(root: Path, rel: str, read: ReadText) -> bool:
    return read(rel) is not None or (root / rel).is_file()


def _python(root: Path, p: PurePosixPath, read: ReadText) -> TestLayout:
    stem = p.stem
    parts = list(p.parent.parts)
    module_parts = parts[1:] if parts[:1] == ["src"] else parts
    dotted = ".".join([*module_parts, stem]) if stem != "__init__" else ".".join(module_parts)
    folder = next((f for f in ("tests", "test") if (root / f).is_dir()), None)
    sub = "/".join(module_parts[1:])  # tests/<subpackage>/ mirrors, when the project does
    candidates = []
    for f in ("tests", "test"):
        if sub:
            candidates.append(f"{f}/{sub}/test_{stem}.py")
        candidates.append(f"{f}/test_{stem}.py")
    here = str(p.parent) if str(p.parent) != "." else ""
    prefix = f"{here}/" if here else ""
    candidates += [f"{prefix}test_{stem}.py", f"{prefix}tests/test_{stem}.py", f"{prefix}{stem}_test.py"]
    existing = next((c for c in candidates if _exists(root, c, read)), None)
    if existing is not None:
        path = existing
    elif folder is not None and sub and (root / folder / sub).is_dir():
        path = f"{folder}/{sub}/test_{stem}.py"
    else:
        path = f"{folder or 'tests'}/test_{stem}.py"
    conftest = next(
        (c for c in (f"{PurePosixPath(path).parent}/conftest.py", "conftest.py") if _exists(root, c, read)),
        None,
    )
    example = None if existing else _example_test(root, PurePosixPath(path).parent, read)
    framework = _python_framework(root, read, existing, example, conftest)
    if framework == "unittest":
        convention = (
            "unittest: a `unittest.TestCase` subclass with `test_*` methods and self.assert* "
            "calls; `if __name__ == \"__main__\": unittest.main()` at the end of a new file."
        )
    else:
        convention = (
            "pytest: plain `def test_*()` functions with bare `assert`, `pytest.raises` for "
            "errors, `@pytest.mark.parametrize` for tables; use fixtures from conftest.py "
            "when they fit."
        )
    hint = f"import the code under test from `{dotted}` (e.g. `from {dotted} import ...`)" if dotted else ""
    return TestLayout(
        framework, path, existing is not None, convention, hint, conftest, example
    )


def _python_framework(
    root: Path, read: ReadText, existing: str | None, example: str | None, conftest: str | None
) -> str:
    for rel in (existing, example):
        if rel is None:
            continue
        text = read(rel) or ""
        if "import pytest" in text or "from pytest" in text:
            return "pytest"
        if re.search(r"unittest\.TestCase|from unittest import TestCase", text):
            return "unittest"
    if conftest is not None:
        return "pytest"
    for config in ("pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini"):
        text = read(config) or ""
        if config == "pytest.ini" and text or re.search(r"\[tool[.:]pytest|\[pytest\]|\bpytest\b", text):
            return "pytest"
    return "pytest"  # the common default; unittest only on evidence


def _example_test(root: Path, folder: PurePosixPath, read: ReadText) -> str | None:
    """Another test file in the tests folder (its style is worth copying)."""
    directory = root / folder
    if not directory.is_dir():
        return None
    try:
        names = sorted(
            n.name for n in directory.iterdir() if n.is_file() and re.match(r"^test_.*\.py$", n.name)
        )
    except OSError:
        return None
    return f"{folder}/{names[0]}" if names else None


def _javascript(root: Path, p: PurePosixPath, read: ReadText) -> TestLayout:
    framework = _js_framework(root, p, read)
    ext = p.suffix
    stem = p.stem
    beside = str(p.with_name(f"{stem}.test{ext}"))
    spec = str(p.with_name(f"{stem}.spec{ext}"))
    in_tests_dir = str(p.parent / "__tests__" / f"{stem}.test{ext}")
    candidates = [beside, spec, in_tests_dir]
    existing = next((c for c in candidates if _exists(root, c, read)), None)
    if existing is not None:
        path = existing
    elif (root / str(p.parent) / "__tests__").is_dir():
        path = in_tests_dir
    else:
        path = beside
    name = framework or "the project's test runner"
    imports = "import { describe, it, expect } from \"vitest\"; " if framework == "vitest" else ""
    convention = (
        f"{name}: `describe`/`it` blocks with `expect(...)` matchers; {imports}import the "
        f"module under test with a relative path."
    )
    rel_import = "./" + (stem if path != in_tests_dir else f"../{stem}")
    return TestLayout(framework, path, existing is not None, convention, f"import it from `{rel_import}`")


def _js_framework(root: Path, p: PurePosixPath, read: ReadText) -> str:
    # The nearest package.json above the file decides.
    folder = p.parent
    while True:
        rel = f"{folder}/package.json" if str(folder) != "." else "package.json"
        text = read(rel)
        if text:
            try:
                pkg = json.loads(text)
            except ValueError:
                pkg = {}
            deps = {**(pkg.get("dependencies") or {}), **(pkg.get("devDependencies") or {})}
            script = str((pkg.get("scripts") or {}).get("test", ""))
            if "vitest" in deps or "vitest" in script:
                return "vitest"
            if "jest" in deps or "ts-jest" in deps or "jest" in script:
                return "jest"
            return ""
        if str(folder) == ".":
            return ""
        folder = folder.parent
