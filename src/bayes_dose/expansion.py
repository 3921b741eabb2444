"""Expansion-cohort designs with exact operating characteristics.

* :func:`simon` - Simon's (1989) optimal and minimax two-stage designs, found by exact
  binomial search; :func:`simon_oc` gives the exact operating characteristics of any
  two-stage design at any response rate.
* Bayesian predictive-probability monitoring (Lee & Liu 2008) with a beta (or beta-mixture)
  prior: :func:`posterior_probability`, :func:`predictive_probability`,
  :func:`predictive_table`, :func:`pp_boundaries` (the stopping boundaries at each look),
  :class:`PPDesign` (decision table and exact OCs by forward recursion) and
  :func:`pp_design_search` (thresholds meeting a type I error and a power).

Conventions (Simon): stop after stage 1 if ``x1 <= r1`` of ``n1`` respond; declare the
drug inactive if ``x <= r`` of ``n`` respond; the null hypothesis ``p <= p0`` is rejected
(the drug is promising) if ``x > r``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special, stats

from . import checks
from .deprecation import deprecated_property, renamed_kwargs

__all__ = [
    "BetaMixture",
    "PPDesign",
    "SimonDesign",
    "posterior_probability",
    "pp_boundaries",
    "pp_design_search",
    "predictive_probability",
    "predictive_table",
    "simon",
    "simon_oc",
]

_TOL = 1e-12  # comparisons of exact error rates with their targets (binary floating point)


def _check_prob(name: str, p: float, open_: bool = True) -> float:
    p = float(p)
    ok = 0.0 < p < 1.0 if open_ else 0.0 <= p <= 1.0
    if not ok:
        raise ValueError(f"{name} must be in (0, 1), got {p}")
    return p


# -- Simon two-stage ---------------------------------------------------------------------
@dataclass(frozen=True)
class SimonDesign:
    """A Simon two-stage design and its exact operating characteristics.

    Unpacks as ``(r1, n1, r, n, EN0, PET0)``.  ``alpha`` is the exact type I error
    (probability of declaring the drug promising at ``p0``), ``power`` the exact probability
    of doing so at ``p1``; ``en1``/``pet1`` are expected size and early stopping at ``p1``.
    """

    r1: int
    n1: int
    r: int
    n: int
    en0: float
    pet0: float
    alpha: float
    power: float
    en1: float
    pet1: float
    p0: float
    p1: float
    kind: str

    def __iter__(self) -> Iterator:
        return iter((self.r1, self.n1, self.r, self.n, self.en0, self.pet0))

    def oc(self, p: float | Sequence[float]) -> pd.DataFrame:
        """Exact operating characteristics at response rate(s) ``p`` (see :func:`simon_oc`)."""
        return simon_oc(self.r1, self.n1, self.r, self.n, p)

    def summary(self) -> str:
        """One sentence: the rule and its exact error rates."""
        return (
            f"Simon {self.kind} design for p0={self.p0:g} vs p1={self.p1:g}: stop after "
            f"{self.n1} patients if <= {self.r1} respond; otherwise enrol to {self.n} and call "
            f"the drug promising if > {self.r} respond. Exact type I error {self.alpha:.4f}, "
            f"power {self.power:.4f}, EN0 {self.en0:.2f}, PET0 {self.pet0:.3f}."
        )


@lru_cache(maxsize=4096)
def _binom_pmf(m: int, p: float) -> np.ndarray:
    return stats.binom.pmf(np.arange(m + 1), m, p)


def _accept_matrix(n1: int, n2: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """P(x1 <= r1) per r1 (n1+1,) and P(declare inactive) for every (r1, r) ((n1+1, n+1)).

    ``accept[r1, r] = B(r1; n1) + sum_{x1 > r1} b(x1; n1) B(r - x1; n2)``.
    """
    n = n1 + n2
    x1 = np.arange(n1 + 1)
    b1 = _binom_pmf(n1, p)
    cdf1 = np.cumsum(b1)
    rr = np.arange(n + 1)
    k = rr[None, :] - x1[:, None]  # r - x1
    c2 = np.concatenate([[0.0], np.cumsum(_binom_pmf(n2, p)), [1.0]])
    cdf2 = c2[np.clip(k, -1, n2) + 1]  # B(k; n2): 0 below 0, 1 from n2 on
    m = b1[:, None] * cdf2
    # tail[j, r] = sum_{x1 >= j} m[x1, r]; accept[r1, r] = cdf1[r1] + tail[r1 + 1, r]
    tail = np.vstack([np.cumsum(m[::-1], axis=0)[::-1], np.zeros((1, n + 1))])
    accept = cdf1[:, None] + tail[1:]
    return cdf1, accept


def simon_oc(r1: int, n1: int, r: int, n: int, p: float | Sequence[float]) -> pd.DataFrame:
    """Exact operating characteristics of the two-stage design ``r1/n1, r/n``.

    Parameters
    ----------
    r1, n1, r, n
        Stop after ``n1`` patients if ``<= r1`` respond; promising if ``> r`` of ``n``.
    p
        True response rate(s).

    Returns
    -------
    pandas.DataFrame
        One row per ``p``: ``pet`` (probability of early termination), ``en`` (expected
        number of patients), ``p_promising`` (probability of declaring the drug promising:
        the type I error at ``p0``, the power at ``p1``).

    Examples
    --------
    >>> from bayes_dose.expansion import simon_oc
    >>> simon_oc(1, 10, 5, 29, [0.1, 0.3]).round(4).to_dict("list")
    {'p': [0.1, 0.3], 'pet': [0.7361, 0.1493], 'en': [15.0141, 26.1631], 'p_promising': [0.0471, 0.8051]}
    """
    r1, n1, r, n = (checks.whole("simon_oc", k, v) for k, v in (("r1", r1), ("n1", n1), ("r", r),
                                                                 ("n", n)))  # fmt: skip
    if not (0 < n1 < n and 0 <= r1 < n1 and r1 <= r < n):
        raise ValueError(
            f"two-stage design r1/n1={r1}/{n1}, r/n={r}/{n}: need 0 < n1 < n, "
            "0 <= r1 < n1 and r1 <= r < n"
        )
    rows = []
    for pp in np.atleast_1d(np.asarray(p, dtype=float)):
        pp = _check_prob("p", pp, open_=False)
        cdf1, acc = _accept_matrix(n1, n - n1, pp)
        pet = float(cdf1[r1])
        rows.append(
            {"p": pp, "pet": pet, "en": n1 + (1 - pet) * (n - n1),
             "p_promising": float(1.0 - acc[r1, r])}
        )  # fmt: skip
    return pd.DataFrame(rows)


def simon(
    p0: float,
    p1: float,
    alpha: float,
    beta: float,
    kind: str = "optimal",
    nmax: int = 100,
) -> SimonDesign:
    """Simon's (1989) optimal or minimax two-stage design by exact binomial search.

    Every design with ``n <= nmax`` (``1 <= n1 < n``, ``0 <= r1 < n1``, ``r1 <= r < n``)
    whose exact type I error is ``<= alpha`` and power ``>= 1 - beta`` is feasible.  The
    *optimal* design has the smallest expected size under ``p0`` (EN0); the *minimax* design
    the smallest ``n``, and among those the smallest EN0.  Remaining ties go to the smaller
    ``n``, then the smaller ``n1``.

    Parameters
    ----------
    p0, p1
        Uninteresting and target response rates, ``0 < p0 < p1 < 1``.
    alpha, beta
        Type I and type II error bounds.
    kind
        ``"optimal"`` or ``"minimax"``.
    nmax
        Largest total sample size searched; no feasible design up to it is an error.

    Returns
    -------
    SimonDesign
        Unpacks as ``(r1, n1, r, n, EN0, PET0)``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> d = bd.expansion.simon(0.1, 0.3, 0.05, 0.2)
    >>> (d.r1, d.n1, d.r, d.n, round(d.en0, 1), round(d.pet0, 2))
    (1, 10, 5, 29, 15.0, 0.74)
    """
    p0 = _check_prob("p0", p0)
    p1 = _check_prob("p1", p1)
    if not p0 < p1:
        raise ValueError(f"need p0 < p1 (got p0={p0}, p1={p1})")
    alpha = _check_prob("alpha", alpha)
    beta = _check_prob("beta", beta)
    if kind not in ("optimal", "minimax"):
        raise ValueError(f"kind must be 'optimal' or 'minimax', got {kind!r}")
    nmax = checks.whole("simon", "nmax", nmax, low=2, high=1000)
    best: tuple | None = None  # (key, design tuple)
    for n in range(2, nmax + 1):
        found_here = False
        for n1 in range(1, n):
            n2 = n - n1
            cdf0, acc0 = _accept_matrix(n1, n2, p0)
            _, acc1 = _accept_matrix(n1, n2, p1)
            r1s = np.arange(n1)  # r1 < n1
            a0 = acc0[:n1, :n]  # r < n
            a1 = acc1[:n1, :n]
            rr = np.arange(n)[None, :]
            ok = (
                (rr >= r1s[:, None])
                & (1.0 - a0 <= alpha + _TOL)
                & (a1 <= beta + _TOL)
            )
            if not ok.any():
                continue
            found_here = True
            i, j = np.nonzero(ok)
            en0 = n1 + (1.0 - cdf0[i]) * n2
            k = int(np.lexsort((j, en0))[0])  # smallest EN0, then smallest r
            r1, r = int(i[k]), int(j[k])
            key = (round(float(en0[k]), 10), n, n1) if kind == "optimal" else (
                n, round(float(en0[k]), 10), n1
            )
            if best is None or key < best[0]:
                best = (key, (r1, n1, r, n))
        if kind == "minimax" and found_here:
            break
    if best is None:
        raise ValueError(
            f"no two-stage design with n <= {nmax} has type I error <= {alpha} and power "
            f">= {1 - beta} for p0={p0}, p1={p1}; raise nmax"
        )
    r1, n1, r, n = best[1]
    oc = simon_oc(r1, n1, r, n, [p0, p1])
    return SimonDesign(
        r1=r1, n1=n1, r=r, n=n, en0=float(oc.en[0]), pet0=float(oc.pet[0]),
        alpha=float(oc.p_promising[0]), power=float(oc.p_promising[1]),
        en1=float(oc.en[1]), pet1=float(oc.pet[1]), p0=p0, p1=p1, kind=kind,
    )  # fmt: skip


# -- Beta (mixture) priors -------------------------------------------------------------
@dataclass(frozen=True)
class BetaMixture:
    """A beta or beta-mixture prior for a response rate.

    ``components`` are ``(a, b)`` pairs; ``weights`` (normalised) their prior weights.
    """

    components: tuple[tuple[float, float], ...]
    weights: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        comps = tuple((float(a), float(b)) for a, b in self.components)
        if not comps:
            raise ValueError("prior: at least one beta component (a, b)")
        for a, b in comps:
            if not (a > 0 and b > 0 and np.isfinite(a) and np.isfinite(b)):
                raise ValueError(f"prior: beta parameters must be positive, got ({a}, {b})")
        w = np.ones(len(comps)) if not self.weights else np.asarray(self.weights, dtype=float)
        if w.shape != (len(comps),) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(
                f"prior: {len(comps)} component(s) need as many non-negative weights, "
                f"got {tuple(self.weights)}"
            )
        object.__setattr__(self, "components", comps)
        object.__setattr__(self, "weights", tuple(float(v) for v in w / w.sum()))

    @classmethod
    def of(cls, prior: BetaMixture | Sequence, weights: Sequence[float] | None = None):
        """Coerce ``(a, b)``, ``[(a1, b1), (a2, b2)]`` or a :class:`BetaMixture`."""
        if isinstance(prior, BetaMixture):
            if weights is not None:
                raise ValueError("prior: weights given twice (BetaMixture and weights=)")
            return prior
        arr = np.asarray(prior, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"prior must be (a, b) or a list of (a, b) pairs, got {prior!r}")
        return cls(tuple(map(tuple, arr)), tuple(weights) if weights is not None else ())

    @property
    def a(self) -> np.ndarray:
        return np.array([c[0] for c in self.components])

    @property
    def b(self) -> np.ndarray:
        return np.array([c[1] for c in self.components])

    def posterior_weights(self, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Posterior component weights after ``x`` responses in ``n`` (broadcast, last axis K)."""
        x = np.asarray(x, dtype=float)[..., None]
        n = np.asarray(n, dtype=float)[..., None]
        logw = (
            np.log(np.asarray(self.weights))
            + special.betaln(self.a + x, self.b + n - x)
            - special.betaln(self.a, self.b)
        )
        logw -= logw.max(axis=-1, keepdims=True)
        w = np.exp(logw)
        return w / w.sum(axis=-1, keepdims=True)


def _check_counts(x: int, n: int, max_n: int | None = None) -> tuple[int, int]:
    if int(x) != x or int(n) != n:
        raise ValueError(f"x and n must be whole numbers, got x={x}, n={n}")
    x, n = int(x), int(n)
    if not (0 <= x <= n):
        raise ValueError(f"need 0 <= x <= n (got x={x}, n={n})")
    if max_n is not None and (int(max_n) != max_n or max_n < n):
        raise ValueError(f"need a whole max_n >= n (got max_n={max_n}, n={n})")
    return x, n


def posterior_probability(
    x: int, n: int, p0: float, prior: BetaMixture | Sequence = (1.0, 1.0),
    weights: Sequence[float] | None = None,
) -> float:  # fmt: skip
    """Posterior probability ``P(p > p0 | x responses of n)`` under a beta(-mixture) prior.

    Examples
    --------
    >>> from bayes_dose.expansion import posterior_probability
    >>> round(posterior_probability(16, 23, 0.6, prior=(0.6, 0.4)), 7)  # Lee & Liu (2008)
    0.8359808
    """
    x, n = _check_counts(x, n)
    p0 = _check_prob("p0", p0)
    pr = BetaMixture.of(prior, weights)
    return float(_post_prob(pr, np.asarray(x), np.asarray(n), p0))


def _post_prob(pr: BetaMixture, x: np.ndarray, n: np.ndarray, p0: float) -> np.ndarray:
    w = pr.posterior_weights(x, n)
    xx = np.asarray(x, dtype=float)[..., None]
    nn = np.asarray(n, dtype=float)[..., None]
    return np.sum(w * special.betaincc(pr.a + xx, pr.b + nn - xx, p0), axis=-1)


def _predictive_pmf(pr: BetaMixture, x: int, n: int, m: int) -> np.ndarray:
    """Beta(-mixture)-binomial pmf of ``y = 0..m`` future responses after ``x`` of ``n``."""
    w = pr.posterior_weights(np.asarray(x), np.asarray(n))
    y = np.arange(m + 1, dtype=float)[:, None]
    a, b = pr.a + x, pr.b + n - x
    logpmf = (
        special.gammaln(m + 1) - special.gammaln(y + 1) - special.gammaln(m - y + 1)
        + special.betaln(a + y, b + m - y) - special.betaln(a, b)
    )  # fmt: skip
    return np.sum(w * np.exp(logpmf), axis=-1)


@renamed_kwargs(n_max="max_n")
def predictive_table(
    x: int, n: int, max_n: int, p0: float, theta_t: float,
    prior: BetaMixture | Sequence = (1.0, 1.0), weights: Sequence[float] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """The terms of the predictive probability: one row per number ``y`` of future responses.

    Columns: ``y``, ``total`` (``x + y``), ``density`` (beta-binomial predictive
    probability of ``y`` in the ``max_n - n`` patients still to come), ``posterior``
    (``P(p > p0 | x + y of max_n)``), ``success`` (``posterior > theta_t``).
    """
    x, n = _check_counts(x, n, max_n)
    max_n = int(max_n)
    p0 = _check_prob("p0", p0)
    theta_t = _check_prob("theta_t", theta_t, open_=False)
    pr = BetaMixture.of(prior, weights)
    m = max_n - n
    y = np.arange(m + 1)
    post = _post_prob(pr, x + y, np.full_like(y, max_n), p0)
    return pd.DataFrame(
        {"y": y, "total": x + y, "density": _predictive_pmf(pr, x, n, m), "posterior": post,
         "success": post > theta_t}
    )  # fmt: skip


@renamed_kwargs(n_max="max_n")
def predictive_probability(
    x: int, n: int, max_n: int, p0: float, theta_t: float,
    prior: BetaMixture | Sequence = (1.0, 1.0), weights: Sequence[float] | None = None,
) -> float:  # fmt: skip
    """Predictive probability of trial success (Lee & Liu 2008).

    After ``x`` responses in ``n`` patients, the probability under the beta-binomial
    predictive distribution of the remaining ``max_n - n`` patients that the final posterior
    probability ``P(p > p0 | data)`` exceeds ``theta_t``.

    Parameters
    ----------
    x, n
        Responses and patients so far.
    max_n
        Maximum number of patients.
    p0
        Response rate to beat.
    theta_t
        Posterior probability required at the end to call the trial a success.
    prior
        ``(a, b)`` of a beta prior, a list of ``(a, b)`` pairs (mixture), or a
        :class:`BetaMixture`.
    weights
        Prior weights of a mixture (default equal).

    Examples
    --------
    >>> from bayes_dose.expansion import predictive_probability
    >>> round(predictive_probability(16, 23, 40, 0.6, 0.9, prior=(0.6, 0.4)), 4)
    0.5656
    """
    t = predictive_table(x, n, max_n, p0, theta_t, prior, weights)
    return float(np.sum(t["density"] * t["success"]))


def _pp_all(pr: BetaMixture, n: int, max_n: int, p0: float, theta_t: float) -> np.ndarray:
    """Predictive probability for every ``x = 0..n`` at ``n`` (vector of n + 1)."""
    m = max_n - n
    y = np.arange(m + 1)
    out = np.empty(n + 1)
    for x in range(n + 1):
        succ = _post_prob(pr, x + y, np.full_like(y, max_n), p0) > theta_t
        out[x] = float(np.sum(_predictive_pmf(pr, x, n, m) * succ))
    return out


@renamed_kwargs(n_max="max_n")
def pp_boundaries(
    looks: Sequence[int], p0: float, theta_t: float, phi_l: float, phi_u: float = 1.0,
    prior: BetaMixture | Sequence = (1.0, 1.0), weights: Sequence[float] | None = None,
    max_n: int | None = None, conf_level: float = 0.9,
) -> pd.DataFrame:  # fmt: skip
    """Stopping boundaries of predictive-probability monitoring at each look.

    At ``n`` patients (a look), the trial stops for futility if the predictive probability
    is ``<= phi_l`` (``x <= x_lower``) and for efficacy if it is ``>= phi_u``
    (``x >= x_upper``; ``phi_u = 1`` never stops early for efficacy before ``max_n``).  At
    ``max_n`` the predictive probability is 1 if ``P(p > p0 | x) > theta_t`` else 0.

    Returns
    -------
    pandas.DataFrame
        Per look: ``n``, ``x_lower`` (largest ``x`` stopping for futility; ``<NA>`` if
        none), ``p_lower`` (``x_lower / n``), ``pp_lower``, ``post_lower``
        (``P(p > p0 | x_lower)``), ``ci_upper_lower`` (upper Clopper-Pearson bound at
        ``conf_level``), then the same for ``x_upper`` (smallest ``x`` stopping for
        efficacy; lower CP bound ``ci_lower_upper``).

    Examples
    --------
    >>> from bayes_dose.expansion import pp_boundaries
    >>> b = pp_boundaries([10, 20, 30, 40], p0=0.2, theta_t=0.8, phi_l=0.1, phi_u=0.9)
    >>> b["x_lower"].tolist(), b["x_upper"].tolist()
    ([0, 2, 5, 9], [4, 7, 9, 10])
    """
    looks = [checks.whole("pp_boundaries", "looks", v) for v in looks]
    if not looks or sorted(set(looks)) != looks or looks[0] < 1:
        raise ValueError(f"looks must be increasing positive patient numbers, got {looks}")
    max_n = looks[-1] if max_n is None else checks.whole("pp_boundaries", "max_n", max_n)
    if max_n < looks[-1]:
        raise ValueError(f"max_n={max_n} is below the last look {looks[-1]}")
    p0 = _check_prob("p0", p0)
    phi_l = _check_prob("phi_l", phi_l, open_=False)
    phi_u = _check_prob("phi_u", phi_u, open_=False)
    pr = BetaMixture.of(prior, weights)
    rows = []
    for n in looks:
        pp = _pp_all(pr, n, max_n, p0, theta_t)
        lo = np.nonzero(pp <= phi_l + _TOL)[0]
        hi = np.nonzero(pp >= phi_u - _TOL)[0]
        xl = int(lo.max()) if lo.size else None
        xu = int(hi.min()) if hi.size else None
        row: dict = {"n": n}
        for tag, x in (("lower", xl), ("upper", xu)):
            row[f"x_{tag}"] = x
            row[f"p_{tag}"] = np.nan if x is None else x / n
            row[f"pp_{tag}"] = np.nan if x is None else float(pp[x])
            row[f"post_{tag}"] = (
                np.nan if x is None else float(_post_prob(pr, np.asarray(x), np.asarray(n), p0))
            )
        row["ci_upper_lower"] = _cp(xl, n, conf_level)[1]
        row["ci_lower_upper"] = _cp(xu, n, conf_level)[0]
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in ("x_lower", "x_upper"):
        df[c] = pd.array(df[c].tolist(), dtype="Int64")
    return df


def _cp(x: int | None, n: int, conf_level: float) -> tuple[float, float]:
    if x is None:
        return (np.nan, np.nan)
    a = (1 - conf_level) / 2
    lo = 0.0 if x == 0 else float(stats.beta.ppf(a, x, n - x + 1))
    hi = 1.0 if x == n else float(stats.beta.ppf(1 - a, x + 1, n - x))
    return lo, hi


# -- predictive-probability monitoring design ---------------------------------------------
@dataclass(frozen=True)
class PPDesign:
    """Predictive-probability monitoring of a single-arm cohort (Lee & Liu 2008).

    At each look (``looks``, patient numbers before ``max_n``) the cohort stops for futility
    if the predictive probability of success is ``<= phi_l``, and, if ``phi_u < 1``, for
    efficacy if it is ``>= phi_u``.  At ``max_n`` the drug is called promising if
    ``P(p > p0 | data) > theta_t``.  Operating characteristics are exact (forward recursion
    over the number of responses).

    Examples
    --------
    >>> from bayes_dose.expansion import PPDesign
    >>> d = PPDesign(p0=0.2, max_n=20, theta_t=0.9, phi_l=0.05, looks=(10, 15))
    >>> d.decision_table()[["n", "x_lower"]].to_dict("list")
    {'n': [10, 15, 20], 'x_lower': [1, 3, 6]}
    >>> d.oc([0.2, 0.4]).round(3)[["p", "p_promising", "pet", "en"]].to_dict("list")
    {'p': [0.2, 0.4], 'p_promising': [0.084, 0.739], 'pet': [0.664, 0.104], 'en': [14.799, 19.249]}
    """

    p0: float
    max_n: int
    theta_t: float
    phi_l: float
    looks: tuple[int, ...]
    phi_u: float = 1.0
    prior: BetaMixture | Sequence = (1.0, 1.0)

    def __post_init__(self) -> None:
        looks = tuple(int(v) for v in self.looks)
        if any(not 1 <= v < self.max_n for v in looks) or sorted(set(looks)) != list(looks):
            raise ValueError(
                f"looks must be increasing patient numbers in 1..max_n-1={self.max_n - 1}, "
                f"got {self.looks}"
            )
        object.__setattr__(self, "looks", looks)
        object.__setattr__(self, "prior", BetaMixture.of(self.prior))
        _check_prob("p0", self.p0)
        _check_prob("theta_t", self.theta_t, open_=False)
        _check_prob("phi_l", self.phi_l, open_=False)
        _check_prob("phi_u", self.phi_u, open_=False)
        if not self.phi_l < self.phi_u:
            raise ValueError(f"need phi_l < phi_u (got phi_l={self.phi_l}, phi_u={self.phi_u})")

    #: Deprecated alias of :attr:`max_n`.
    n_max = deprecated_property("n_max", "max_n")

    def decision_table(self) -> pd.DataFrame:
        """Boundaries at every look and at ``max_n`` (see :func:`pp_boundaries`).

        ``x_upper`` at interim looks is ``<NA>`` when the design has no early efficacy stop.
        """
        b = pp_boundaries(
            [*self.looks, self.max_n], self.p0, self.theta_t, self.phi_l, self.phi_u,
            self.prior, max_n=self.max_n,
        )  # fmt: skip
        if self.phi_u >= 1.0:
            interim = b["n"] < self.max_n
            for c in ("p_upper", "pp_upper", "post_upper", "ci_lower_upper"):
                b.loc[interim, c] = np.nan
            b.loc[interim, "x_upper"] = pd.NA
        return b

    def oc(self, p: float | Sequence[float]) -> pd.DataFrame:
        """Exact operating characteristics at true response rate(s) ``p``.

        Columns: ``p``, ``p_promising`` (type I error at ``p0``, power at the alternative),
        ``pet`` (stopped before ``max_n``), ``p_stop_futility``, ``p_stop_efficacy`` (early),
        ``en`` (expected number of patients).
        """
        table = self.decision_table()
        bounds = {
            int(r.n): (
                None if pd.isna(r.x_lower) else int(r.x_lower),
                None if pd.isna(r.x_upper) else int(r.x_upper),
            )
            for r in table.itertuples()
        }
        rows = []
        for pp in np.atleast_1d(np.asarray(p, dtype=float)):
            pp = _check_prob("p", pp, open_=False)
            dist = np.array([1.0])  # P(x responses, still running) at n = 0
            n_prev, fut, eff, en = 0, 0.0, 0.0, 0.0
            for n in [*self.looks, self.max_n]:
                step = stats.binom.pmf(np.arange(n - n_prev + 1), n - n_prev, pp)
                dist = np.convolve(dist, step)
                xl, xu = bounds[n]
                x = np.arange(dist.size)
                stop_f = x <= xl if xl is not None else np.zeros(dist.size, bool)
                stop_e = x >= xu if xu is not None else np.zeros(dist.size, bool)
                if n == self.max_n:
                    stop_f = ~stop_e  # everything left stops at max_n
                f, e = float(dist[stop_f].sum()), float(dist[stop_e & ~stop_f].sum())
                en += n * (f + e)
                if n < self.max_n:
                    fut, eff = fut + f, eff + e
                else:
                    final_eff = e
                dist = np.where(stop_f | stop_e, 0.0, dist)
                n_prev = n
            rows.append(
                {"p": pp, "p_promising": eff + final_eff, "pet": fut + eff,
                 "p_stop_futility": fut, "p_stop_efficacy": eff, "en": en}
            )  # fmt: skip
        return pd.DataFrame(rows)


PPDesign.__init__ = renamed_kwargs(n_max="max_n")(PPDesign.__init__)  # type: ignore[method-assign]


@renamed_kwargs(n_max="max_n")
def pp_design_search(
    p0: float,
    p1: float,
    max_n: int,
    alpha: float,
    beta: float,
    prior: BetaMixture | Sequence = (1.0, 1.0),
    looks: Sequence[int] | None = None,
    theta_t: Sequence[float] = tuple(np.round(np.arange(0.80, 0.995, 0.01), 2)),
    phi_l: Sequence[float] = (0.001, 0.01, 0.05, 0.1, 0.15, 0.2),
) -> pd.DataFrame:
    """Search the thresholds ``(theta_t, phi_l)`` of a predictive-probability design.

    Every combination is evaluated exactly at ``p0`` and ``p1`` (no early efficacy stop).
    A design is feasible if its type I error is ``<= alpha`` and its power ``>= 1 - beta``.
    The table is sorted feasible first, then by expected size under ``p0`` (smallest first),
    then by power (largest first): the first row is the recommended design.

    Parameters
    ----------
    looks
        Interim looks (patient numbers); default every patient from ``min(10, max_n - 1)``.

    Returns
    -------
    pandas.DataFrame
        ``theta_t``, ``phi_l``, ``alpha`` (exact type I error), ``power``, ``en0``, ``pet0``,
        ``en1``, ``pet1``, ``feasible``.

    Examples
    --------
    >>> from bayes_dose.expansion import pp_design_search
    >>> t = pp_design_search(0.2, 0.45, max_n=20, alpha=0.1, beta=0.2, looks=(10, 15))
    >>> [round(float(t.iloc[0][c]), 3) for c in ("theta_t", "phi_l", "alpha", "power", "en0")]
    [0.9, 0.2, 0.068, 0.807, 12.336]
    """
    max_n = checks.whole("pp_design_search", "max_n", max_n, low=2)
    alpha, beta = _check_prob("alpha", alpha), _check_prob("beta", beta)
    if looks is None:
        looks = tuple(range(min(10, max_n - 1), max_n))
    pr = BetaMixture.of(prior)
    rows = []
    for tt in theta_t:
        for pl in phi_l:
            d = PPDesign(p0=p0, max_n=max_n, theta_t=float(tt), phi_l=float(pl),
                         looks=tuple(looks), prior=pr)  # fmt: skip
            oc = d.oc([p0, p1])
            rows.append(
                {"theta_t": float(tt), "phi_l": float(pl), "alpha": oc.p_promising[0],
                 "power": oc.p_promising[1], "en0": oc.en[0], "pet0": oc.pet[0],
                 "en1": oc.en[1], "pet1": oc.pet[1]}
            )  # fmt: skip
    df = pd.DataFrame(rows)
    df["feasible"] = (df["alpha"] <= alpha + _TOL) & (df["power"] >= 1 - beta - _TOL)
    return df.sort_values(
        ["feasible", "en0", "power"], ascending=[False, True, False], kind="stable"
    ).reset_index(drop=True)
