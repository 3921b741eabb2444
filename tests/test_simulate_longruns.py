"""Long runs that cannot lie: verified checkpoints, orphan temporary files, full or
read-only disks, atomic stores, the CLI's --checkpoint; and simulate's input errors."""

from __future__ import annotations

import errno
import importlib
import os
import subprocess
import warnings

import h5netcdf
import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.sim_io import CheckpointWarning

sim_mod = importlib.import_module("bayes_dose.simulate")
io_mod = importlib.import_module("bayes_dose.sim_io")
CURVE5 = [0.05, 0.15, 0.3, 0.45, 0.6]
DESIGNS = {"3+3": bd.ThreePlusThree(5), "AT": bd.ThreePlusThree(5, titration_levels=3)}


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    b = b.copy()
    b.attrs = a.attrs
    xr.testing.assert_identical(a, b)


@pytest.fixture
def run(tmp_path):
    """A checkpointed run (2 designs x 3 chunks) and a function repeating it."""
    kw = dict(n_trials=120, seed=4, chunk_size=50, progress=False, checkpoint_dir=tmp_path)
    first = bd.simulate(DESIGNS, CURVE5, **kw)

    def again(**extra):
        return bd.simulate(DESIGNS, CURVE5, **{**kw, **extra})

    return first, again, tmp_path


def _files(folder):
    return sorted(folder.glob("chunk-*.nc"))


def _counting(monkeypatch) -> list:
    calls: list = []
    real = sim_mod.run_chunk

    def counted(*args, **kwargs):
        calls.append(args[3:5])
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_mod, "run_chunk", counted)
    return calls


# ----------------------------------------------------------------------------- tampering
def test_swapped_chunk_files_are_detected_and_recomputed(run, monkeypatch) -> None:
    first, again, folder = run
    a, b = _files(folder)[:2]
    tmp = a.with_suffix(".swap")
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)
    calls = _counting(monkeypatch)
    with pytest.warns(CheckpointWarning, match="swapped or renamed") as rec:
        second = again()
    assert len([w for w in rec if issubclass(w.category, CheckpointWarning)]) == 2
    assert len(calls) == 2  # only the two swapped chunks
    _same(first, second)
    # repaired: a third run loads everything silently
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)
        _same(first, again())
    assert len(calls) == 2


def test_edited_value_is_detected_and_recomputed(run, monkeypatch) -> None:
    first, again, folder = run
    victim = _files(folder)[3]
    with h5netcdf.File(victim, "r+") as f:  # edit one selection in place, attrs untouched
        sel = f.variables["selected"]
        sel[0] = (int(sel[0]) % 5) + 1
    calls = _counting(monkeypatch)
    with pytest.warns(CheckpointWarning, match="SHA-256"):
        second = again()
    assert len(calls) == 1
    _same(first, second)


def test_truncated_file_is_detected_and_recomputed(run, monkeypatch) -> None:
    first, again, folder = run
    victim = _files(folder)[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    calls = _counting(monkeypatch)
    with pytest.warns(CheckpointWarning, match="cannot be read"):
        second = again()
    assert len(calls) == 1
    _same(first, second)
    assert victim.stat().st_size == len(data)


def test_old_format_file_without_record_is_recomputed(run, monkeypatch) -> None:
    first, again, folder = run
    victim = _files(folder)[0]
    ds = xr.load_dataset(victim, engine="h5netcdf")
    ds.attrs = {}
    victim.unlink()
    ds.to_netcdf(victim, engine="h5netcdf")
    with pytest.warns(CheckpointWarning, match="no valid checkpoint record"):
        _same(first, again())


def test_checkpoints_record_range_and_content_hash(run) -> None:
    _, _, folder = run
    import json

    records = [json.loads(xr.load_dataset(f, engine="h5netcdf").attrs["bayes_dose_checkpoint"])
               for f in _files(folder)]  # fmt: skip
    assert {(r["design"], r["start"], r["stop"]) for r in records} == {
        (g, a, b) for g in DESIGNS for a, b in ((0, 50), (50, 100), (100, 120))
    }
    for f, r in zip(_files(folder), records, strict=True):
        assert f.name == f"chunk-{r['key']}.nc" and len(r["content_sha256"]) == 64


# ----------------------------------------------------------------------------- temporary files
def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def test_orphan_tmp_files_of_dead_writers_are_removed(run) -> None:
    first, again, folder = run
    orphan = folder / f"chunk-abc.nc.pid{_dead_pid()}.t140000.tmp"
    orphan.write_bytes(b"half a file")
    untagged = folder / "chunk-old.nc.123.456.tmp"  # an older version's name
    untagged.write_bytes(b"half a file")
    live = folder / f"chunk-def.nc.pid{os.getpid()}.t1.tmp"  # a writer still running
    live.write_bytes(b"in progress")
    with pytest.warns(CheckpointWarning, match="removed 2 temporary"):
        _same(first, again())
    assert not orphan.exists() and not untagged.exists() and live.exists()


def test_orphan_store_of_a_killed_run_is_removed(tmp_path) -> None:
    orphan = tmp_path / f"sims.zarr.pid{_dead_pid()}.tmp"
    orphan.mkdir()
    (orphan / ".zgroup").write_text("{}")
    bd.simulate(DESIGNS, CURVE5, n_trials=20, progress=False, store=tmp_path / "sims.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sims.zarr"]


def test_failed_write_leaves_no_tmp_and_names_the_path(tmp_path, monkeypatch) -> None:
    """The disk fills after the up-front check: one ValueError naming the file."""
    monkeypatch.setattr(sim_mod, "check_writable_dir", lambda folder, what: folder)
    tmp_path.mkdir(exist_ok=True)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_mod.os, "fsync", full)
    with pytest.raises(ValueError, match=r"cannot write checkpoint '.*chunk-.*\.nc': no space left"):
        bd.simulate(DESIGNS, CURVE5, n_trials=40, seed=1, chunk_size=20, progress=False,
                    checkpoint_dir=tmp_path)  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_unwritable_checkpoint_folder_fails_before_any_work(tmp_path, monkeypatch) -> None:
    calls = _counting(monkeypatch)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False, checkpoint_dir=blocker)
    with pytest.raises(ValueError, match="a file is in the way"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False,
                    checkpoint_dir=blocker / "sub")  # fmt: skip

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_mod.tempfile, "NamedTemporaryFile", full)
    with pytest.raises(ValueError, match="no space left on device"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False, checkpoint_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="folder of the store"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False, store=tmp_path / "s.zarr")
    assert calls == []


@pytest.fixture
def tiny_disk(tmp_path):
    """A 300 kB tmpfs (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mnt)],
                       capture_output=True)  # fmt: skip
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_real_full_disk_gives_one_clear_error(tiny_disk) -> None:
    with pytest.raises(ValueError, match=r"cannot write checkpoint .*: no space left on device"):
        bd.simulate(DESIGNS, CURVE5, n_trials=4000, chunk_size=200, progress=False,
                    checkpoint_dir=tiny_disk / "ck")  # fmt: skip
    assert not list((tiny_disk / "ck").glob("*.tmp"))
    with open(tiny_disk / "fill", "wb") as fh, pytest.raises(OSError):
        fh.write(b"x" * 10**6)
    with pytest.raises(ValueError, match=r"cannot write to checkpoint folder .*no space left"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False,
                    checkpoint_dir=tiny_disk / "ck2")  # fmt: skip
    with pytest.raises(ValueError, match=r"folder of the store .*no space left"):
        bd.simulate(DESIGNS, CURVE5, n_trials=10, progress=False, store=tiny_disk / "s.zarr")


def test_store_is_atomic(tmp_path, monkeypatch) -> None:
    store = tmp_path / "sims.zarr"
    real = sim_mod.run_chunk
    calls = []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(sim_mod, "run_chunk", dies)
    with pytest.raises(RuntimeError, match="killed"):
        bd.simulate(DESIGNS, CURVE5, n_trials=100, chunk_size=20, progress=False, store=store)
    assert list(tmp_path.iterdir()) == []  # no half-written store
    monkeypatch.undo()
    mem = bd.simulate(DESIGNS, CURVE5, n_trials=100, seed=2, progress=False)
    lazy = bd.simulate(DESIGNS, CURVE5, n_trials=100, seed=2, chunk_size=20, progress=False,
                       store=store)  # fmt: skip
    _same(mem, lazy.load())
    # a rerun replaces the store whole; a non-store path is never replaced
    bd.simulate(DESIGNS, CURVE5, n_trials=50, seed=2, progress=False, store=store)
    assert bd.open_store(store).sizes["trial"] == 50
    (tmp_path / "report.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a Zarr store"):
        bd.simulate(DESIGNS, CURVE5, n_trials=5, progress=False, store=tmp_path / "report.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.txt", "sims.zarr"]


# ----------------------------------------------------------------------------- CLI
def test_cli_checkpoint_and_errors(tmp_path, capsys) -> None:
    from bayes_dose.cli import main

    ck = tmp_path / "ck"
    rc = main(["simulate", "--n-trials", "30", "--arm", "mono", "--checkpoint", str(ck),
               "--no-progress"])  # fmt: skip
    assert rc == 0 and len(list(ck.glob("chunk-*.nc"))) > 0
    first = capsys.readouterr().out
    n_files = len(list(ck.glob("chunk-*.nc")))
    rc = main(["simulate", "--n-trials", "30", "--arm", "mono", "--checkpoint", str(ck),
               "--no-progress"])  # fmt: skip
    assert rc == 0 and capsys.readouterr().out == first
    assert len(list(ck.glob("chunk-*.nc"))) == n_files
    victim = sorted(ck.glob("chunk-*.nc"))[0]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated by a crash
    rc = main(["simulate", "--n-trials", "30", "--arm", "mono", "--checkpoint", str(ck),
               "--no-progress"])  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 0 and cap.out == first
    assert cap.err.startswith("bayes-dose simulate: warning: checkpoint ")
    assert cap.err.count("\n") == 1 and "cannot be read" in cap.err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc = main(["simulate", "--n-trials", "30", "--checkpoint", str(blocker), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "not a folder" in err and str(blocker) in err


def test_cli_out_on_a_bad_or_full_disk_is_one_error_line(tmp_path, capsys, monkeypatch) -> None:
    from bayes_dose.cli import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    calls = _counting(monkeypatch)
    rc = main(["simulate", "--n-trials", "30", "--out", str(blocker / "sims.nc"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "output folder" in err and calls == []
    out = tmp_path / "sims.nc"
    out.write_bytes(b"previous complete file")
    real_write = io_mod.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io_mod, "check_writable_dir", lambda folder, what: folder)
    monkeypatch.setattr(io_mod.os, "fsync", full)
    rc = main(["simulate", "--n-trials", "30", "--arm", "mono", "--out", str(out),
               "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    monkeypatch.setattr(io_mod.os, "fsync", real_write)
    assert rc == 2 and err.count("\n") == 1 and "no space left on device" in err
    assert out.read_bytes() == b"previous complete file"  # never half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "sims.nc"]


def test_cli_progress_moves(tmp_path, capsys) -> None:
    from bayes_dose.cli import main

    rc = main(["simulate", "--n-trials", "30", "--arm", "mono", "--progress"])
    assert rc == 0 and "simulate" in capsys.readouterr().err


# ----------------------------------------------------------------------------- inputs
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(true_tox={"a": 0.1, "b": 0.2}), "got a dict"),
        (dict(true_tox=[0.1, 0.2j, 0.3, 0.4, 0.5]), "real probabilities"),
        (dict(true_tox=[CURVE5, CURVE5]), "for several curves pass scenarios"),
        (dict(true_tox=[[0.1, 0.2], [0.3]]), "one list of probabilities"),
        (dict(true_tox="0.1,0.2"), "list of probabilities"),
        (dict(true_tox=[True, False, True, True, True]), "not booleans"),
        (dict(scenarios=[CURVE5, CURVE5]), "scenarios must be a dict"),
        (dict(scenarios={"s": {"l1": 0.1}}), "scenario 's': .*got a dict"),
        (dict(true_tox=CURVE5, n_trials=2.7), r"simulate: n_trials must be a whole number >= 1, got 2\.7"),
        (dict(true_tox=CURVE5, n_trials=True), r"simulate: n_trials must be a whole number >= 1, got True"),
        (dict(true_tox=CURVE5, n_trials="10"), r"simulate: n_trials must be a whole number >= 1, got '10'"),
        (dict(true_tox=CURVE5, seed=True), "seed must be a non-negative integer"),
        (dict(true_tox=CURVE5, seed=1.0), "seed must be a non-negative integer"),
        (dict(true_tox=CURVE5, max_n=24.5), r"simulate: max_n must be a whole number >= 1, got 24\.5"),
        (dict(true_tox=CURVE5, chunk_size=0), r"simulate: chunk_size must be a whole number >= 1, got 0"),
        (dict(true_tox=CURVE5, n_jobs=1.5), r"simulate: n_jobs must be a whole number >= 1, got 1\.5"),
    ],
)
def test_bad_simulate_inputs_are_clear_errors(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        bd.simulate({"3+3": bd.ThreePlusThree(5)}, progress=False, **{"n_trials": 5, **kwargs})


def test_integral_float_n_trials_is_accepted() -> None:
    a = bd.simulate({"3+3": bd.ThreePlusThree(5)}, CURVE5, n_trials=20.0, progress=False)
    assert a.sizes["trial"] == 20


def test_non_monotone_curve_warns() -> None:
    with pytest.warns(UserWarning, match=r"not monotone \(level 3: 0.1 < level 2: 0.3\)"):
        bd.simulate({"3+3": bd.ThreePlusThree(5)}, [0.05, 0.3, 0.1, 0.45, 0.6], n_trials=5,
                    progress=False)  # fmt: skip


def test_tite_designs_are_refused() -> None:
    skel = bd.crm_skeleton(target=0.3, halfwidth=0.05, mtd_guess=3, n_doses=5)
    tite = bd.CRM(skel, 0.3, max_n=12, tite_window=28)
    with pytest.raises(ValueError, match=r"tite_window=28 days.*no calendar time"):
        bd.simulate({"TITE-CRM": tite}, CURVE5, n_trials=5, progress=False)
    with pytest.raises(ValueError, match="tite_window"):
        bd.simulate_oc({"TITE-CRM": tite}, CURVE5, n_trials=5, progress=False)
    plain = bd.simulate({"CRM": bd.CRM(skel, 0.3, max_n=12)}, CURVE5, n_trials=5, progress=False)
    assert plain.sizes["trial"] == 5


def test_selected_values_survive_the_checkpoint_round_trip(run) -> None:
    first, again, _ = run
    second = again()
    assert np.array_equal(first.selected.to_numpy(), second.selected.to_numpy())


def test_simulate_oc_names_itself_in_argument_errors() -> None:
    with pytest.raises(ValueError, match=r"simulate_oc: n_trials must be a whole number >= 1, got 0"):
        bd.simulate_oc({"3+3": bd.ThreePlusThree(5)}, CURVE5, n_trials=0, progress=False)
    # NumPy integers and integral floats are taken as before
    a = bd.simulate({"3+3": bd.ThreePlusThree(5)}, CURVE5, n_trials=np.int64(3), seed=1,
                    chunk_size=np.float64(2.0), progress=False)  # fmt: skip
    assert a.sizes["trial"] == 3
