"""Shared pytest set-up: --run-slow, PyTensor flags, reference numbers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# PyTensor reads its flags on import: link LAPACK/BLAS explicitly (avoids the BLAS warning
# of MvNormal models) unless the user set flags of their own.
os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=-llapack -lblas")

ROOT = Path(__file__).resolve().parents[1]


#: A copy of shared/refs/references.json kept with the tests (test_reference_copy checks
#: that it still equals the shared file whenever that file is beside the project).
REFS = ROOT / "tests" / "reference_data" / "references.json"


def shared_refs() -> Path | None:
    """shared/refs/references.json beside the project, if present."""
    for base in ROOT.parents:
        cand = base / "shared" / "refs" / "references.json"
        if cand.exists():
            return cand
    return None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def refs() -> dict:
    """Reference numbers from established implementations (shared/refs/references.json)."""
    return json.loads(REFS.read_text())
