"""The import layers in .importlinter hold, and `lint-imports` would catch a breach.

The breach tests run the real contract (a copy of .importlinter, unchanged) over a tiny fake tree
with the same package names, written to a temporary folder that lint-imports reads instead of
this checkout: one module per layer named in the contract, then one import that breaks it.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(config)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contract_modules() -> list[str]:
    """Every root package and every module the layers contract names."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    roots = parser["importlinter"]["root_packages"].split()
    layers = parser["importlinter:contract:layers"]["layers"].splitlines()
    names = [n.strip(" ()") for line in layers for n in re.split(r"[|:]", line) if n.strip()]
    return roots + names


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    """A package per contract module (``portal.qa`` -> portal/qa/__init__.py) and nothing else."""
    for module in _contract_modules():
        package = tmp_path.joinpath(*module.split("."))
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
    (tmp_path / ".importlinter").write_text(CONFIG.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path


def test_this_checkout_keeps_the_layers():
    result = _lint(ROOT, CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_the_fake_tree_alone_keeps_them(fake_tree):
    # The control: the contract applies to the fake tree as it is, so a failure below is the
    # import that test adds.
    result = _lint(fake_tree, fake_tree / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("portal.core.health", "portal.knowledge.indexing"),  # core up to a domain app
        ("portal.qa.backends", "portal.finetune.selectors"),  # qa up to fine-tuning
        ("portal.knowledge.benchmarks", "portal.evaluation.metrics"),  # domain up to evaluation
        ("ingestion.embedding", "portal.core.jobs"),  # a plain package up into Django
    ],
)
def test_an_upward_import_breaks_the_lint(fake_tree, importer, imported):
    _plant(fake_tree, importer, imported)
    result = _lint(fake_tree, fake_tree / ".importlinter")
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and f"{importer} -> {imported}" in result.stdout


def test_an_indirect_upward_import_breaks_it_too(fake_tree):
    # core -> accounts is allowed, accounts -> qa is not: the chain is reported.
    _plant(fake_tree, "portal.core.access", "portal.accounts.roles")
    _plant(fake_tree, "portal.accounts.roles", "portal.qa.models")
    result = _lint(fake_tree, fake_tree / ".importlinter")
    assert result.returncode != 0 and "portal.accounts.roles -> portal.qa.models" in result.stdout


def test_peers_in_one_layer_stay_independent(fake_tree):
    _plant(fake_tree, "portal.review.services", "portal.drafting.services")
    result = _lint(fake_tree, fake_tree / ".importlinter")
    assert result.returncode != 0, result.stdout
    assert "portal.review.services -> portal.drafting.services" in result.stdout


def _plant(tree: Path, importer: str, imported: str) -> None:
    for module in (importer, imported):
        path = tree.joinpath(*module.split(".")).with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text("", encoding="utf-8")
    path = tree.joinpath(*importer.split(".")).with_suffix(".py")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"import {imported}\n")
