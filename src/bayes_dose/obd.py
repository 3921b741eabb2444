"""Optimal biological dose (OBD) selectors and the RP2D from safety, efficacy and exposure.

**Utility.** Each patient's outcome is one of four cells, scored by a utility table
``u = (u1, u2, u3, u4)`` on 0..100 (BOIN12's, Lin et al. 2020): ``u1`` response without
DLT (100), ``u2`` neither, ``u3`` response with DLT, ``u4`` DLT without response (0);
:data:`DEFAULT_UTILITY` is ``(100, 40, 60, 0)``.  A dose's utility is the mean over its
patients; on data it is estimated by the posterior mean of BOIN12's quasi-binomial model,
``(1 + x) / (2 + n) * 100`` with ``x = sum(u) / 100`` (a Beta(1, 1) prior; shrinks a dose
with few patients towards 50).

**Selectors** (:class:`OBD`), over the treated doses at or below the safety ceiling (the
MTD or MAD; all treated doses when none is given, flagged):

* ``method="utility"``: the dose with the highest estimated utility (ties: the lower);
* ``method="margin"``: the lowest dose whose observed response rate is within ``margin``
  of the best observed rate.

``min_resp`` (optional) removes doses whose observed response rate is below it first.

**RP2D** (:func:`rp2d`): the lowest dose that is safe (at or below the ceiling) and is
the OBD *or* reaches the exposure plateau (its mg dose at or above the plateau dose, from
:func:`bayes_dose.pk.exposure_plateau` or given by the user).  Without either input the
RP2D is the ceiling (flagged).  The reason names the ceiling, the OBD with its method and
the plateau with its source.

**True OBD** of a simulation scenario (:func:`true_obd`, used by
``operating_characteristics``' ``p_select_obd``): among doses whose true DLT probability
is at most the target, the one with the highest expected utility under the joint law of
:mod:`bayes_dose.efficacy` (ties: the lower); 0 when no dose is acceptable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import checks
from .designs.utility import DEFAULT_UTILITY, check_utility
from .outcomes import Outcomes

__all__ = [
    "DEFAULT_UTILITY",
    "OBD",
    "RP2D",
    "OBDChoice",
    "check_utility",
    "choose_rp2d",
    "expected_utility",
    "rp2d",
    "true_obd",
]

METHODS = ("utility", "margin")


def expected_utility(
    p_tox: Sequence[float], p_resp: Sequence[float], utility: Sequence[float] = DEFAULT_UTILITY,
    rho: float = 0.0,
) -> np.ndarray:  # fmt: skip
    """Expected utility per dose under the Gaussian-copula joint law (0..100).

    Examples
    --------
    >>> from bayes_dose.obd import expected_utility
    >>> expected_utility([0.1, 0.3], [0.2, 0.5]).round(1).tolist()
    [48.0, 58.0]
    """
    from .efficacy import joint_probabilities

    u = np.asarray(check_utility(utility, "expected_utility"))
    return joint_probabilities(p_tox, p_resp, rho) @ u


def true_obd(
    p_tox: Sequence[float], p_resp: Sequence[float], target: float,
    utility: Sequence[float] = DEFAULT_UTILITY, rho: float = 0.0,
) -> int:  # fmt: skip
    """The true OBD (1-based; 0 = no dose with true DLT probability <= ``target``).

    Examples
    --------
    >>> from bayes_dose.obd import true_obd
    >>> true_obd([0.05, 0.1, 0.2, 0.4], [0.1, 0.4, 0.45, 0.6], target=0.3)
    2
    """
    pt = np.asarray(p_tox, dtype=float)
    eu = expected_utility(pt, p_resp, utility, rho)
    ok = pt <= target + 1e-12
    if not ok.any():
        return 0
    eu = np.where(ok, eu, -np.inf)
    return int(np.flatnonzero(eu >= eu.max() - 1e-9)[0]) + 1


@dataclass(frozen=True)
class OBDChoice:
    """An OBD on data: ``level`` (1-based or None), ``dose_mg``, ``method``, ``reason``
    and the per-dose ``table`` (n, dlt, resp, response rate, utility estimate, eligible)."""

    level: int | None
    dose_mg: float | None
    method: str
    reason: str
    table: pd.DataFrame = field(repr=False)
    flags: tuple[str, ...] = ()


def _cells(outcomes: Outcomes, n_doses: int | None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Per dose: n, dlt, resp and the four utility cells, over assessed patients."""
    if not isinstance(outcomes, Outcomes):
        raise ValueError(f"OBD.select: expected Outcomes, got {type(outcomes).__name__}")
    if len(outcomes.arms) > 1:
        raise ValueError(f"OBD.select: data hold arms {outcomes.arms}; pass outcomes.arm(name)")
    if not outcomes.has_response:
        raise ValueError("OBD.select: the data have no 'response' column (efficacy outcomes)")
    f = outcomes.to_frame()
    skip = f["response"].isna() | f["dlt"].isna()
    left = tuple(str(p) for p in f.loc[skip, "patient_id"])
    f = f[~skip]
    D = n_doses or (outcomes.counts().shape[0] if len(outcomes) else 0)
    lv = f["dose_level"].to_numpy(dtype=np.int64) - 1
    t = f["dlt"].to_numpy(dtype=np.int64)
    r = f["response"].to_numpy(dtype=np.int64)
    cell = np.where(r == 1, np.where(t == 0, 0, 2), np.where(t == 0, 1, 3))
    counts = np.zeros((D, 4), dtype=np.int64)
    np.add.at(counts, (lv, cell), 1)
    arm = outcomes.arms[0] if outcomes.arms else None
    mg = outcomes.doses_mg(arm) if arm else None
    df = pd.DataFrame(
        {
            "dose_mg": np.asarray(mg, dtype=float)[:D] if mg and len(mg) >= D else np.nan,
            "n": counts.sum(axis=1),
            "dlt": counts[:, 2] + counts[:, 3],
            "resp": counts[:, 0] + counts[:, 2],
            "y1": counts[:, 0], "y2": counts[:, 1], "y3": counts[:, 2], "y4": counts[:, 3],
        },
        index=pd.Index(np.arange(1, D + 1), name="dose_level"),
    )  # fmt: skip
    return df, left


class OBD:
    """Select the optimal biological dose on one arm's data (module docstring).

    Parameters
    ----------
    method : {"utility", "margin"}
        Highest estimated utility, or lowest dose within ``margin`` of the best response.
    utility : 4 numbers
        Utility table (u1..u4; :data:`DEFAULT_UTILITY`), for ``method="utility"``.
    margin : float
        For ``method="margin"``: response-rate margin in [0, 1).
    min_resp : float, optional
        Doses whose observed response rate is below this are not eligible.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.Outcomes.parse("1NNN 2ENN 3EEN 3ENN 4EET")
    >>> c = bd.OBD("margin", margin=0.2).select(out, safe_max=4)
    >>> c.level, c.table["resp_rate"].round(2).tolist()
    (3, [0.0, 0.33, 0.5, 0.67])
    """

    def __init__(
        self,
        method: str = "utility",
        *,
        utility: Sequence[float] = DEFAULT_UTILITY,
        margin: float = 0.1,
        min_resp: float | None = None,
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"OBD: method must be one of {METHODS}, got {method!r}")
        self.method = method
        self.utility = check_utility(utility, "OBD")
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
            raise ValueError(f"OBD: margin must be in [0, 1), got {margin!r}")
        self.margin = float(margin)
        self.min_resp = None if min_resp is None else checks.real("OBD", "min_resp", min_resp,
                                                                  low=0, high=1)  # fmt: skip

    def __repr__(self) -> str:
        return (f"OBD(method={self.method!r}, utility={self.utility}, margin={self.margin}, "
                f"min_resp={self.min_resp})")  # fmt: skip

    def spec(self) -> dict[str, Any]:
        return {"method": self.method, "utility": list(self.utility), "margin": self.margin,
                "min_resp": self.min_resp}  # fmt: skip

    def describe(self) -> str:
        """The rule in words (cited in reasons)."""
        if self.method == "utility":
            txt = (f"highest estimated utility (u = {'/'.join(f'{x:g}' for x in self.utility)}; "
                   "posterior mean (1 + x)/(2 + n))")  # fmt: skip
        else:
            txt = f"lowest dose with response rate within {self.margin:g} of the best"
        if self.min_resp is not None:
            txt += f", response rate >= {self.min_resp:g}"
        return txt

    def select(
        self,
        outcomes: Outcomes,
        safe_max: int | None = None,
        *,
        safe_label: str = "MTD",
        n_doses: int | None = None,
    ) -> OBDChoice:
        """The OBD among treated doses at or below ``safe_max`` (1-based; None: no ceiling).

        Patients whose response is not assessed (blank) or whose DLT status is unknown are
        left out and named in the reason.
        """
        df, left = _cells(outcomes, n_doses)
        D = len(df)
        flags: list[str] = []
        u = self.utility
        x = (u[0] * df.y1 + u[1] * df.y2 + u[2] * df.y3 + u[3] * df.y4) / 100.0
        df["resp_rate"] = np.where(df.n > 0, df.resp / df.n.where(df.n > 0, 1), np.nan)
        df["utility"] = 100.0 * (1.0 + x) / (2.0 + df.n)
        if safe_max is None:
            ceiling = D
            flags.append("no safety ceiling given: every treated dose eligible")
            ceil_txt = "no safety ceiling given"
        else:
            if isinstance(safe_max, bool) or not isinstance(safe_max, (int, np.integer)) \
                    or not 1 <= int(safe_max) <= D:  # fmt: skip
                raise ValueError(f"OBD.select: safe_max must be a level in 1..{D}, got {safe_max!r}")
            ceiling = int(safe_max)
            ceil_txt = f"doses at or below the {safe_label} (level {ceiling})"
        elig = (df.n > 0) & (df.index <= ceiling)
        if self.min_resp is not None:
            elig &= df.resp_rate >= self.min_resp
        df["eligible"] = elig.to_numpy()
        note = f"; not counted (response not assessed or DLT unknown): {', '.join(left)}" if left else ""
        if left:
            flags.append(f"{len(left)} patient(s) without an assessed outcome left out")
        if not elig.any():
            return OBDChoice(None, None, self.method,
                             f"no OBD: no treated dose eligible among {ceil_txt}{note}",
                             df, (*flags, "no eligible dose"))  # fmt: skip
        sub = df[elig]
        if self.method == "utility":
            best = sub.utility.max()
            level = int(sub.index[np.flatnonzero(sub.utility.to_numpy() >= best - 1e-9)[0]])
            why = (f"OBD level {level}: highest estimated utility {best:.1f} among {ceil_txt} "
                   f"({', '.join(f'level {i}: {v:.1f}' for i, v in sub.utility.items())})")  # fmt: skip
        else:
            best = sub.resp_rate.max()
            level = int(sub.index[np.flatnonzero(sub.resp_rate.to_numpy() >= best - self.margin
                                                 - 1e-12)[0]])  # fmt: skip
            why = (f"OBD level {level}: the lowest dose with response rate within {self.margin:g} "
                   f"of the best ({best:.2f}) among {ceil_txt} ("
                   + ", ".join(f"level {i}: {int(df.resp[i])}/{int(df.n[i])}" for i in sub.index)
                   + ")")  # fmt: skip
        mg = df.dose_mg[level]
        return OBDChoice(level, None if np.isnan(mg) else float(mg), self.method, why + note, df,
                         tuple(flags))  # fmt: skip


@dataclass(frozen=True)
class RP2D:
    """The RP2D with its inputs: ``level``, ``dose_mg``, ``reason``, ``flags`` and the
    ``inputs`` it rests on (ceiling, OBD, plateau)."""

    level: int | None
    dose_mg: float | None
    reason: str
    flags: tuple[str, ...]
    inputs: dict[str, Any]


def rp2d(
    safe_max: int | None,
    *,
    doses_mg: Sequence[float],
    safe_label: str = "MTD",
    obd: OBDChoice | int | None = None,
    plateau: Any = None,
    plateau_source: str | None = None,
) -> RP2D:
    """RP2D = the lowest dose at or below the safety ceiling that is the OBD or reaches the
    exposure plateau (module docstring).

    Parameters
    ----------
    safe_max : int or None
        The safety ceiling (1-based MTD or MAD); None: no safe dose, no RP2D.
    doses_mg : sequence of float
        The arm's doses (to place the plateau).
    safe_label : str
        ``"MTD"`` or ``"MAD"`` (for the reason).
    obd : OBDChoice or int, optional
        The OBD (:meth:`OBD.select`, a design's OBD such as BOIN12's, or a level).
    plateau : float or ExposurePlateau, optional
        The exposure-plateau dose in mg, or the result of
        :func:`bayes_dose.pk.exposure_plateau` (its ``dose``, None when exposure keeps
        rising, and ``reason``).
    plateau_source : str, optional
        Where a plateau given in mg comes from (default "user-given").

    Examples
    --------
    >>> from bayes_dose.obd import rp2d
    >>> r = rp2d(5, doses_mg=[30, 100, 300, 600, 1000], obd=4, plateau=300.0)
    >>> r.level, r.dose_mg
    (3, 300.0)
    >>> print(r.reason)
    RP2D 300 mg (level 3): safety ceiling MTD level 5 (1000 mg); OBD level 4 (600 mg) (given); exposure plateau from 300 mg (user-given): level 3 is the lowest dose at the plateau; the lowest safe dose that is the OBD or at the exposure plateau is level 3.
    """
    mg = np.asarray(doses_mg, dtype=float)
    D = mg.size
    flags: list[str] = []
    # OBD
    if isinstance(obd, OBDChoice):
        obd_level, obd_txt = obd.level, f"{obd.reason}"
        obd_short = (f"OBD level {obd.level} ({mg[obd.level - 1]:g} mg) ({obd.method})"
                     if obd.level is not None else f"no OBD ({obd.reason})")  # fmt: skip
    elif obd is None:
        obd_level, obd_txt, obd_short = None, "no OBD given", "no OBD given"
    else:
        if isinstance(obd, bool) or not isinstance(obd, (int, np.integer)) or not 1 <= obd <= D:
            raise ValueError(f"rp2d: obd must be a level in 1..{D} or an OBDChoice, got {obd!r}")
        obd_level = int(obd)
        obd_txt = obd_short = f"OBD level {obd_level} ({mg[obd_level - 1]:g} mg) (given)"
    # plateau
    if plateau is None:
        p_dose, p_src = None, plateau_source or "none given"
        p_given = False
    elif hasattr(plateau, "dose") and hasattr(plateau, "reason"):
        p_dose, p_src, p_given = plateau.dose, plateau_source or str(plateau.reason), True
    else:
        if isinstance(plateau, bool) or not isinstance(plateau, (int, float, np.integer,
                                                                 np.floating)):
            raise ValueError(f"rp2d: plateau must be a dose in mg or an ExposurePlateau, got {plateau!r}")
        p_dose, p_src, p_given = float(plateau), plateau_source or "user-given", True
    if p_dose is not None and not (np.isfinite(p_dose) and p_dose > 0):
        raise ValueError(f"rp2d: plateau must be a positive dose in mg, got {p_dose!r}")
    inputs = {"safe_max": safe_max, "safe_label": safe_label, "obd": obd_level,
              "obd_reason": obd_txt, "plateau_mg": p_dose, "plateau_source": p_src}  # fmt: skip
    if safe_max is None:
        return RP2D(None, None, f"no RP2D: no safe dose (no {safe_label}); {obd_short}; "
                    f"exposure plateau: {p_dose if p_dose is not None else 'none'} ({p_src})",
                    ("no safe dose",), inputs)  # fmt: skip
    if isinstance(safe_max, bool) or not isinstance(safe_max, (int, np.integer)) or not 1 <= safe_max <= D:
        raise ValueError(f"rp2d: safe_max must be a level in 1..{D} or None, got {safe_max!r}")
    ceil = int(safe_max)
    parts = [f"safety ceiling {safe_label} level {ceil} ({mg[ceil - 1]:g} mg)"]
    cands = []
    parts.append(obd_short)
    if obd_level is not None:
        if obd_level <= ceil:
            cands.append(obd_level)
        else:
            flags.append("OBD above the safety ceiling")
            parts[-1] += " is above the ceiling: not eligible"
    else:
        flags.append("no OBD")
    plat_level = None
    if p_dose is None:
        if p_given:
            parts.append(f"no exposure plateau within the doses studied ({p_src})")
            flags.append("exposure still rising: no plateau")
        else:
            parts.append("no exposure plateau given")
            flags.append("no exposure plateau")
    else:
        at = [lv for lv in range(1, D + 1) if mg[lv - 1] >= p_dose - 1e-9 * max(1, p_dose)]
        if at and at[0] <= ceil:
            plat_level = at[0]
            cands.append(plat_level)
            parts.append(f"exposure plateau from {p_dose:g} mg ({p_src}): level {plat_level} is "
                         "the lowest dose at the plateau")  # fmt: skip
        else:
            parts.append(f"exposure plateau {p_dose:g} mg ({p_src}) is above the ceiling")
            flags.append("exposure plateau above the safety ceiling")
    if obd_level is not None and plat_level is not None and obd_level < plat_level:
        flags.append("OBD below the exposure plateau")
    if cands:
        level = min(cands)
        parts.append(f"the lowest safe dose that is the OBD or at the exposure plateau is level {level}")
    else:
        level = ceil
        parts.append(f"neither OBD nor plateau within the ceiling: the {safe_label} is kept")
        flags.append(f"RP2D = {safe_label}: no efficacy or exposure input within the ceiling")
    why = f"RP2D {mg[level - 1]:g} mg (level {level}): " + "; ".join(parts) + "."
    return RP2D(level, float(mg[level - 1]), why, tuple(flags), inputs)


#: The public name (``bd.choose_rp2d``) of :func:`rp2d`.
choose_rp2d = rp2d
