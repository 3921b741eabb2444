"""One simulation Dataset for the arms of a programme: an ``arm`` dimension over arms that
have their own dose grids and designs (:meth:`bayes_dose.Programme.simulate`).

Layout
------
Every variable of an arm's own Dataset (:func:`bayes_dose.simulate`) gets a leading
``arm`` dimension; the other dimensions are shared:

* ``design``: the union of the arms' design names (the first arm's, then the new names of
  later arms); coordinate ``design_index`` (arm, design) is the design's position in that
  arm, ``-1`` where the arm has no such design;
* ``dose``: as many as the largest arm; coordinates ``dose_level`` (dose, 1..D_max),
  ``dose_mg`` (arm, dose; NaN beyond the arm's levels) and ``n_doses`` (arm);
* ``patient``: as many as the widest arm; coordinate ``n_patient_slots`` (arm);
* ``scenario``, ``trial``: shared (a scenario is a pair of curves, one per arm).

Padding.  Cells of a design an arm does not have hold ``-1`` (integers), NaN (floats) or
False; doses beyond an arm's levels hold 0 patients / 0 DLTs (sums over ``dose`` stay
right) and NaN probabilities; patient slots beyond an arm's width hold that arm's "no
patient" value (dose 0, NaN days, cohort -1).  :func:`arm_view` cuts an arm out again and
returns exactly its own Dataset (values, dtypes, coordinates and attributes; the arms'
attributes are kept in the attribute ``arm_attrs``).

Programme variables (no ``arm`` dimension; ``design`` = the second arm's design, its
first-arm partner in coordinate ``source_design``, ``""`` for designs of the first arm
only, whose cells hold -1 / NaN): ``programme_total_n``, ``programme_total_dlt`` and, in
calendar time, ``programme_duration_days`` (and ``programme_open_day``: Part II's opening
day on Part I's clock, under a rule other than a plain ``opens_after``).

:func:`bayes_dose.operating_characteristics` and :func:`bayes_dose.concordance` of such a
Dataset are those of each arm's own Dataset, stacked along ``arm`` (outer join over
designs and levels, NaN where an arm has none), plus the programme's OCs
(:func:`programme_characteristics`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["arm_names", "arm_view", "per_arm", "programme_characteristics", "programme_oc", "stack_arms"]

#: Days per month in the duration OCs (as :mod:`bayes_dose.calendar_oc`).
DAYS_PER_MONTH = 30.4375
_SHARED = ("design", "dose", "patient")
_INDEX = ("design", "patient", "dose_level", "dose_mg")


def _absent(dtype: np.dtype) -> Any:
    return False if dtype.kind == "b" else (np.nan if dtype.kind in "fc" else -1)


def _pad(var: str, dtype: np.dtype) -> Any:
    if dtype.kind in "fc":
        return np.nan
    if dtype.kind == "b":
        return False
    return -1 if var == "patient_cohort" else 0


def stack_arms(arms: Mapping[str, xr.Dataset], programme: Mapping[str, Any] | None = None,
               attrs: Mapping[str, Any] | None = None) -> xr.Dataset:  # fmt: skip
    """Stack the arms' own Datasets along a new ``arm`` dimension (module docstring).

    Parameters
    ----------
    arms : dict of str -> Dataset
        ``{arm: bayes_dose.simulate-style Dataset}`` with the same scenarios and trials.
    programme : dict, optional
        ``{"vars": {name: DataArray (design, scenario, trial)}, "source": {design: first-arm
        design}}``: programme variables indexed by the second arm's designs.
    attrs : dict, optional
        Extra attributes of the result.
    """
    names = list(arms)
    if not names:
        raise ValueError("stack_arms: no arms")
    ref = arms[names[0]]
    for a in names[1:]:
        for dim in ("scenario", "trial"):
            if not np.array_equal(arms[a][dim].values, ref[dim].values):
                raise ValueError(f"stack_arms: arm {a!r} has other {dim}s than arm {names[0]!r}")
    designs: list[str] = []
    for a in names:
        designs += [g for g in arms[a]["design"].values.tolist() if g not in designs]
    G = len(designs)
    D = max(arms[a].sizes.get("dose", 0) for a in names)
    P = max(arms[a].sizes.get("patient", 0) for a in names)
    size = {"design": G, "dose": D, "patient": P}
    index = np.full((len(names), G), -1, dtype=np.int64)
    for ai, a in enumerate(names):
        for k, g in enumerate(arms[a]["design"].values.tolist()):
            index[ai, designs.index(g)] = k
    variables: dict[str, Any] = {}
    arm_vars: dict[str, dict[str, str]] = {a: {} for a in names}
    order: list[str] = []
    for a in names:
        order += [v for v in arms[a].data_vars if v not in order]
    for v in order:
        have = [a for a in names if v in arms[a].data_vars]
        first = arms[have[0]][v]
        dims = first.dims
        for a in have:
            if arms[a][v].dims != dims:
                raise ValueError(f"stack_arms: variable {v!r} has dims {arms[a][v].dims} in arm "
                                 f"{a!r}, {dims} in arm {have[0]!r}")  # fmt: skip
        dtype = np.result_type(*(arms[a][v].dtype for a in have))
        shape = [size.get(d, first.sizes[d]) for d in dims]
        out = np.full((len(names), *shape), _pad(v, dtype), dtype=dtype)
        for ai, a in enumerate(names):
            if a not in have:
                out[ai] = _absent(dtype)
                continue
            x = arms[a][v]
            arm_vars[a][v] = str(x.dtype)
            sl = tuple(slice(0, x.sizes[d]) if d in ("dose", "patient") else slice(None)
                       for d in dims)  # fmt: skip
            if "design" in dims:
                gdim = dims.index("design")
                cols = [designs.index(g) for g in arms[a]["design"].values.tolist()]
                block = np.full(shape, _absent(dtype), dtype=dtype)
                moved = np.moveaxis(block, gdim, 0)
                inner = list(sl)
                del inner[gdim]
                sub = np.full(moved.shape[1:], _pad(v, dtype), dtype=dtype)
                vals = np.moveaxis(x.values, gdim, 0)
                for k, c in enumerate(cols):
                    s = sub.copy()
                    s[tuple(inner)] = vals[k]
                    moved[c] = s
                out[ai] = block
            else:
                out[ai][sl] = x.values
        variables[v] = (("arm", *dims), out, dict(first.attrs))
    mg = np.full((len(names), D), np.nan)
    for ai, a in enumerate(names):
        if "dose_mg" in arms[a].coords:
            m = arms[a]["dose_mg"].values.astype(float)
            mg[ai, : m.size] = m
    coords: dict[str, Any] = {
        "arm": ("arm", np.array(names, dtype=object)),
        "design": ("design", np.array(designs, dtype=object)),
        "design_index": (("arm", "design"), index),
        "scenario": ref["scenario"].values,
        "trial": ref["trial"].values,
        "patient": ("patient", np.arange(P, dtype=np.int64)),
        "dose_level": ("dose", np.arange(1, D + 1, dtype=np.int64)),
        "dose_mg": (("arm", "dose"), mg),
        "n_doses": ("arm", np.array([arms[a].sizes.get("dose", 0) for a in names], dtype=np.int64)),
        "n_patient_slots": ("arm", np.array([arms[a].sizes.get("patient", 0) for a in names],
                                            dtype=np.int64)),
    }  # fmt: skip
    extra = {c: arms[a][c] for a in names for c in arms[a].coords
             if c not in _INDEX and c not in ("scenario", "trial") and c not in coords}  # fmt: skip
    ds = xr.Dataset(variables, coords=coords)
    ds = ds.assign_coords(extra) if extra else ds
    if programme is not None:
        src = programme.get("source", {})
        ds = ds.assign_coords(source_design=("design", np.array(
            [src.get(g, "") for g in designs], dtype=object)))  # fmt: skip
        for name, da in programme.get("vars", {}).items():
            da = da.reindex(design=designs, fill_value=_absent(da.dtype))
            ds[name] = da.transpose("design", "scenario", "trial")
    ds.attrs = {
        "title": "bayes_dose simulated programme (one Dataset, dimension arm)",
        "arm_attrs": json.dumps({a: dict(arms[a].attrs) for a in names}, sort_keys=True,
                                default=str),
        "arm_vars": json.dumps(arm_vars, sort_keys=True),
        **dict(attrs or {}),
    }  # fmt: skip
    return ds


def arm_names(ds: xr.Dataset) -> list[str]:
    """The arms of a stacked Dataset, in order."""
    return [str(a) for a in ds["arm"].values.tolist()]


def arm_view(ds: xr.Dataset, arm: str) -> xr.Dataset:
    """Arm ``arm`` of a stacked Dataset as its own Dataset (exactly what
    :func:`bayes_dose.simulate` gave for that arm: its designs in its order, its levels,
    its patient width, dtypes and attributes).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> prog = bd.Programme(
    ...     arms={"mono": {"3+3": bd.ThreePlusThree(3)}, "combo": {"3+3": bd.ThreePlusThree(2)}},
    ...     opens=bd.opens_after("mono"))
    >>> ds = prog.simulate({"mono": [0.05, 0.1, 0.4], "combo": [0.1, 0.5]}, n_trials=20, seed=1)
    >>> bd.arm_view(ds, "combo").sizes["dose"], ds.sizes["dose"]
    (2, 3)
    """
    if "arm" not in ds.dims:
        raise ValueError("arm_view: the Dataset has no arm dimension")
    names = arm_names(ds)
    if arm not in names:
        raise ValueError(f"arm_view: no arm {arm!r}; arms are {names}")
    ai = names.index(arm)
    idx = ds["design_index"].values[ai]
    cols = [int(c) for c in np.argsort(np.where(idx >= 0, idx, np.iinfo(np.int64).max))
            if idx[c] >= 0]  # fmt: skip
    D = int(ds["n_doses"].values[ai])
    P = int(ds["n_patient_slots"].values[ai])
    kinds = json.loads(ds.attrs["arm_vars"])[arm]
    sub = ds.isel(arm=ai).isel(design=cols, dose=slice(0, D), patient=slice(0, P))
    prog = [v for v in sub.data_vars if v.startswith("programme_")]
    sub = sub.drop_vars([*prog, *(v for v in sub.data_vars if v not in kinds and v not in prog)])
    sub = sub.drop_vars([c for c in ("arm", "design_index", "n_doses", "n_patient_slots",
                                     "source_design") if c in sub.coords])  # fmt: skip
    out = xr.Dataset(
        {v: (sub[v].dims, sub[v].values.astype(kinds[v]), sub[v].attrs) for v in kinds},
        coords={c: sub[c] for c in sub.coords},
    )
    mg = out["dose_mg"].values
    out = out.assign_coords(dose_mg=("dose", mg.astype(float)))
    out.attrs = json.loads(ds.attrs["arm_attrs"])[arm]
    return out


def per_arm(ds: xr.Dataset, fn: Any, **kwargs: Any) -> xr.Dataset:
    """``fn`` of each arm's own Dataset, stacked along ``arm`` (outer join)."""
    parts = [fn(arm_view(ds, a), **kwargs).expand_dims(arm=[a]) for a in arm_names(ds)]
    return xr.concat(parts, dim="arm", join="outer", coords="different", compat="equals")


def programme_characteristics(ds: xr.Dataset, target: float | Mapping[str, float] | None = None
                              ) -> xr.Dataset:  # fmt: skip
    """The programme's OCs per second-arm design x scenario, each with its Monte Carlo SE
    (``_se``): ``programme_p_correct_both`` (correct selection in both arms, the true MTD
    of each arm's curve; left out, with the reason in attribute ``note``, when some
    design x scenario has no target), ``programme_mean_total_n``,
    ``programme_mean_total_dlt`` and, in calendar time, ``programme_mean_duration_months``
    (Part I's first dose to the later of the two arms' last DLT windows; Part I's end where
    Part II did not open).

    Under an opening rule other than a plain :func:`~bayes_dose.opens_after` also
    ``programme_p_opened`` (share of programmes in which Part II opened) and, in calendar
    time, ``programme_mean_open_months`` (Part I's first dose to Part II's opening, as the
    duration, over the programmes in which it opened; SE ``sd / sqrt(number opened)``).  Where Part II did not
    open in every programme, attribute ``note`` says so: the second arm's own OCs count
    those programmes as no patients, no selection and 0 days."""
    names = arm_names(ds)
    if "programme_total_n" not in ds or len(names) != 2:
        raise ValueError("programme_characteristics: not a simulated programme "
                         "(bd.Programme.simulate)")  # fmt: skip
    src = {str(g): str(s) for g, s in zip(ds["design"].values, ds["source_design"].values,
                                          strict=True) if s}  # fmt: skip
    pairs = list(src)
    T = ds.sizes["trial"]
    data: dict[str, Any] = {}
    attrs: dict[str, str] = {}
    sub = ds.sel(design=pairs)

    def mean_se(x: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
        x = x.astype(float)
        se = x.std("trial", ddof=1) / np.sqrt(T) if T > 1 else x.mean("trial") * np.nan
        return x.mean("trial"), se

    from .programme import correct_selection

    first, second = (arm_view(ds, a) for a in names)
    c1 = correct_selection(first, target).sel(design=[src[g] for g in pairs])
    c2 = correct_selection(second, target).sel(design=pairs)
    both = xr.DataArray(c1.values * c2.values, dims=c2.dims,
                        coords={"design": pairs, "scenario": ds["scenario"].values})  # fmt: skip
    p = both.mean("trial")  # NaN where either arm's design has no target
    data["programme_p_correct_both"] = p
    data["programme_p_correct_both_se"] = np.sqrt(p * (1 - p) / T)
    missing = [f"{g} / {s}" for g in pairs for s in ds["scenario"].values
               if np.isnan(float(p.sel(design=g, scenario=s)))]  # fmt: skip
    if missing:
        attrs["note"] = ("programme_p_correct_both is NaN where a design of either arm has "
                         "no target (give target= or designs with a target): "
                         + ", ".join(missing))  # fmt: skip
    for v, name in (("programme_total_n", "programme_mean_total_n"),
                    ("programme_total_dlt", "programme_mean_total_dlt")):  # fmt: skip
        data[name], data[f"{name}_se"] = mean_se(sub[v])
    if "programme_duration_days" in ds:
        m, se = mean_se(sub["programme_duration_days"] / DAYS_PER_MONTH)
        data["programme_mean_duration_months"], data["programme_mean_duration_months_se"] = m, se
    opened = _opened(second, pairs)
    if opened is not None:  # a schedule: Part II may not open
        po = opened.mean("trial")
        data["programme_p_opened"], data["programme_p_opened_se"] = po, np.sqrt(po * (1 - po) / T)
        if "programme_open_day" in ds:
            d0 = first["patient_dose_day"].min("patient", skipna=True).sel(
                design=[src[g] for g in pairs]).assign_coords(design=pairs)  # Part I's first dose
            o = (sub["programme_open_day"] - d0.drop_vars(
                [c for c in d0.coords if c not in ("design", "scenario", "trial")])) / DAYS_PER_MONTH
            k = o.notnull().sum("trial")
            data["programme_mean_open_months"] = o.mean("trial", skipna=True).where(k > 0)
            data["programme_mean_open_months_se"] = (o.std("trial", ddof=1, skipna=True)
                                                     / np.sqrt(k)).where(k > 1)  # fmt: skip
        shut = [f"{T - int(opened.sel(design=g, scenario=s).sum())} of {T} programmes "
                f"({g} / {s})" for g in pairs for s in ds["scenario"].values
                if not bool(opened.sel(design=g, scenario=s).all())]  # fmt: skip
        if shut:
            text = ("Part II did not open in " + ", ".join(shut) + ": the second arm's own "
                    "OCs count them as no patients, no selection and 0 days (programme_p_opened)")
            attrs["note"] = f"{attrs['note']}; {text}" if "note" in attrs else text
    out = xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in ("design", "scenario")])
                      for k, v in data.items()})  # fmt: skip
    out = out.assign_coords(source_design=("design", np.array([src[g] for g in pairs],
                                                              dtype=object)))  # fmt: skip
    out.attrs.update(attrs)
    return out


def _opened(second: xr.Dataset, designs: list[str]) -> xr.DataArray | None:
    """Per second-arm design x scenario x trial: Part II opened (its stop reason is not
    "Part II not opened"); None when no design has that reason (a plain opens_after)."""
    from .programme import SCHEDULE_REASONS

    reasons = json.loads(second.attrs.get("reasons", "{}"))
    if "stop_reason" not in second or not any(SCHEDULE_REASONS[0] in reasons.get(g, [])
                                              for g in designs):  # fmt: skip
        return None
    parts = []
    for g in designs:
        r = reasons.get(g, [])
        code = r.index(SCHEDULE_REASONS[0]) if SCHEDULE_REASONS[0] in r else -1
        parts.append(second["stop_reason"].sel(design=g) != code)
    out = xr.concat(parts, dim="design").assign_coords(design=designs)
    return out.drop_vars([c for c in out.coords if c not in ("design", "scenario", "trial")])


def programme_oc(ds: xr.Dataset, target: float | Mapping[str, float] | None = None) -> xr.Dataset:
    """:func:`bayes_dose.operating_characteristics` of each arm (stacked along ``arm``)
    merged with :func:`programme_characteristics` (what ``operating_characteristics``
    returns for a Dataset with an ``arm`` dimension)."""
    from .metrics import operating_characteristics

    oc = per_arm(ds, operating_characteristics, target=target)
    if "programme_total_n" not in ds:
        return oc
    prog = programme_characteristics(ds, target)
    out = xr.merge([oc, prog], join="outer", compat="no_conflicts", combine_attrs="override")
    out.attrs.update(prog.attrs)
    return out
