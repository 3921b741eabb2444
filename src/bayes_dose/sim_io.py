"""Files of long simulation runs: verified chunk checkpoints, a Zarr store written chunk by
chunk, writable-folder checks and atomic writes.

A checkpoint is one NetCDF file per (design, scenario, trial chunk), named by the
hash of everything its numbers depend on (design spec, true curve, seed, trial range,
``max_n``, generator).  Inside, the attribute ``bayes_dose_checkpoint`` records that key,
the design, scenario and trial range, and a SHA-256 of the arrays.  On reload a file
whose key or range is not the one its name promises (swapped or renamed files), whose
arrays do not match their hash (edited), or that cannot be read (truncated) is reported
with a :class:`CheckpointWarning` and recomputed.  Files are written to a temporary
name and renamed, so a killed writer leaves at most a ``*.tmp`` file; those of writers
that are no longer running are removed by the next run.  The NetCDF bytes are built in
memory and written with plain file I/O, so a full disk is an ``OSError`` (reported as a
ValueError naming the path), not a crash inside HDF5.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "CheckpointWarning", "ZarrSink", "check_writable_dir", "write_bytes_atomic",
    "write_netcdf_groups",
]  # fmt: skip

#: Variables of one simulated chunk, in hashing order.
CHUNK_VARS = (
    "n", "dlt", "patient_dose", "patient_dlt", "selected", "is_mad", "stop_reason",
    "n_patients", "n_cohorts",
)  # fmt: skip
CHUNK_DIMS = {"n": ("trial", "dose"), "dlt": ("trial", "dose"),
              "patient_dose": ("trial", "patient"), "patient_dlt": ("trial", "patient"),
              "resp": ("trial", "dose"), "patient_resp": ("trial", "patient")}  # fmt: skip
#: Chunk variables of runs with efficacy (``simulate(..., efficacy=...)``), saved when present.
EFFICACY_VARS = ("resp", "patient_resp")
#: Chunk variables of a design with ``backfill=`` (:mod:`bayes_dose.backfill`), saved when present.
BACKFILL_VARS = ("backfill_n", "n_backfill")
CHUNK_DIMS["backfill_n"] = ("trial", "dose")
#: dtypes of the calendar-time variables (:data:`bayes_dose.calendar_sim.TIMELINE_VARS`), for
#: the layout of a Zarr store written before any chunk exists.
TIMELINE_DTYPES = {
    "duration_days": "f8", "suspended_days": "f8", "n_turned_away": "i4", "n_queued": "i2",
    "mean_wait_days": "f8", "max_wait_days": "f8", "max_pending": "i2",
    "patient_arrival_day": "f8", "patient_dose_day": "f8", "patient_dlt_day": "f8",
    "patient_pending": "i2", "patient_cohort": "i2",
}  # fmt: skip


def fill_value(var: str, dtype: Any) -> Any:
    """What an array of a run holds where a trial has no value (patients beyond its
    last): NaN for floats, -1 for ``patient_cohort``, else 0."""
    if np.dtype(dtype).kind == "f":
        return np.nan
    return -1 if var == "patient_cohort" else 0


_META = "bayes_dose_checkpoint"


def _chunk_vars(names: Any) -> tuple[str, ...]:
    """The variables a chunk carries: :data:`CHUNK_VARS`, plus the efficacy ones of an
    ``efficacy`` run (:data:`EFFICACY_VARS`), the calendar-time ones
    (:data:`bayes_dose.calendar_sim.TIMELINE_VARS`) of a ``timeline`` run and
    ``n_flagged_decisions``."""
    from .calendar_sim import TIMELINE_VARS

    eff = tuple(k for k in EFFICACY_VARS if k in names)
    bf = tuple(k for k in BACKFILL_VARS if k in names)
    flag = ("n_flagged_decisions",) if "n_flagged_decisions" in names else ()
    return CHUNK_VARS + eff + (TIMELINE_VARS if "duration_days" in names else ()) + bf + flag


def _dims(k: str) -> tuple[str, ...]:
    return CHUNK_DIMS.get(k, ("trial", "patient") if k.startswith("patient_") else ("trial",))


class CheckpointWarning(UserWarning):
    """A checkpoint file was rejected (and its chunk recomputed)."""


# ----------------------------------------------------------------------------- plain files
def _oserror(path: Path, exc: OSError, what: str) -> ValueError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on device"
    return ValueError(f"cannot write {what} {str(path)!r}: {reason}")


def write_bytes_atomic(path: Path, data: bytes | memoryview, what: str = "file") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    An ``OSError`` (full disk, read-only folder) becomes one ValueError naming the path;
    the temporary file is removed.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.name}.pid{os.getpid()}.t{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise _oserror(path, exc, what) from None


def check_writable_dir(folder: str | os.PathLike, what: str) -> Path:
    """Create ``folder`` if needed and prove it writable (a probe file), else ValueError."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"{what} {str(folder)!r} is not a folder (a file is in the way)") from None
    except OSError as exc:
        raise ValueError(f"cannot create {what} {str(folder)!r}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise ValueError(f"{what} {str(folder)!r} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-", suffix=".tmp") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise _oserror(folder, exc, f"to {what}") from None
    return folder


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(folder: Path, pattern: str) -> list[Path]:
    """Remove ``pattern`` temporary files/folders whose writer is gone (the writer's pid is
    the ``pid<N>`` part of the name; a name without one is an orphan)."""
    removed = []
    for f in sorted(folder.glob(pattern)):
        tags = [p[3:] for p in f.name.split(".") if p.startswith("pid") and p[3:].isdigit()]
        pid = int(tags[-1]) if tags else None
        if pid is not None and _pid_alive(pid):
            continue
        try:
            shutil.rmtree(f) if f.is_dir() else f.unlink()
            removed.append(f)
        except OSError:
            pass
    return removed


# ----------------------------------------------------------------------------- checkpoints
def content_hash(res: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of a chunk's arrays (names, dtypes, shapes and bytes)."""
    h = hashlib.sha256()
    for k in _chunk_vars(res):
        v = np.ascontiguousarray(res[k])
        h.update(f"{k}|{v.dtype.str}|{v.shape}|".encode())
        h.update(v.tobytes())
    return h.hexdigest()


def save_chunk(path: Path, res: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write one chunk checkpoint (atomic; ``meta`` = key, design, scenario, start, stop)."""
    record = {**meta, "content_sha256": content_hash(res)}
    ds = xr.Dataset(
        {k: (_dims(k), np.asarray(res[k])) for k in _chunk_vars(res)},
        attrs={_META: json.dumps(record, sort_keys=True)},
    )
    write_bytes_atomic(path, ds.to_netcdf(engine="h5netcdf"), "checkpoint")


def load_chunk(path: Path, meta: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """The chunk in ``path`` if it is exactly the one ``meta`` describes, else None (with a
    :class:`CheckpointWarning` saying why; the caller recomputes and overwrites it)."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
        ds = xr.load_dataset(io.BytesIO(blob), engine="h5netcdf")
        res = {k: ds[k].to_numpy() for k in _chunk_vars(ds.data_vars)}
    except Exception as exc:  # any unreadable file is recomputed
        _reject(path, f"cannot be read (truncated or not a checkpoint: {type(exc).__name__})")
        return None
    try:
        record = json.loads(ds.attrs[_META])
    except (KeyError, ValueError):
        _reject(path, "has no valid checkpoint record (written by another version or tool)")
        return None
    trials = f"trials {meta['start']}..{meta['stop'] - 1}"
    if record.get("key") != meta["key"]:
        got = (f"{record.get('design')!r} / {record.get('scenario')!r}, trials "
               f"{record.get('start')}..{(record.get('stop') or 0) - 1}")  # fmt: skip
        _reject(path, f"holds another chunk ({got}) than its name says ({meta['design']!r} / "
                f"{meta['scenario']!r}, {trials}): swapped or renamed file")  # fmt: skip
        return None
    if (record.get("start"), record.get("stop")) != (meta["start"], meta["stop"]):
        _reject(path, f"records trials {record.get('start')}..{record.get('stop')}, not {trials}")
        return None
    T = meta["stop"] - meta["start"]
    if any(res[k].shape[0] != T for k in res):
        _reject(path, f"does not hold {T} trials")
        return None
    if content_hash(res) != record.get("content_sha256"):
        _reject(path, "content does not match its recorded SHA-256 (edited or corrupted)")
        return None
    return res


def _reject(path: Path, why: str) -> None:
    warnings.warn(
        f"checkpoint {str(path)!r} {why}; recomputing that chunk", CheckpointWarning, stacklevel=3
    )


# ----------------------------------------------------------------------------- zarr store
class ZarrSink:
    """A Zarr store of simulated trials written region by region (any process may write
    its own trial chunks; regions are aligned to the store's chunks).

    The store is built in ``<path>.pid<pid>.tmp`` beside ``path`` and renamed onto ``path`` by
    :meth:`finish`; a store left by a killed run is removed by the next one.
    """

    PATIENT_CHUNK = 64

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.exists() and not _is_zarr(self.path):
            raise ValueError(
                f"store {str(self.path)!r} exists and is not a Zarr store: refusing to replace it"
            )
        check_writable_dir(self.path.parent if str(self.path.parent) else Path("."),
                           "folder of the store")  # fmt: skip
        remove_orphans(self.path.parent, f"{self.path.name}.*.tmp")
        self.tmp = self.path.with_name(f"{self.path.name}.pid{os.getpid()}.tmp")

    def create(self, template: xr.Dataset) -> None:
        """Write the layout (dask-backed zero variables are not computed)."""
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        try:
            template.to_zarr(self.tmp, mode="w", compute=False, zarr_format=2, consolidated=True)
        except OSError as exc:
            raise _oserror(self.path, exc, "store") from None

    def write(self, index: Sequence[int], start: int, res: Mapping[str, np.ndarray]) -> None:
        """Write one design x scenario chunk at trials ``start..``."""
        import zarr

        gi, si = index
        group = zarr.open_group(str(self.tmp), mode="r+", zarr_format=2)
        stop = start + len(res["selected"])
        try:
            for k in _chunk_vars(res):
                v = np.asarray(res[k])
                if k == "n_flagged_decisions" and k not in group:  # not in the store layout
                    if v.any():
                        warnings.warn(
                            f"store {self.path.name}: {int(v.sum())} decisions of trials "
                            f"{start}..{stop - 1} rested on flagged grid results "
                            "(n_flagged_decisions is not kept in a store; simulate without "
                            "store= to keep it)", UserWarning, stacklevel=2,
                        )  # fmt: skip
                    continue
                if k.startswith("patient_"):
                    arr = group[k]
                    cap = arr.shape[-1]
                    w = min(cap, -(-max(v.shape[1], 1) // self.PATIENT_CHUNK) * self.PATIENT_CHUNK)
                    fill = fill_value(k, arr.dtype)
                    if fill != 0:  # NaN / -1 also beyond the trials' patients (no zeros)
                        w = cap
                    buf = np.full((v.shape[0], w), fill, dtype=arr.dtype)
                    buf[:, : min(w, v.shape[1])] = v[:, :w]
                    arr[gi, si, start:stop, :w] = buf
                else:
                    group[k][gi, si, start:stop] = v
        except OSError as exc:
            raise _oserror(self.path, exc, "store") from None

    def finish(self, attrs: Mapping[str, Any], extra: Mapping[str, xr.Dataset]) -> None:
        """Set the final attributes, add ``extra`` groups (OCs), and move the store in place."""
        import zarr

        try:
            group = zarr.open_group(str(self.tmp), mode="r+", zarr_format=2)
            group.attrs.update(dict(attrs))
            for name, ds in extra.items():
                ds.to_zarr(self.tmp, group=name, mode="w", zarr_format=2, consolidated=False)
            zarr.consolidate_metadata(str(self.tmp), zarr_format=2)
            if self.path.exists():
                old = self.path.with_name(f"{self.path.name}.pid{os.getpid()}.old.tmp")
                os.replace(self.path, old)
                os.replace(self.tmp, self.path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(self.tmp, self.path)
        except OSError as exc:
            raise _oserror(self.path, exc, "store") from None

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and any((path / f).exists() for f in (".zgroup", "zarr.json"))


def write_netcdf_groups(groups: Mapping[str, xr.Dataset], path: str | os.PathLike) -> Path:
    """Write Datasets as the groups of one NetCDF4 file, atomically.

    The file is built in memory and written through :func:`write_bytes_atomic`: a full or
    read-only disk is one ValueError naming ``path`` (never a crash inside HDF5), and an
    existing ``path`` is replaced only by a complete file.
    """
    import h5netcdf

    path = Path(path)
    check_writable_dir(path.parent if str(path.parent) else Path("."), "output folder")
    bio = io.BytesIO()
    with h5netcdf.File(bio, "w"):
        pass
    for name, ds in groups.items():
        ds.to_netcdf(bio, group=name, mode="a", engine="h5netcdf")
    write_bytes_atomic(path, bio.getbuffer(), "output file")
    return path
