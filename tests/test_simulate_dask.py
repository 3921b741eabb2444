"""Dask distributed backend: identical numbers to the serial run; checkpoints resume."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd

distributed = pytest.importorskip("dask.distributed")
sim_mod = importlib.import_module("bayes_dose.simulate")

CURVE5 = [0.05, 0.15, 0.3, 0.45, 0.6]
DESIGNS = {"3+3": bd.ThreePlusThree(5), "AT": bd.ThreePlusThree(5, titration_levels=3)}
SCEN = {"ref": CURVE5, "toxic": [0.25, 0.35, 0.5, 0.65, 0.8]}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_dask_equals_serial(client, tmp_path, monkeypatch) -> None:
    kw = dict(scenarios=SCEN, n_trials=150, seed=3, progress=False)
    serial = bd.simulate(DESIGNS, **kw)
    dask = bd.simulate(DESIGNS, backend="dask", client=client, chunk_size=40,
                       checkpoint_dir=tmp_path, **kw)  # fmt: skip
    dask.attrs = serial.attrs
    xr.testing.assert_identical(serial, dask)
    assert len(list(tmp_path.glob("chunk-*.nc"))) == 2 * 2 * 4

    files = sorted(tmp_path.glob("chunk-*.nc"))
    mtimes = {f: f.stat().st_mtime_ns for f in files}

    def boom(*args, **kwargs):  # runs on the worker: any call fails the simulation
        raise RuntimeError("a checkpointed chunk was recomputed")

    monkeypatch.setattr(sim_mod, "run_chunk", boom)
    resumed = bd.simulate(DESIGNS, backend="dask", client=client, chunk_size=40,
                          checkpoint_dir=tmp_path, **kw)  # fmt: skip
    resumed.attrs = serial.attrs
    xr.testing.assert_identical(serial, resumed)
    assert {f: f.stat().st_mtime_ns for f in files} == mtimes
    monkeypatch.undo()
    # a removed chunk is recomputed, and only that one
    victim = files[0]
    victim.unlink()
    again = bd.simulate(DESIGNS, backend="dask", client=client, chunk_size=40,
                        checkpoint_dir=tmp_path, **kw)  # fmt: skip
    assert victim.exists()
    assert {f: f.stat().st_mtime_ns for f in files[1:]} == {f: mtimes[f] for f in files[1:]}
    again.attrs = serial.attrs
    xr.testing.assert_identical(serial, again)


def test_dask_default_local_cluster() -> None:
    serial = bd.simulate(DESIGNS, CURVE5, n_trials=60, seed=8, progress=False)
    dask = bd.simulate(DESIGNS, CURVE5, n_trials=60, seed=8, progress=False, backend="dask",
                       n_jobs=2)  # fmt: skip
    assert np.array_equal(serial.patient_dlt.to_numpy(), dask.patient_dlt.to_numpy())
    assert np.array_equal(serial.selected.to_numpy(), dask.selected.to_numpy())
