"""Common random numbers: one latent uniform per patient slot of every simulated trial.

Patient ``k`` (0-based enrolment order) of trial ``t`` has the latent uniform
``u[t, k]``; under a true DLT curve ``p`` that patient has a DLT iff ``u[t, k] < p[dose]``.
Every design and every scenario of a run sees the same ``u``, so designs are compared
on the same patients, trial by trial.

``u[t, k]`` is a **pure function of (seed, t, k)**: the counter-based generator
Philox4x32-10 (Salmon et al. 2011, the Random123 family; vectorised here in NumPy) is
keyed by two 32-bit words drawn from ``numpy.random.SeedSequence(seed)`` and evaluated at
the counter ``(k // 4, t mod 2**32, t // 2**32, 0)``.  Trial ``t``'s stream is thus an
independent Philox stream addressed by its trial index -- the role
``SeedSequence(seed).spawn(n_trials)[t]`` plays in a per-trial loop -- but all trials are
generated at once (0.36 s for 10,000 spawned NumPy generators becomes ~15 ms).  Any
chunking, number of workers or backend yields bit-identical numbers.  Each 32-bit word
``w`` gives one uniform ``w / 2**32`` (exact in float64; a DLT probability is thus
resolved to 2**-32, far below any Monte Carlo error).

Examples
--------
>>> from bayes_dose.crn import latent_uniforms
>>> u = latent_uniforms(seed=1, trials=range(0, 4), n_patients=3)
>>> u.shape
(4, 3)
>>> bool((latent_uniforms(1, range(2, 4), 3) == u[2:]).all())
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["latent_uniforms", "philox4x32", "run_key"]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = 0x9E3779B9
_W1 = 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def philox4x32(counter: np.ndarray, key: Sequence[int], rounds: int = 10) -> np.ndarray:
    """Philox4x32 (``rounds`` rounds) of ``counter`` (..., 4) under ``key`` (2 words).

    Returns uint32 words of the same shape.  Matches the Random123 known-answer vectors.
    """
    c = np.asarray(counter, dtype=np.uint64)
    words = _philox_words([c[..., i] for i in range(4)], key, rounds)
    return np.stack(words, axis=-1).astype(np.uint32)


def _philox_words(
    counter: Sequence[np.ndarray], key: Sequence[int], rounds: int = 10
) -> tuple[np.ndarray, ...]:
    """Philox4x32 on four uint64 arrays holding 32-bit counter words."""
    c0, c1, c2, c3 = counter
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(rounds):
        if r:
            k0 = (k0 + _W0) & 0xFFFFFFFF
            k1 = (k1 + _W1) & 0xFFFFFFFF
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (
            (p1 >> _S32) ^ c1 ^ np.uint64(k0),
            p1 & _MASK,
            (p0 >> _S32) ^ c3 ^ np.uint64(k1),
            p0 & _MASK,
        )
    return c0, c1, c2, c3


def run_key(seed: int | np.random.SeedSequence) -> tuple[int, int]:
    """The Philox key of a run: two 32-bit words from ``SeedSequence(seed)``."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    w = ss.generate_state(2, dtype=np.uint32)
    return int(w[0]), int(w[1])


def latent_uniforms(
    seed: int | np.random.SeedSequence, trials: Sequence[int] | np.ndarray, n_patients: int
) -> np.ndarray:
    """Latent uniforms ``u[t, k]`` for the given trial indices and ``k < n_patients``.

    Parameters
    ----------
    seed : int or SeedSequence
        The run's seed.
    trials : sequence of int
        Global (0-based) trial indices.
    n_patients : int
        Patient slots per trial.

    Returns
    -------
    ndarray, shape (len(trials), n_patients), float64 in [0, 1)
    """
    t = np.asarray(trials, dtype=np.uint64).reshape(-1)
    if n_patients < 0:
        raise ValueError(f"n_patients must be >= 0, got {n_patients}")
    n_blocks = (int(n_patients) + 3) // 4
    ctr = np.zeros((4, t.size, n_blocks), dtype=np.uint64)
    ctr[0] = np.arange(n_blocks, dtype=np.uint64)[None, :]
    ctr[1] = (t & _MASK)[:, None]
    ctr[2] = (t >> _S32)[:, None]
    w = _philox_words(ctr, run_key(seed))
    u = np.stack(w, axis=-1).astype(np.float64) * (1.0 / 4294967296.0)
    return u.reshape(t.size, 4 * n_blocks)[:, :n_patients]
