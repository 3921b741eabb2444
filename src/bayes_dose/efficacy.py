"""Joint toxicity and response of simulated patients (Gaussian copula on common random numbers).

Patient ``k`` of trial ``t`` has the toxicity uniform ``u[t, k]`` of :mod:`bayes_dose.crn`
(DLT iff ``u < p_tox[dose]``, unchanged by efficacy) and a second, independent uniform
``v[t, k]`` from another Philox stream: the same generator keyed by
``SeedSequence(seed, spawn_key=(RESPONSE_STREAM,))`` (:func:`response_uniforms`), so it is
a pure function of ``(seed, t, k)`` too and every design and scenario sees the same ``v``.

**Construction.**  With ``z_t = Phi^-1(u)`` and ``z_2 = Phi^-1(v)`` (standard normal),
``z_e = rho z_t + sqrt(1 - rho^2) z_2`` is standard normal with correlation ``rho`` with
``z_t``; the patient responds iff ``Phi(z_e) < p_resp[dose]``.  So DLT and response are
thresholds of a bivariate normal with correlation ``rho`` (a Gaussian copula): the
marginals are exactly ``p_tox`` and ``p_resp`` and the four joint probabilities are
:func:`joint_probabilities`.  ``rho > 0`` makes responders more likely among patients
with a DLT.  The uniforms are taken at the centres of their 2**-32 cells
(``u + 2**-33``) before ``Phi^-1`` so that no quantile is infinite.

Every pair of marginals in [0, 1] is attainable for every ``rho`` in (-1, 1) with this
construction, so the errors are: ``rho`` outside (-1, 1) or not a number; a response
probability outside [0, 1], NaN, or a curve whose length differs from the toxicity
curve's; an efficacy curve for an unknown scenario or a scenario without one.  When a
joint table is given instead (:func:`marginals_from_joint`), cells must be probabilities
summing to 1 -- a table that does not is the "impossible joint distribution" error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import multivariate_normal

from .crn import latent_uniforms

__all__ = [
    "RESPONSE_STREAM",
    "check_correlation",
    "check_efficacy",
    "joint_probabilities",
    "marginals_from_joint",
    "response_latent",
    "response_uniforms",
]

#: Spawn key of the response stream (``SeedSequence(seed, spawn_key=(RESPONSE_STREAM,))``).
RESPONSE_STREAM = 0x52455350  # "RESP"
_HALF_CELL = 2.0**-33


def response_uniforms(seed: int, trials: Sequence[int] | np.ndarray, n_patients: int) -> np.ndarray:
    """The independent uniforms ``v[t, k]`` of the response stream (shape (trials, n)).

    Examples
    --------
    >>> from bayes_dose.efficacy import response_uniforms
    >>> from bayes_dose.crn import latent_uniforms
    >>> v = response_uniforms(1, range(3), 4)
    >>> v.shape, bool((v != latent_uniforms(1, range(3), 4)).all())
    ((3, 4), True)
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(RESPONSE_STREAM,))
    return latent_uniforms(ss, trials, n_patients)


def response_latent(u: np.ndarray, v: np.ndarray, rho: float) -> np.ndarray:
    """The copula uniform ``Phi(rho z_t + sqrt(1 - rho^2) z_2)`` per patient slot; the
    patient responds iff it is ``< p_resp[dose]``."""
    v = np.asarray(v, dtype=float)
    if rho == 0:
        return v + _HALF_CELL
    zt = ndtri(np.asarray(u, dtype=float) + _HALF_CELL)
    z2 = ndtri(v + _HALF_CELL)
    return ndtr(rho * zt + np.sqrt(1.0 - rho * rho) * z2)


def check_correlation(rho: Any) -> float:
    """``rho`` as a float in (-1, 1); anything else is a ValueError."""
    if isinstance(rho, (bool, np.bool_)) or not isinstance(rho, (int, float, np.integer,
                                                                 np.floating)):
        raise ValueError(f"correlation must be a number in (-1, 1), got {rho!r}")
    r = float(rho)
    if not np.isfinite(r) or not -1 < r < 1:
        raise ValueError(
            f"correlation must be in (-1, 1) (the latent normal correlation of DLT and "
            f"response), got {rho!r}"
        )
    return r


def check_efficacy(
    efficacy: Mapping[str, Sequence[float]], curves: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Response probability per dose for every scenario of ``curves`` (name -> p_tox).

    ``efficacy`` must give one curve per scenario (same names; ``"true_tox"`` when the
    run has one ``true_tox`` curve), each of the toxicity curve's length, in [0, 1].
    """
    if not isinstance(efficacy, Mapping):
        raise ValueError(
            "efficacy must be a dict {scenario: [p_resp per dose]}, got "
            f"{type(efficacy).__name__}"
        )
    names = [str(k) for k in efficacy]
    unknown = sorted(set(names) - set(curves))
    if unknown:
        raise ValueError(
            f"efficacy: unknown scenario(s) {unknown}; scenarios are {list(curves)} (one "
            "true_tox curve is named 'true_tox')"
        )
    missing = [s for s in curves if s not in names]
    if missing:
        raise ValueError(f"efficacy: no response curve for scenario(s) {missing}")
    out = {}
    for name, curve in efficacy.items():
        name = str(name)
        raw = np.asarray(curve, dtype=object)
        if raw.ndim != 1 or any(isinstance(x, (bool, np.bool_, str)) for x in raw.tolist()):
            raise ValueError(f"efficacy[{name!r}]: expected a list of probabilities per dose")
        try:
            p = raw.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"efficacy[{name!r}]: not numbers: {raw.tolist()}") from None
        D = curves[name].size
        if p.size != D:
            raise ValueError(
                f"efficacy[{name!r}]: {p.size} response probabilities for {D} dose levels"
            )
        bad = np.flatnonzero(~((p >= 0) & (p <= 1)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"efficacy[{name!r}] dose {i + 1}: response probability {float(p[i])!r} is not in "
                "[0, 1]"
            )
        out[name] = p
    return out


def joint_probabilities(p_tox: Sequence[float], p_resp: Sequence[float], rho: float) -> np.ndarray:
    """Joint probabilities of (DLT, response) per dose under the Gaussian copula.

    Returns
    -------
    ndarray, shape (D, 4)
        Columns: P(response, no DLT), P(no response, no DLT), P(response and DLT),
        P(DLT, no response) -- the order of BOIN12's utility table ``u1..u4``.

    Examples
    --------
    >>> from bayes_dose.efficacy import joint_probabilities
    >>> joint_probabilities([0.2], [0.5], 0.0).round(3).tolist()
    [[0.4, 0.4, 0.1, 0.1]]
    """
    rho = check_correlation(rho)
    pt = np.asarray(p_tox, dtype=float)
    pe = np.asarray(p_resp, dtype=float)
    out = np.zeros((pt.size, 4))
    mvn = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])
    for j, (a, b) in enumerate(zip(pt, pe, strict=True)):
        if a in (0.0, 1.0) or b in (0.0, 1.0):
            both = a * b  # a degenerate margin is independent of anything
        else:
            both = float(mvn.cdf([ndtri(a), ndtri(b)]))
        both = min(max(both, max(0.0, a + b - 1)), min(a, b))
        out[j] = (b - both, 1 - a - b + both, both, a - both)
    return out


def marginals_from_joint(joint: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """``(p_tox, p_resp)`` of joint cell probabilities per dose (columns as
    :func:`joint_probabilities`); cells outside [0, 1] or not summing to 1 are an error
    naming the dose.

    Examples
    --------
    >>> from bayes_dose.efficacy import marginals_from_joint
    >>> [x.tolist() for x in marginals_from_joint([[0.4, 0.4, 0.1, 0.1]])]
    [[0.2], [0.5]]
    """
    j = np.asarray(joint, dtype=float)
    if j.ndim != 2 or j.shape[1] != 4:
        raise ValueError("joint: one row of 4 cell probabilities per dose")
    for d, row in enumerate(j, start=1):
        if np.any(~np.isfinite(row)) or np.any(row < 0) or np.any(row > 1):
            raise ValueError(f"joint dose {d}: cells {row.tolist()} must be probabilities")
        if abs(row.sum() - 1) > 1e-9:
            raise ValueError(
                f"joint dose {d}: cells sum to {row.sum():g}, not 1: no joint distribution"
            )
    return j[:, 2] + j[:, 3], j[:, 0] + j[:, 2]
