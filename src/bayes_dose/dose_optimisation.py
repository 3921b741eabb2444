"""A randomised dose-optimisation stage after escalation (ROSE-type selection designs).

After escalation has cleared two or three candidate doses (e.g. BAT6021 300 and 600 mg),
patients are randomised equally between them, ``n_per_arm`` each, and one dose is chosen
at the end.  :class:`RandomisedStage` computes the probability of choosing the *truly
better* dose exactly (binomial enumeration), simulates the stage on common random
numbers (toxicity and response per patient, Gaussian copula of :mod:`bayes_dose.efficacy`)
and finds the sample size per arm for a target probability.

**Rules.**  Every rule scores a patient by the cell of (response, DLT) and compares the
arms' mean scores; the lowest dose whose observed mean score is at least the best
observed mean minus ``boundary`` is selected (ties: the lower dose).

* :class:`ROSE` (Wang, Yuan & Liu 2025, Biometrics 81(4) ujaf124, "ROSE: randomized
  optimal selection design for dose optimization"): score = response (0/1).  With two
  doses: select the higher dose iff ``p_hat_H - p_hat_L > boundary`` (strictly), else the
  lower -- the paper's one-stage rule.  With three doses the rule above is this package's
  generalisation (not in the paper).
* :class:`UtilityRule`: score = the utility of the patient's cell, ``(u1, u2, u3, u4)`` =
  (response without DLT, neither, both, DLT without response), BOIN12's defaults
  ``(100, 40, 60, 0)``; integers, so the exact distribution is a convolution.

**Truly better dose.**  ``margin`` is the clinically meaningful difference: the truly
better dose is the lowest dose whose true mean score is less than ``margin`` below the
best dose's (ROSE: response rate).  ROSE's two design scenarios are its end points: equal
rates (the lower dose is better) and a difference of exactly ``margin`` (the higher dose
is better).  Between them (the indifference zone) the lower dose counts as better, but
ROSE's sample size guarantees its probability only at the two end points
(``Selection.indifference`` flags it).

**Exact probabilities.**  The arm's score sum is the ``n``-fold convolution of the
per-patient score distribution (ROSE: binomial); two arms: the distribution of the
difference; three arms: enumeration over the first arm's sum and the joint grid of the
other two.  The boundary on means becomes the integer cut ``floor(boundary * n / g +
1e-9)`` on score sums (``g``: the utilities' greatest common divisor), so that a boundary
like ``0.1 * 20`` is exactly 2.

**Simulation (CRN).**  Arm ``a`` (position in ``doses``) of stage trial ``t`` has patients
``k = 0, 1, ...`` with toxicity uniforms ``u`` and response-stream uniforms ``v`` from
Philox streams keyed by ``SeedSequence(seed, spawn_key=(STAGE_STREAM, a, 0 | 1))``
(:mod:`bayes_dose.crn`): DLT iff ``u < p_tox[a]``, response iff ``response_latent(u, v,
rho) < p_resp[a]``.  They are pure functions of ``(seed, t, a, k)``: a larger
``n_per_arm`` adds patients and keeps the first ones (curves over ``n`` are smooth), and
every rule and scenario sees the same patients.  Allocation order is immaterial for a
one-stage design (only the arms' counts are read), so each arm's ``n_per_arm`` patients
are drawn directly (1:1 or 1:1:1 randomisation).

Not built: ROSE's two-stage version (interim early selection with O'Brien-Fleming error
spending), unequal allocation and a toxicity rule inside the stage (ROSE assumes both
doses were found safe; the simulation reports DLTs per arm).

Examples
--------
>>> import bayes_dose as bd
>>> d = bd.rose_design(p_high=0.3, margin=0.1, pcs_low=0.6, pcs_high=0.6, method="exact")
>>> d.n_per_arm, round(d.boundary, 4)
(23, 0.0435)
>>> stage = d.stage(doses=[300, 600])
>>> sel = stage.probability_correct(p_resp=[0.3, 0.3])
>>> sel.truly_better, round(sel.p_correct, 4)
(300.0, 0.6855)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from .crn import latent_uniforms
from .efficacy import check_correlation, joint_probabilities, response_latent

__all__ = [
    "ROSE",
    "STAGE_STREAM",
    "DoseOptimisationSection",
    "RandomisedStage",
    "RoseDesign",
    "SampleSize",
    "Selection",
    "UtilityRule",
    "dose_optimisation_table",
    "rose_design",
]

#: First word of the spawn key of the stage's streams ("DOPT").
STAGE_STREAM = 0x444F5054
_CUT_EPS = 1e-9


# ----------------------------------------------------------------------------- rules
def _check_prob(x: Any, name: str, open_: bool = False) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {x!r}")
    v = float(x)
    ok = (0 < v < 1) if open_ else (0 <= v <= 1)
    if not ok:
        raise ValueError(f"{name} must be in {'(0, 1)' if open_ else '[0, 1]'}, got {x!r}")
    return v


@dataclass(frozen=True)
class ROSE:
    """ROSE's selection rule on response rates (Wang, Yuan & Liu 2025).

    Parameters
    ----------
    margin : float
        Clinically meaningful difference in response rate (e.g. 0.1): the truly better
        dose is the lowest whose true rate is less than ``margin`` below the best.
    boundary : float, optional
        Decision boundary ``lambda``: select the higher dose iff its observed rate exceeds
        the lower's by more than ``boundary`` (:func:`rose_design` derives it; needed for
        probabilities and simulation).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.ROSE(margin=0.1, boundary=0.05).select([6, 8], n_per_arm=20)   # 0.40 - 0.30 > 0.05
    1
    """

    margin: float
    boundary: float | None = None
    scores: tuple[int, int, int, int] = field(default=(1, 0, 1, 0), init=False, repr=False)
    uses_toxicity = False
    what = "response rate"

    def __post_init__(self) -> None:
        _check_rule(self)

    def true_score(self, p_resp: np.ndarray, p_tox: np.ndarray | None, rho: float) -> np.ndarray:
        """True mean score per dose (the response rate)."""
        return np.asarray(p_resp, dtype=float)

    def select(self, score_sums: Sequence[int], n_per_arm: int) -> int:
        """0-based index of the dose selected from the arms' score sums (responders)."""
        return _select_one(np.asarray(score_sums), _cut(self, n_per_arm))

    @property
    def unit(self) -> int:
        return 1


@dataclass(frozen=True)
class UtilityRule:
    """Selection on mean utility of (response, DLT), the BOIN12 utility table.

    Parameters
    ----------
    margin : float
        Clinically meaningful difference in mean utility: the truly better dose is the
        lowest whose true mean utility is less than ``margin`` below the best.
    boundary : float
        Select the lowest dose whose observed mean utility is at least the best observed
        mean minus ``boundary``.
    utility : (u1, u2, u3, u4) of int
        Response without DLT, neither, both, DLT without response (BOIN12: 100, 40, 60, 0).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> r = bd.UtilityRule(margin=10, boundary=5)
    >>> r.true_score([0.3, 0.4], [0.05, 0.25], 0.0).round(2).tolist()   # 100 x 0.285 + ...
    [56.0, 54.0]
    """

    margin: float
    boundary: float | None = None
    utility: tuple[int, int, int, int] = (100, 40, 60, 0)
    uses_toxicity = True
    what = "mean utility"

    def __post_init__(self) -> None:
        u = tuple(self.utility)
        if len(u) != 4 or any(isinstance(x, (bool, np.bool_)) for x in u) or not all(
                isinstance(x, (int, np.integer)) or (isinstance(x, float) and x.is_integer())
                for x in u):  # fmt: skip
            raise ValueError(
                f"UtilityRule: utility must be 4 integers (u1..u4, e.g. (100, 40, 60, 0)) so the "
                f"exact distribution is a convolution, got {self.utility!r}"
            )
        u = tuple(int(x) for x in u)
        if min(u) < 0 or max(u) == 0:
            raise ValueError(f"UtilityRule: utilities must be >= 0 and not all 0, got {u}")
        object.__setattr__(self, "utility", u)
        _check_rule(self)

    @property
    def unit(self) -> int:
        return reduce(math.gcd, self.utility)

    @property
    def scores(self) -> tuple[int, int, int, int]:
        return tuple(x // self.unit for x in self.utility)  # type: ignore[return-value]

    def true_score(self, p_resp: np.ndarray, p_tox: np.ndarray | None, rho: float) -> np.ndarray:
        """True mean utility per dose (joint cells of the copula)."""
        if p_tox is None:
            raise ValueError("UtilityRule needs p_tox= (utility depends on DLT and response)")
        return joint_probabilities(p_tox, p_resp, rho) @ np.asarray(self.utility, dtype=float)

    def select(self, score_sums: Sequence[int], n_per_arm: int) -> int:
        """0-based index of the dose selected from the arms' utility sums (in units of
        the utilities, e.g. 100 per responder without DLT)."""
        s = np.asarray(score_sums)
        if np.any(s % self.unit):
            raise ValueError(f"UtilityRule.select: sums must be multiples of {self.unit}")
        return _select_one(s // self.unit, _cut(self, n_per_arm))


Rule = ROSE | UtilityRule


def _check_rule(rule: Rule) -> None:
    name = type(rule).__name__
    for f in ("margin", "boundary"):
        v = getattr(rule, f)
        if v is None and f == "boundary":
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                                 np.floating)):  # fmt: skip
            raise ValueError(f"{name}: {f} must be a number, got {v!r}")
        if not 0 <= float(v) < math.inf or (f == "margin" and float(v) == 0):
            raise ValueError(f"{name}: {f} must be {'> 0' if f == 'margin' else '>= 0'}, got {v!r}")
        if isinstance(rule, ROSE) and float(v) >= 1:  # differences of two response rates
            raise ValueError(f"{name}: {f} is a difference of response rates and must be < 1, "
                             f"got {v!r}")  # fmt: skip
    if rule.boundary is not None and float(rule.boundary) > float(rule.margin):
        import warnings

        warnings.warn(f"{name}: boundary {rule.boundary!r} is above the margin {rule.margin!r}: "
                      "the higher dose is chosen only when it beats the lower by more than the "
                      "margin that makes it better (rose_design gives boundary <= margin)",
                      UserWarning, stacklevel=3)  # fmt: skip


def _cut(rule: Rule, n: int) -> int:
    """Integer cut on score sums: select a dose whose sum is >= best - cut."""
    if rule.boundary is None:
        raise ValueError(
            f"{type(rule).__name__}: no boundary; give boundary= or derive it with "
            "bd.rose_design(...)"
        )
    return math.floor(float(rule.boundary) * n / rule.unit + _CUT_EPS)


def _select_one(sums: np.ndarray, cut: int) -> int:
    best = sums.max()
    return int(np.flatnonzero(sums >= best - cut)[0])


# ----------------------------------------------------------------------------- exact
def _patient_pmf(rule: Rule, p_resp: float, p_tox: float | None, rho: float) -> np.ndarray:
    """Distribution of one patient's integer score."""
    s = rule.scores
    if not rule.uses_toxicity:
        cells = np.array([p_resp, 1 - p_resp, 0.0, 0.0])
    else:
        cells = joint_probabilities([p_tox], [p_resp], rho)[0]
    pmf = np.zeros(max(s) + 1)
    for c, sc in zip(cells, s, strict=True):
        pmf[sc] += c
    return pmf


def _sum_pmf(pmf: np.ndarray, n: int) -> np.ndarray:
    """``n``-fold convolution (binary powering), clipped at 0 against round-off."""
    out, base = np.ones(1), pmf
    while n:
        if n & 1:
            out = np.convolve(out, base)
        n >>= 1
        if n:
            base = np.convolve(base, base)
    return np.clip(out, 0.0, None)


def _exact_select(pmfs: list[np.ndarray], cut: int) -> np.ndarray:
    """P(select each arm) given the arms' score-sum distributions."""
    k = len(pmfs)
    if k == 2:
        a, b = pmfs
        diff = np.convolve(b, a[::-1])  # index i: S_b - S_a = i - (len(a) - 1)
        off = a.size - 1
        low = diff[: min(diff.size, off + cut + 1)].sum()
        return np.array([low, 1.0 - low])
    a, b, c = pmfs
    sb, sc = np.arange(b.size)[:, None], np.arange(c.size)[None, :]
    joint_bc = b[:, None] * c[None, :]
    m_bc = np.maximum(sb, sc)
    out = np.zeros(3)
    for s1, w in enumerate(a):
        if w == 0:
            continue
        m = np.maximum(m_bc, s1)
        one = s1 >= m - cut
        two = ~one & (sb >= m - cut)
        out[0] += w * joint_bc[one].sum()
        out[1] += w * joint_bc[two].sum()
    out[2] = 1.0 - out[0] - out[1]
    return out


@dataclass(frozen=True)
class Selection:
    """Exact selection probabilities of a stage under one truth.

    Attributes
    ----------
    doses : tuple of float
    n_per_arm : int
    p_select : tuple of float
        Probability each dose is selected (sums to 1).
    true_score : tuple of float
        True mean score per dose (response rate or mean utility).
    truly_better : float
        The truly better dose (module docstring).
    p_correct : float
        Probability of selecting it.
    indifference : bool
        Some dose below the best is within ``(0, margin)`` of it (ROSE's indifference
        zone): the lower dose counts as better, but a ROSE sample size does not
        guarantee this probability.
    reason : str
        One sentence naming every input.
    """

    doses: tuple[float, ...]
    n_per_arm: int
    p_select: tuple[float, ...]
    true_score: tuple[float, ...]
    truly_better: float
    p_correct: float
    indifference: bool
    reason: str


# ----------------------------------------------------------------------------- the stage
@dataclass(frozen=True)
class RandomisedStage:
    """A randomised stage between 2 or 3 candidate doses, ``n_per_arm`` patients each.

    Parameters
    ----------
    doses : sequence of float
        Candidate doses, increasing (e.g. ``[300, 600]`` mg).
    n_per_arm : int
        Patients randomised to each dose.
    rule : ROSE or UtilityRule

    Examples
    --------
    >>> import bayes_dose as bd
    >>> stage = bd.RandomisedStage(doses=[300, 600], n_per_arm=30,
    ...                            rule=bd.ROSE(margin=0.15, boundary=0.05))
    >>> round(stage.probability_correct([0.35, 0.35]).p_correct, 3)   # equal: 300 is better
    0.658
    >>> stage.sample_size(target=0.8, p_resp=[0.35, 0.35]).n_per_arm
    120
    """

    doses: Sequence[float]
    n_per_arm: int
    rule: Rule

    def __post_init__(self) -> None:
        d = list(self.doses) if isinstance(self.doses, (Sequence, np.ndarray)) and not \
            isinstance(self.doses, str) and np.ndim(self.doses) == 1 else None  # fmt: skip
        if d is None or len(d) not in (2, 3) or any(
                isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.number))
                for x in d):  # fmt: skip
            raise ValueError(f"RandomisedStage: doses must be 2 or 3 numbers, got {self.doses!r}")
        d = [float(x) for x in d]
        if any(not math.isfinite(x) or x <= 0 for x in d) or any(
                b <= a for a, b in pairwise(d)):  # fmt: skip
            raise ValueError(f"RandomisedStage: doses must be positive and increasing, got {d}")
        object.__setattr__(self, "doses", tuple(d))
        _check_n(self.n_per_arm, "RandomisedStage: n_per_arm")
        object.__setattr__(self, "n_per_arm", int(self.n_per_arm))
        if not isinstance(self.rule, (ROSE, UtilityRule)):
            raise ValueError(
                f"RandomisedStage: rule must be bd.ROSE(...) or bd.UtilityRule(...), got "
                f"{type(self.rule).__name__}"
            )

    # -- inputs ------------------------------------------------------------------------
    def _truth(self, p_resp: Any, p_tox: Any, correlation: Any
               ) -> tuple[np.ndarray, np.ndarray | None, float]:  # fmt: skip
        k = len(self.doses)

        def curve(x: Any, name: str) -> np.ndarray:
            if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)) or \
                    len(x) != k:  # fmt: skip
                raise ValueError(f"{name}: one probability per dose {list(self.doses)}, got {x!r}")
            return np.array([_check_prob(v, f"{name} at dose {self.doses[i]:g}")
                             for i, v in enumerate(x)])  # fmt: skip

        q = curve(p_resp, "p_resp")
        p = None if p_tox is None else curve(p_tox, "p_tox")
        if self.rule.uses_toxicity and p is None:
            raise ValueError(f"{type(self.rule).__name__} needs p_tox= (one DLT probability "
                             "per dose)")  # fmt: skip
        return q, p, check_correlation(correlation)

    def _truly_better(self, score: np.ndarray) -> tuple[int, bool]:
        best = score.max()
        gap = best - score
        tol = 1e-12 * max(1.0, abs(best))
        idx = int(np.flatnonzero(gap < float(self.rule.margin) - tol)[0])
        indiff = bool(np.any((gap > tol) & (gap < float(self.rule.margin) - tol)))
        return idx, indiff

    # -- exact -------------------------------------------------------------------------
    def probability_correct(self, p_resp: Sequence[float], p_tox: Sequence[float] | None = None,
                            correlation: float = 0.0,
                            n_per_arm: int | None = None) -> Selection:  # fmt: skip
        """Exact probability of selecting each dose and the truly better one.

        Parameters
        ----------
        p_resp : sequence of float
            True response probability per dose.
        p_tox : sequence of float, optional
            True DLT probability per dose (needed by :class:`UtilityRule`).
        correlation : float
            Copula correlation of DLT and response (utility rules only).
        n_per_arm : int, optional
            Another sample size than the stage's.

        Returns
        -------
        Selection
        """
        q, p, rho = self._truth(p_resp, p_tox, correlation)
        n = self.n_per_arm if n_per_arm is None else _check_n(n_per_arm, "n_per_arm")
        return self._exact(q, p, rho, n)

    def _exact(self, q: np.ndarray, p: np.ndarray | None, rho: float, n: int) -> Selection:
        pmfs = [_sum_pmf(_patient_pmf(self.rule, q[i], None if p is None else p[i], rho), n)
                for i in range(q.size)]  # fmt: skip
        ps = _exact_select(pmfs, _cut(self.rule, n))
        score = self.rule.true_score(q, p, rho)
        best, indiff = self._truly_better(score)
        r = self.rule
        reason = (
            f"{type(r).__name__}(margin={r.margin:g}, boundary={r.boundary:g}) with {n} patients "
            f"per arm at {', '.join(f'{x:g}' for x in self.doses)}; true {r.what} "
            f"{', '.join(f'{x:.3g}' for x in score)}"
            + ("" if p is None else f" (p_tox {', '.join(f'{x:.3g}' for x in p)}, rho {rho:g})")
            + f": truly better {self.doses[best]:g} (lowest within {r.margin:g} of the best)"
            + (", in the indifference zone" if indiff else "")
            + f"; P(select it) = {ps[best]:.4f}"
        )
        return Selection(self.doses, n, tuple(float(x) for x in ps),
                         tuple(float(x) for x in score), self.doses[best], float(ps[best]),
                         indiff, reason)  # fmt: skip

    def curve(self, p_resp: Sequence[float], n_values: Sequence[int],
              p_tox: Sequence[float] | None = None, correlation: float = 0.0) -> pd.DataFrame:
        """Exact P(correct) and P(select each dose) for each ``n`` per arm (a table)."""
        q, p, rho = self._truth(p_resp, p_tox, correlation)
        rows = []
        for n in n_values:
            s = self._exact(q, p, rho, _check_n(n, "n_values"))
            rows.append({"n_per_arm": s.n_per_arm, "p_correct": s.p_correct,
                         **{f"p_select_{d:g}": x for d, x in zip(self.doses, s.p_select,
                                                                  strict=True)}})  # fmt: skip
        return pd.DataFrame(rows)

    def sample_size(self, target: float, p_resp: Sequence[float],
                    p_tox: Sequence[float] | None = None, correlation: float = 0.0,
                    max_n: int = 500) -> SampleSize:  # fmt: skip
        """Smallest ``n`` per arm with exact P(correct) >= ``target`` under this truth.

        P(correct) is not monotone in ``n`` (discreteness), so ``n_stable`` is also
        given: the smallest ``n`` from which every ``n' <= max_n`` reaches the target.
        No such ``n <= max_n`` is a ValueError naming the best probability reached.
        """
        t = _check_prob(target, "target", open_=True)
        max_n = _check_n(max_n, "max_n")
        q, p, rho = self._truth(p_resp, p_tox, correlation)
        pc = np.array([self._exact(q, p, rho, n).p_correct for n in range(1, max_n + 1)])
        ok = pc >= t
        if not ok.any():
            raise ValueError(
                f"sample_size: P(correct) does not reach {t:g} for n <= {max_n} per arm "
                f"(best {pc.max():.3f} at n = {int(pc.argmax()) + 1}); a truth in the "
                "indifference zone, or a boundary too close to the margin, may never reach it"
            )
        first = int(np.flatnonzero(ok)[0]) + 1
        bad = np.flatnonzero(~ok)
        stable = (int(bad[-1]) + 2) if bad.size else 1
        stable_n = stable if stable <= max_n else None
        return SampleSize(first, stable_n, float(pc[first - 1]), t, max_n,
                          pd.DataFrame({"n_per_arm": np.arange(1, max_n + 1),
                                        "p_correct": pc}))  # fmt: skip

    # -- simulation --------------------------------------------------------------------
    def simulate(self, p_resp: Sequence[float], p_tox: Sequence[float] | None = None,
                 correlation: float = 0.0, n_trials: int = 10_000, seed: int = 0) -> Any:
        """Simulate the stage on common random numbers (module docstring).

        Returns
        -------
        xarray.Dataset
            ``resp``, ``dlt``, ``both`` (trial, arm): responders, DLTs, both per arm;
            ``selected`` (trial): 0-based index into ``doses``; ``correct`` (trial);
            attrs ``p_correct`` and ``p_correct_se`` (binomial MC SE), ``truly_better``,
            ``exact_p_correct`` (the same truth by enumeration), ``reason``.
        """
        import xarray as xr

        q, p, rho = self._truth(p_resp, p_tox, correlation)
        n_trials = _check_n(n_trials, "n_trials")
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or \
                seed < 0:  # fmt: skip
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        n, k = self.n_per_arm, q.size
        trials = np.arange(n_trials)
        pt = np.zeros(k) if p is None else p
        resp = np.zeros((n_trials, k), dtype=np.int64)
        dlt = np.zeros((n_trials, k), dtype=np.int64)
        both = np.zeros((n_trials, k), dtype=np.int64)
        for a in range(k):
            u, v = (latent_uniforms(np.random.SeedSequence(int(seed), spawn_key=(STAGE_STREAM,
                                                                                 a, w)),
                                    trials, n) for w in (0, 1))  # fmt: skip
            tox = u < pt[a]
            r = response_latent(u, v, rho) < q[a]
            resp[:, a], dlt[:, a], both[:, a] = r.sum(1), tox.sum(1), (r & tox).sum(1)
        s = self.rule.scores
        sums = (both * s[2] + (resp - both) * s[0] + (dlt - both) * s[3]
                + (n - resp - dlt + both) * s[1])  # fmt: skip
        cut = _cut(self.rule, n)
        best = sums.max(axis=1, keepdims=True)
        selected = np.argmax(sums >= best - cut, axis=1)
        exact = self._exact(q, p, rho, n)
        b = self.doses.index(exact.truly_better)
        correct = selected == b
        pc = float(correct.mean())
        return xr.Dataset(
            {
                "resp": (("trial", "arm"), resp.astype(np.int16), {"long_name": "responders"}),
                "dlt": (("trial", "arm"), dlt.astype(np.int16), {"long_name": "DLTs"}),
                "both": (("trial", "arm"), both.astype(np.int16),
                         {"long_name": "patients with a response and a DLT"}),
                "selected": ("trial", selected.astype(np.int8),
                             {"long_name": "selected dose (0-based index into doses)"}),
                "correct": ("trial", correct, {"long_name": "selected the truly better dose"}),
            },
            coords={"trial": trials, "arm": np.arange(k), "dose": ("arm", list(self.doses))},
            attrs={"n_per_arm": n, "p_correct": pc,
                   "p_correct_se": math.sqrt(max(pc * (1 - pc), 1e-300) / n_trials),
                   "truly_better": exact.truly_better, "exact_p_correct": exact.p_correct,
                   "seed": int(seed), "reason": exact.reason,
                   "streams": f"SeedSequence(seed, spawn_key=({STAGE_STREAM:#x}, arm, 0|1))"},
        )  # fmt: skip

    # -- figure ------------------------------------------------------------------------
    def plot_sample_size(self, scenarios: Mapping[str, Sequence[float]],
                         n_values: Sequence[int] = tuple(range(5, 101)),
                         target: float | None = 0.8, p_tox: Mapping[str, Sequence[float]] | None
                         = None, correlation: float = 0.0, ax: Any = None) -> Any:  # fmt: skip
        """P(correct) against ``n`` per arm, one line per scenario (exact), with the
        target as a dashed line; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.6))
        for name, q in scenarios.items():
            pt = None if p_tox is None else p_tox[name]
            c = self.curve(q, n_values, pt, correlation)
            best = self._exact(*self._truth(q, pt, correlation), self.n_per_arm).truly_better
            ax.plot(c.n_per_arm, c.p_correct, label=f"{name} (better: {best:g})")
        if target is not None:
            ax.axhline(target, ls="--", c="grey", lw=1)
        ax.set_xlabel("patients per arm")
        ax.set_ylabel("P(select the truly better dose)")
        ax.set_ylim(0, 1)
        r = self.rule
        ax.set_title(f"{type(r).__name__}: margin {r.margin:g}, boundary {r.boundary:g}")
        ax.legend(fontsize=8)
        return ax


def _check_n(n: Any, name: str) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {n!r}")
    return int(n)


@dataclass(frozen=True)
class SampleSize:
    """Result of :meth:`RandomisedStage.sample_size`.

    Attributes
    ----------
    n_per_arm : int
        Smallest ``n`` per arm with P(correct) >= target.
    n_stable : int or None
        Smallest ``n`` from which every ``n <= max_n`` reaches the target (None: none).
    p_correct : float
        P(correct) at ``n_per_arm``.
    target : float
    max_n : int
    curve : DataFrame
        ``n_per_arm``, ``p_correct`` for ``n = 1..max_n``.
    """

    n_per_arm: int
    n_stable: int | None
    p_correct: float
    target: float
    max_n: int
    curve: pd.DataFrame = field(repr=False)


# ----------------------------------------------------------------------------- ROSE design
@dataclass(frozen=True)
class RoseDesign:
    """A one-stage ROSE design (:func:`rose_design`).

    Attributes
    ----------
    n_per_arm : int
    boundary : float
        Select the higher dose iff its observed rate exceeds the lower's by more than this.
    p_high, margin, pcs_low, pcs_high : float
        Inputs: scenario S_L has both rates ``p_high``; S_H has the lower dose at
        ``p_high - margin``; required P(correct) in each.
    method : {"exact", "normal"}
    achieved_low, achieved_high : float
        Exact (binomial) P(correct) of the design in S_L and S_H (for ``"normal"`` they
        may fall short of the targets: the paper's normal approximation).
    """

    n_per_arm: int
    boundary: float
    p_high: float
    margin: float
    pcs_low: float
    pcs_high: float
    method: str
    achieved_low: float
    achieved_high: float

    def stage(self, doses: Sequence[float]) -> RandomisedStage:
        """The design as a :class:`RandomisedStage` between two ``doses``."""
        if len(doses) != 2:
            raise ValueError("a ROSE design compares two doses")
        return RandomisedStage(doses, self.n_per_arm, ROSE(self.margin, self.boundary))


def rose_design(p_high: float, margin: float, pcs_low: float = 0.6, pcs_high: float = 0.6,
                method: str = "exact", max_n: int = 500) -> RoseDesign:  # fmt: skip
    """ROSE's one-stage sample size and boundary (Wang, Yuan & Liu 2025).

    Scenario S_L: both doses respond at ``p_high`` (the lower dose is correct); S_H: the
    lower dose at ``p_high - margin`` (the higher is correct).  Find the smallest ``n`` per
    arm and a boundary ``lambda`` with P(select low | S_L) >= ``pcs_low`` and P(select high
    | S_H) >= ``pcs_high``, selecting high iff ``p_hat_H - p_hat_L > lambda``.

    * ``"normal"`` (the paper's closed form): ``n = ceil(((z_L sqrt(v_L) + z_H sqrt(v_H)) /
      margin)^2)`` with ``z = Phi^-1(pcs)``, ``v_L = 2 p (1 - p)``, ``v_H = p (1 - p) + (p -
      margin)(1 - p + margin)``; ``lambda = margin - z_H sqrt(v_H / n)``.
    * ``"exact"``: binomial enumeration; the smallest ``n`` for which some integer cut ``c``
      in ``[0, margin n]`` meets both (boundary ``c / n``, the smallest such ``c``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> [bd.rose_design(0.3, 0.1, a, b, method="normal").n_per_arm
    ...  for a, b in [(0.6, 0.6), (0.6, 0.7), (0.7, 0.7)]]
    [11, 24, 44]
    """
    p = _check_prob(p_high, "p_high", open_=True)
    if isinstance(margin, (bool, np.bool_)) or not isinstance(margin, (int, float, np.number)) \
            or not 0 < float(margin) < p:  # fmt: skip
        raise ValueError(f"rose_design: margin must be in (0, p_high = {p:g}), got {margin!r}")
    d = float(margin)
    al = _check_prob(pcs_low, "pcs_low", open_=True)
    ah = _check_prob(pcs_high, "pcs_high", open_=True)
    max_n = _check_n(max_n, "max_n")
    low_s, high_s = np.array([p, p]), np.array([p - d, p])

    def pcs(n: int, c: int) -> tuple[float, float]:
        r = ROSE(d, c / n)
        st = RandomisedStage([1.0, 2.0], n, r)
        return st._exact(low_s, None, 0.0, n).p_select[0], st._exact(high_s, None, 0.0,
                                                                      n).p_select[1]

    if method == "normal":
        zl, zh = ndtri(al), ndtri(ah)
        vl, vh = 2 * p * (1 - p), p * (1 - p) + (p - d) * (1 - p + d)
        n = math.ceil(((zl * math.sqrt(vl) + zh * math.sqrt(vh)) / d) ** 2 - 1e-12)
        lam = d - zh * math.sqrt(vh / n)
        st = RandomisedStage([1.0, 2.0], n, ROSE(d, max(lam, 0.0)))
        lo, hi = st._exact(low_s, None, 0.0, n).p_select[0], st._exact(high_s, None, 0.0,
                                                                        n).p_select[1]
        return RoseDesign(n, float(lam), p, d, al, ah, "normal", float(lo), float(hi))
    if method != "exact":
        raise ValueError(f"rose_design: method must be 'exact' or 'normal', got {method!r}")
    for n in range(1, max_n + 1):
        a_pmf = [_sum_pmf(np.array([1 - x, x]), n) for x in (p - d, p)]
        diff_l = np.convolve(a_pmf[1], a_pmf[1][::-1])
        diff_h = np.convolve(a_pmf[1], a_pmf[0][::-1])
        cl, ch = np.cumsum(diff_l), np.cumsum(diff_h)
        for c in range(math.floor(d * n + _CUT_EPS) + 1):
            lo, hi = cl[n + c], 1.0 - ch[n + c]
            if lo >= al and hi >= ah:
                lo, hi = pcs(n, c)
                return RoseDesign(n, c / n, p, d, al, ah, "exact", lo, hi)
    raise ValueError(f"rose_design: no exact design with n <= {max_n} per arm")


# ----------------------------------------------------------------------------- memo
def dose_optimisation_table(stage: RandomisedStage, scenarios: Mapping[str, Sequence[float]],
                            target: float = 0.8,
                            p_tox: Mapping[str, Sequence[float]] | None = None,
                            correlation: float = 0.0, max_n: int = 500) -> pd.DataFrame:  # fmt: skip
    """One row per scenario for a memo section: true scores, the truly better dose, P(select
    each dose) and P(correct) at the stage's ``n_per_arm``, and the ``n`` per arm for
    ``target`` (NaN when not reached by ``max_n``; the reason column says so).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> st = bd.RandomisedStage([300, 600], 25, bd.ROSE(margin=0.15, boundary=0.05))
    >>> t = bd.dose_optimisation_table(st, {"plateau": [0.35, 0.35], "rising": [0.2, 0.35]})
    >>> t[["scenario", "truly_better", "n_for_target"]].values.tolist()
    [['plateau', 300.0, 120.0], ['rising', 600.0, 19.0]]
    """
    rows = []
    for name, q in scenarios.items():
        pt = None if p_tox is None else p_tox[name]
        s = stage.probability_correct(q, pt, correlation)
        try:
            ss = stage.sample_size(target, q, pt, correlation, max_n)
            n_t, note = float(ss.n_per_arm), f"n for P(correct) >= {target:g}: {ss.n_per_arm}"
        except ValueError as exc:
            n_t, note = math.nan, str(exc)
        rows.append({"scenario": name,
                     **{f"true_{d:g}": x for d, x in zip(stage.doses, s.true_score, strict=True)},
                     "truly_better": s.truly_better, "indifference": s.indifference,
                     **{f"p_select_{d:g}": x for d, x in zip(stage.doses, s.p_select, strict=True)},
                     "p_correct": s.p_correct, "n_per_arm": stage.n_per_arm,
                     "n_for_target": n_t, "reason": s.reason + "; " + note})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class DoseOptimisationSection:
    """A memo section (``bd.report(..., sections=[...])``) answering "how many patients
    per arm to choose between the stage's doses?": :func:`dose_optimisation_table` as a
    table, the rule in words, and each scenario's reason.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from bayes_dose.dose_optimisation import DoseOptimisationSection
    >>> st = bd.RandomisedStage([300, 600], 25, bd.ROSE(margin=0.15, boundary=0.05))
    >>> sec = DoseOptimisationSection(st, {"plateau": [0.35, 0.35], "rising": [0.2, 0.35]})
    >>> "| plateau |" in sec.to_markdown() and "<table" in sec.to_html()
    True
    """

    stage: RandomisedStage
    scenarios: Mapping[str, Sequence[float]]
    target: float = 0.8
    p_tox: Mapping[str, Sequence[float]] | None = None
    correlation: float = 0.0
    max_n: int = 500
    title: str = "Randomised dose-optimisation stage"

    def table(self) -> pd.DataFrame:
        """The section's table (one row per scenario)."""
        return dose_optimisation_table(self.stage, self.scenarios, self.target, self.p_tox,
                                       self.correlation, self.max_n)  # fmt: skip

    def _shown(self) -> tuple[pd.DataFrame, list[str]]:
        t = self.table()
        shown = t.drop(columns=["reason", "indifference"]).rename(columns={
            "scenario": "Scenario", "truly_better": "Truly better dose (mg)",
            "p_correct": f"P(correct) at n = {self.stage.n_per_arm}",
            "n_for_target": f"n per arm for P(correct) >= {self.target:g}",
            "n_per_arm": "n per arm"})  # fmt: skip
        shown = shown.rename(columns=lambda c: f"True response {c[5:]} mg" if c.startswith(
            "true_") else f"P(select {c[9:]} mg)" if c.startswith("p_select_") else c)  # fmt: skip
        for c in shown.columns:
            if shown[c].dtype.kind == "f":
                shown[c] = shown[c].map(lambda v: "n/a" if math.isnan(v) else f"{v:.3g}")
        return shown, [f"{r.scenario}: {r.reason}" for r in t.itertuples()]

    def _intro(self) -> str:
        return (f"Patients are randomised between {', '.join(f'{d:g}' for d in self.stage.doses)}"
                f" mg, {self.stage.n_per_arm} per arm; rule: {self.stage.rule!r}. "
                "Probabilities are exact (binomial enumeration).")

    def to_markdown(self) -> str:
        from .report import _md_table

        shown, reasons = self._shown()
        return "\n".join([self._intro(), "", _md_table(shown), "",
                          *[f"- {r}" for r in reasons]])  # fmt: skip

    def to_html(self) -> str:
        import html

        from .report import _html_table

        shown, reasons = self._shown()
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        return (f"<p>{html.escape(self._intro())}</p>{_html_table(shown)}"
                f"<ul>{items}</ul>")
