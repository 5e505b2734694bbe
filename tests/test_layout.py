"""Product code never imports the test suite: a deployment without ``tests/`` must still run everything.

Each product package (and the benchmarks, which a deployment runs too) is read with ``ast``, not imported,
so an import inside a function or behind a flag counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["agent", "crm", "dealership", "knowledge", "operations", "scheduling", "voice", "standins"]
OPTIONAL_PACKAGES = ["reminders"]  # checked when present
SCRIPTS = ["bench"]  # not a package, but run by deployments (the voice benchmarks use the stand-ins)
TEST_PACKAGE = "tests"


def _checked_folders() -> list[str]:
    return PACKAGES + [name for name in OPTIONAL_PACKAGES if (ROOT / name).is_dir()] + SCRIPTS


def _python_files(folder: str) -> list[Path]:
    return sorted(path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


def _names_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def imports_of_tests(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    return imports_of(TEST_PACKAGE, source, filename)


def imports_of(package: str, source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """(line, what) for every import of ``package`` or ``package.*`` in the source.

    Covers ``import tests...``, ``from tests... import ...``, ``from tests import ...`` and
    ``importlib.import_module("tests...")`` / ``__import__("tests...")`` with a literal name. Relative
    imports stay inside their own package, so they cannot reach ``tests`` from product code.
    """
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {alias.name}") for alias in node.names
                      if _names_package(alias.name, package)]  # fmt: skip
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _names_package(node.module, package):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (name in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str) and _names_package(first.value, package)):  # fmt: skip
                found.append((node.lineno, f"{name}({first.value!r})"))
    return found


def _offences(folders: list[str], package: str = TEST_PACKAGE) -> list[str]:
    offences = []
    for folder in folders:
        for path in _python_files(folder):
            for line, what in imports_of(package, path.read_text(encoding="utf-8"), str(path)):
                offences.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    return offences


def test_every_product_package_is_there():
    missing = [name for name in PACKAGES + SCRIPTS if not _python_files(name)]
    assert not missing, f"no Python files in {missing}: update PACKAGES in this test"


def test_product_code_never_imports_tests():
    offences = _offences(_checked_folders())
    assert not offences, "product code imports the test suite:\n" + "\n".join(offences)


def test_standins_import_nothing_from_tests():
    """The stand-ins moved out of tests/ so that product code can use them; they must not reach back."""
    assert _python_files("standins")
    offences = _offences(["standins"])
    assert not offences, "standins imports the test suite:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        "import tests",
        "import tests.standins.fixtures as f",
        "import os, tests.locks",
        "from tests import standins",
        "from tests.standins.fixtures import fake_openai",
        "def f():\n    from tests.locks import TableLock\n",
        "import importlib\nimportlib.import_module('tests.voice')",
        "__import__('tests')",
    ],
)
def test_each_way_of_importing_tests_is_caught(source):
    assert imports_of_tests(source)


@pytest.mark.parametrize(
    "source",
    [
        "import standins",
        "from standins import FakeOpenAI",
        "from . import tests",
        "from .tests import x",
        "import testsuite",
        "from tests_helpers import x",
        "import_module(name)",
    ],
)
def test_lookalikes_are_not_caught(source):
    assert not imports_of_tests(source)


@pytest.mark.parametrize("package, importers", [
    ("reminders", ["agent", "crm", "dealership", "knowledge", "scheduling", "voice"]),  # nothing imports reminders
    ("voice", ["agent", "crm", "knowledge", "scheduling"]),  # the agent knows nothing of phones
    # Operations (server processes, health, metrics, logs) is infrastructure every app may use: it uses none.
    *[(app, ["operations"]) for app in ("agent", "crm", "knowledge", "reminders", "scheduling", "voice")],
])  # fmt: skip
def test_dependencies_point_one_way(package, importers):
    offences = _offences(importers, package)
    assert not offences, f"{package} is imported where it must not be:\n" + "\n".join(offences)
