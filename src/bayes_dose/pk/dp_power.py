"""Power and sample size of a dose-proportionality study (power model, CI criterion).

The slope ``b`` of ``ln(PK) = a + b ln(dose)`` is declared dose-proportional when its
``1 - 2 alpha`` confidence interval lies within the Smith et al. (2000) limits
``1 + ln(theta1) / ln(r)`` and ``1 + ln(theta2) / ln(r)`` (``r`` = highest / lowest
dose).  Power is the two one-sided tests probability with the noncentral t distribution,
for the designs of PowerTOST's ``power.dp`` / ``sampleN.dp`` (version 1.5):

* ``"crossover"``: Latin square (or Williams) design, every subject receives every dose;
  ``n`` subjects are spread over the ``k`` sequences as evenly as possible (the first
  sequences get one more); error degrees of freedom ``n k - n - k``;
* ``"parallel"``: one dose per subject, ``n - 2`` degrees of freedom;
* ``"IBD"``: incomplete block design given by its design matrix (one row per sequence,
  one column per period, entries = 1-based dose index), analysed as a random-intercept
  regression (Sethuraman et al. 2007, formula 12) with between-subject CV ``CVb``
  (default ``2 CV``).

The corrected sum of squares of the log doses, the slope variance ``ln(CV^2 + 1) / Sdd``
and the noncentral-t power are re-implemented here from those definitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

__all__ = ["DPSampleSize", "power_dp", "sample_size_dp", "slope_limits"]

Design = Literal["crossover", "parallel", "IBD"]


def slope_limits(doses: Sequence[float], theta1: float = 0.8, theta2: float | None = None):
    """Smith et al. (2000) acceptance range of the slope: ``1 + ln(theta) / ln(r)``.

    Examples
    --------
    >>> lo, hi = slope_limits([10, 20, 33.3])
    >>> round(lo, 5), round(hi, 4)
    (0.81451, 1.1855)
    """
    theta2 = 1 / theta1 if theta2 is None else theta2
    if theta1 <= 0 or theta2 <= 0 or theta1 >= theta2:
        raise ValueError(f"need 0 < theta1 < theta2, got {theta1!r}, {theta2!r}")
    r = max(doses) / min(doses)
    if r <= 1:
        raise ValueError("need at least two different doses")
    return 1 + math.log(theta1) / math.log(r), 1 + math.log(theta2) / math.log(r)


def _spread(n: int, groups: int) -> np.ndarray:
    base, rest = divmod(int(n), groups)
    return np.array([base + (1 if g < rest else 0) for g in range(groups)], dtype=float)


def _check(doses, cv, design, dm, cvb):
    doses = np.asarray(doses, dtype=float)
    if doses.ndim != 1 or len(doses) < 2 or np.any(doses <= 0):
        raise ValueError("doses: give at least two positive doses")
    if not cv > 0:
        raise ValueError(f"CV must be > 0, got {cv!r}")
    if design not in ("crossover", "parallel", "IBD"):
        raise ValueError(f"design must be 'crossover', 'parallel' or 'IBD', got {design!r}")
    if design == "IBD":
        if dm is None:
            raise ValueError("design 'IBD' needs the design matrix dm")
        dm = np.asarray(dm, dtype=int)
        if dm.ndim != 2 or dm.shape[1] > len(doses) or dm.min() < 1 or dm.max() > len(doses):
            raise ValueError(
                f"dm: one row per sequence, at most {len(doses)} columns, entries 1..{len(doses)}"
            )
        cvb = 2 * cv if cvb is None else cvb
    return doses, dm, cvb


def _groups(doses, design, dm) -> tuple[int, int]:
    """(sequence groups, periods)."""
    if design == "IBD":
        return dm.shape[0], dm.shape[1]
    k = len(doses)
    return k, (1 if design == "parallel" else k)


def _sdd(doses, design, dm, n_i, s2, omega2) -> float:
    ld = np.log(doses)
    if design == "IBD":
        lam = np.diag([omega2 / s2, 0.0])
        d = np.zeros((2, 2))
        for row, n_l in zip(dm, n_i, strict=True):
            x = np.vstack([np.ones(dm.shape[1]), ld[row - 1]])
            d += n_l * np.linalg.inv(np.linalg.inv(x @ x.T) + lam)
        return 1.0 / np.linalg.inv(d)[1, 1]
    css = float(np.sum(n_i * (ld - ld.mean()) ** 2))
    return len(doses) * css if design == "crossover" else css


def power_dp(
    cv: float,
    doses: Sequence[float],
    n: int | Sequence[int],
    beta0: float | None = None,
    *,
    alpha: float = 0.05,
    theta1: float = 0.8,
    theta2: float | None = None,
    design: Design = "crossover",
    dm: Sequence[Sequence[int]] | None = None,
    cvb: float | None = None,
) -> float:
    """Power to show dose proportionality (as PowerTOST ``power.dp``).

    Parameters
    ----------
    cv
        Within-subject CV (crossover, IBD) or total CV (parallel), as a fraction.
    doses
        The doses (any unit).
    n
        Total subjects (spread over sequences / groups) or one count per sequence.
    beta0
        True slope; default ``1 + ln(0.95) / ln(r)``.
    alpha, theta1, theta2
        One-sided level of each test and the limits of the ratio of dose-normalised means.
    design, dm, cvb
        ``"crossover"``, ``"parallel"`` or ``"IBD"`` (with design matrix ``dm``, 1-based
        dose indices, and between-subject CV ``cvb``, default ``2 cv``).

    Examples
    --------
    >>> round(power_dp(0.2, [10, 20, 33.3, 50], 15, beta0=1.02), 5)  # PowerTOST vignette
    0.82914
    """
    doses, dm, cvb = _check(doses, cv, design, dm, cvb)
    groups, periods = _groups(doses, design, dm)
    n_i = _spread(n, groups) if np.ndim(n) == 0 else np.asarray(n, dtype=float)
    if len(n_i) != groups:
        raise ValueError(f"n: give a total or {groups} counts (one per sequence / group)")
    nt = float(n_i.sum())
    df = nt - 2 if design == "parallel" else nt * periods - (nt + periods - 1) - 1
    if df < 1:
        raise ValueError(f"n = {nt:g} leaves {df:g} error degrees of freedom")
    lo, hi = slope_limits(doses, theta1, theta2)
    if beta0 is None:
        beta0 = 1 + math.log(0.95) / math.log(doses.max() / doses.min())
    s2 = math.log(cv**2 + 1)
    omega2 = math.log(cvb**2 + 1) if cvb else 0.0
    se = math.sqrt(s2 / _sdd(doses, design, dm, n_i, s2, omega2))
    t = stats.t.ppf(1 - alpha, df)
    p = stats.nct.cdf(-t, df, (beta0 - hi) / se) - stats.nct.cdf(t, df, (beta0 - lo) / se)
    return float(max(p, 0.0))


@dataclass(frozen=True)
class DPSampleSize:
    """Result of :func:`sample_size_dp`: total ``n``, its ``power`` and the inputs."""

    n: int
    power: float
    target_power: float
    slope_range: tuple[float, float]
    beta0: float
    design: str
    search: tuple[tuple[int, float], ...]


def sample_size_dp(
    cv: float,
    doses: Sequence[float],
    beta0: float | None = None,
    *,
    target_power: float = 0.8,
    alpha: float = 0.05,
    theta1: float = 0.8,
    theta2: float | None = None,
    design: Design = "crossover",
    dm: Sequence[Sequence[int]] | None = None,
    cvb: float | None = None,
    max_iter: int = 100,
) -> DPSampleSize:
    """Total sample size for a dose-proportionality study (as PowerTOST ``sampleN.dp``).

    The search starts from the large-sample approximation (a multiple of the number of
    sequences / groups), steps down while the power exceeds the target and then up until
    it reaches it, in steps of one subject per sequence (so the design stays balanced).

    Examples
    --------
    >>> res = sample_size_dp(0.2, [10, 20, 33.3], beta0=1.02)  # PowerTOST vignette
    >>> res.n, round(res.power, 6)
    (15, 0.808127)
    """
    doses_a, dm_a, cvb = _check(doses, cv, design, dm, cvb)
    theta2 = 1 / theta1 if theta2 is None else theta2
    lo, hi = slope_limits(doses_a, theta1, theta2)
    if beta0 is None:
        beta0 = 1 + math.log(0.95) / math.log(doses_a.max() / doses_a.min())
    if not lo < beta0 < hi:
        raise ValueError(f"beta0 = {beta0:g} must lie inside the slope range ({lo:.5g}, {hi:.5g})")
    if not 0 < target_power < 1:
        raise ValueError(f"target_power must be in (0, 1), got {target_power!r}")
    groups, _ = _groups(doses_a, design, dm_a)
    s2 = math.log(cv**2 + 1)
    omega2 = math.log(cvb**2 + 1) if cvb else 0.0
    css1 = _sdd(doses_a, design, dm_a, np.ones(groups), s2, omega2)
    zb = stats.norm.ppf(target_power if beta0 != 1 else 1 - (1 - target_power) / 2)
    n0 = s2 * (zb + stats.norm.ppf(1 - alpha)) ** 2 / css1
    n0 /= (beta0 - hi) ** 2 if beta0 >= 1 else (beta0 - lo) ** 2
    n = groups * int(np.round(n0))  # numpy rounds half to even, like R's round()
    n = max(n, groups, 4 if groups == 2 else 0)

    def pw(m: int) -> float:
        return power_dp(cv, doses_a, m, beta0, alpha=alpha, theta1=theta1, theta2=theta2,
                        design=design, dm=dm_a, cvb=cvb)  # fmt: skip

    p = pw(n)
    search = [(n, p)]
    it = 0
    while p > target_power and n > 3 and it <= max_iter:
        n -= groups
        p = pw(n)
        search.append((n, p))
        it += 1
    while p < target_power and it <= max_iter:
        n += groups
        p = pw(n)
        search.append((n, p))
        it += 1
    if p < target_power:
        raise ValueError(f"sample_size_dp: target power not reached within {max_iter} steps")
    return DPSampleSize(n, p, target_power, (lo, hi), float(beta0), design, tuple(search))
