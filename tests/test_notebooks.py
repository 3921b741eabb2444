"""Every notebook in notebooks/ runs top to bottom (with small settings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(path, as_version=4)
    # Notebooks read BAYES_DOSE_FAST to use few trials / draws in CI; the kernel inherits
    # this process's environment, which monkeypatch restores after the test.
    monkeypatch.setenv("BAYES_DOSE_FAST", "1")
    # The kernel must import this checkout's package, not an installed copy elsewhere.
    src = str(Path(__file__).resolve().parents[1] / "src")
    if src not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
        )
    # allow_errors: every cell runs and its errors are collected, so the assertion below
    # reports them all (without it nbclient raises at the first error cell).
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    client.execute()
    errors = [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, c in enumerate(nb.cells) if c.cell_type == "code"
        for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]  # fmt: skip
    assert not errors, f"{path.name}: " + "; ".join(errors)
