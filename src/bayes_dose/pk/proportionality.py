"""Dose proportionality by the power model with the Smith et al. (2000) criterion.

``ln(y) = a + b ln(dose)`` is fitted by ordinary least squares to one value per subject
(the parameter of one cycle).  Dose proportionality is concluded when the ``level``
(default 90 %) confidence interval of ``b`` lies within
``(1 + ln(theta_L) / ln(r), 1 + ln(theta_H) / ln(r))`` with ``r`` = highest / lowest dose
(Smith BP et al., Pharm Res 2000; 17: 1278-83).  The verdict is ``"proportional"``
(interval inside), ``"not proportional"`` (interval entirely outside) or
``"inconclusive"`` (overlapping); ``max_ratio`` is the largest dose ratio over which
proportionality could be concluded with this interval (Smith's rho_1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .dp_power import slope_limits

__all__ = ["DoseProportionality", "dose_proportionality"]


@dataclass(frozen=True)
class DoseProportionality:
    """Result of :func:`dose_proportionality`."""

    parameter: str
    cycle: int
    arm: str | None
    n: int
    doses: tuple[float, ...]
    intercept: float
    slope: float
    se: float
    df: int
    ci: tuple[float, float]
    level: float
    criterion: tuple[float, float]
    ratio: float
    max_ratio: float
    verdict: str
    dropped: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One-row table."""
        return pd.DataFrame([{
            "parameter": self.parameter, "cycle": self.cycle, "arm": self.arm, "n": self.n,
            "doses": ", ".join(f"{d:g}" for d in self.doses), "slope": self.slope,
            "se": self.se, "ci_low": self.ci[0], "ci_high": self.ci[1], "level": self.level,
            "criterion_low": self.criterion[0], "criterion_high": self.criterion[1],
            "dose_ratio": self.ratio, "max_ratio": self.max_ratio, "verdict": self.verdict,
        }])  # fmt: skip


def dose_proportionality(
    nca: pd.DataFrame,
    parameter: str = "cmax",
    *,
    cycle: int = 1,
    arm: str | None = None,
    level: float = 0.90,
    theta: tuple[float, float] = (0.8, 1.25),
) -> DoseProportionality:
    """Power-model slope, its CI, the Smith criterion and the verdict.

    Parameters
    ----------
    nca
        Tidy table of :func:`bayes_dose.pk.nca` (``subject``, ``arm``, ``dose``,
        ``cycle``, ``parameter``, ``value``).
    parameter, cycle
        Which parameter of which cycle (one value per subject).
    arm
        Which arm; required when the table holds more than one.
    level
        Confidence level of the slope interval (Smith et al.: 90 %).
    theta
        Limits of the ratio of dose-normalised means.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> dp = bd.pk.dose_proportionality(bd.pk.nca(), "cmax", arm="mono")
    >>> dp.verdict, dp.n
    ('not proportional', 18)
    """
    need = {"subject", "arm", "dose", "cycle", "parameter", "value"}
    if not isinstance(nca, pd.DataFrame) or not need <= set(nca.columns):
        raise ValueError(f"dose_proportionality: expected the NCA table with columns {sorted(need)}")
    if not 0 < level < 1:
        raise ValueError(f"dose_proportionality: level must be in (0, 1), got {level!r}")
    arms = sorted(nca["arm"].unique())
    if arm is None:
        if len(arms) > 1:
            raise ValueError(f"dose_proportionality: the table holds arms {arms}; pass arm=")
        arm = arms[0] if arms else None
    elif arm not in arms:
        raise ValueError(f"dose_proportionality: no arm {arm!r} (arms: {arms})")
    sub = nca[(nca["parameter"] == parameter) & (nca["cycle"] == cycle) & (nca["arm"] == arm)]
    if sub.empty:
        raise ValueError(f"dose_proportionality: no {parameter!r} in cycle {cycle} of arm {arm!r}")
    bad = sub[~(sub["value"] > 0)]
    dropped = tuple(
        f"{r.subject}: {r.value!r} ({r.note})" if "note" in sub.columns else f"{r.subject}: {r.value!r}"
        for r in bad.itertuples()
    )
    ok = sub[sub["value"] > 0]
    x, y = np.log(ok["dose"].to_numpy(float)), np.log(ok["value"].to_numpy(float))
    doses = tuple(sorted(set(ok["dose"].astype(float))))
    if len(doses) < 2 or len(ok) < 3:
        raise ValueError(
            f"dose_proportionality: need >= 3 positive values at >= 2 doses, got "
            f"{len(ok)} at {len(doses)} (not positive: {', '.join(dropped) or 'none'})"
        )
    n = len(ok)
    xm = x.mean()
    sxx = float(np.sum((x - xm) ** 2))
    b = float(np.sum((x - xm) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * xm)
    df = n - 2
    s2 = float(np.sum((y - a - b * x) ** 2)) / df
    se = math.sqrt(s2 / sxx)
    q = stats.t.ppf(0.5 + level / 2, df)
    ci = (b - q * se, b + q * se)
    lo, hi = slope_limits(doses, theta[0], theta[1])
    if lo < ci[0] and ci[1] < hi:
        verdict = "proportional"
    elif ci[1] < lo or ci[0] > hi:
        verdict = "not proportional"
    else:
        verdict = "inconclusive"
    dev = max(1 - ci[0], ci[1] - 1)
    # rho_1 = theta_H ** (1 / max(1 - L, U - 1)) (Smith et al. 2000, eq. 5)
    max_ratio = math.inf if dev <= 0 else theta[1] ** (1 / dev)
    return DoseProportionality(
        parameter, cycle, arm, n, doses, a, b, se, df, ci, level, (lo, hi),
        max(doses) / min(doses), max_ratio, verdict, dropped,
    )  # fmt: skip
