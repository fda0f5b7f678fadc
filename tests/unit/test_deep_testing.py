"""Where "Generate tests" writes, and in which framework, judged from the project itself."""

from __future__ import annotations

from pathlib import Path

from sparkforge.deep.testing import is_test_file, find_test_layout


def disk(root: Path):
    def read(rel: str) -> str | None:
        p = root / rel
        return p.read_text() if p.is_file() else None

    return read


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_pytest_with_a_tests_folder_and_conftest(tmp_path: Path):
    root = write(tmp_path, {"shop/cart.py": "", "tests/conftest.py": "import pytest\n"})
    layout = find_test_layout(root, "shop/cart.py", "python", disk(root))
    assert (layout.framework, layout.path, layout.exists) == ("pytest", "tests/test_cart.py", False)
    assert layout.conftest == "tests/conftest.py"
    assert "from shop.cart import" in layout.import_hint


def test_an_existing_test_file_is_extended_and_its_framework_kept(tmp_path: Path):
    root = write(tmp_path, {
        "src/shop/cart.py": "",
        "tests/test_cart.py": "import unittest\n\nclass T(unittest.TestCase):\n    pass\n",
    })
    layout = find_test_layout(root, "src/shop/cart.py", "python", disk(root))
    assert (layout.framework, layout.path, layout.exists) == ("unittest", "tests/test_cart.py", True)
    assert "from shop.cart import" in layout.import_hint  # src/ layout: not part of the module name
    assert "unittest.TestCase" in layout.convention


def test_unittest_style_is_copied_from_another_test(tmp_path: Path):
    root = write(tmp_path, {
        "cart.py": "",
        "test/test_other.py": "from unittest import TestCase\n",
    })
    layout = find_test_layout(root, "cart.py", "python", disk(root))
    assert (layout.framework, layout.path, layout.example) == ("unittest", "test/test_cart.py", "test/test_other.py")


def test_a_bare_project_gets_pytest_under_tests(tmp_path: Path):
    root = write(tmp_path, {"cart.py": ""})
    layout = find_test_layout(root, "cart.py", "python", disk(root))
    assert (layout.framework, layout.path, layout.exists) == ("pytest", "tests/test_cart.py", False)


def test_javascript_frameworks_from_package_json(tmp_path: Path):
    root = write(tmp_path, {
        "web/package.json": '{"devDependencies": {"vitest": "^2"}}',
        "web/src/cart.ts": "",
        "api/package.json": '{"scripts": {"test": "jest"}}',
        "api/lib/__tests__/x.test.js": "",
        "api/lib/cart.js": "",
    })
    web = find_test_layout(root, "web/src/cart.ts", "typescript", disk(root))
    assert (web.framework, web.path) == ("vitest", "web/src/cart.test.ts")
    api = find_test_layout(root, "api/lib/cart.js", "javascript", disk(root))
    assert (api.framework, api.path) == ("jest", "api/lib/__tests__/cart.test.js")


def test_go_and_rust(tmp_path: Path):
    root = write(tmp_path, {"pkg/cart.go": "", "pkg/cart_test.go": "package pkg\n", "src/cart.rs": ""})
    go = find_test_layout(root, "pkg/cart.go", "go", disk(root))
    assert (go.framework, go.path, go.exists) == ("go test", "pkg/cart_test.go", True)
    rust = find_test_layout(root, "src/cart.rs", "rust", disk(root))
    assert (rust.framework, rust.path) == ("cargo test", "src/cart.rs")


def test_test_files_are_recognised():
    for rel in ("tests/test_cart.py", "cart_test.go", "src/cart.test.ts", "a/__tests__/b.js", "x.spec.jsx"):
        assert is_test_file(rel), rel
    for rel in ("cart.py", "testing.py", "src/contest.ts"):
        assert not is_test_file(rel), rel
