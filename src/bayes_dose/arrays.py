"""Small array helpers shared by designs and engines."""

from __future__ import annotations

import numpy as np

__all__ = ["isotonic_rows", "unique_rows"]


def unique_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows of a 2-D integer array (faster than ``np.unique(axis=0)``).

    Returns
    -------
    first : ndarray, shape (U,)
        Index of one representative row per distinct row (in sorted order of rows).
    inverse : ndarray, shape (T,)
        Group of each row: ``keys[first][inverse] == keys``.

    Examples
    --------
    >>> first, inverse = unique_rows(np.array([[1, 2], [0, 5], [1, 2]]))
    >>> inverse.tolist(), len(first)
    ([1, 0, 1], 2)
    """
    keys = np.asarray(keys)
    T = keys.shape[0]
    if T == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys.T[::-1])
    sk = keys[order]
    new = np.empty(T, dtype=bool)
    new[0] = True
    new[1:] = np.any(sk[1:] != sk[:-1], axis=1)
    group = np.cumsum(new) - 1
    inverse = np.empty(T, dtype=np.int64)
    inverse[order] = group
    return order[new], inverse


def isotonic_rows(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weighted non-decreasing isotonic regression of every row at once.

    Uses the min-max representation of the least-squares isotonic fit,
    ``fit[i] = max_{j <= i} min_{k >= i} avg(j..k)`` with ``avg`` the weighted mean of
    the entries ``j..k`` inside ``mask`` -- the same solution as pool-adjacent-violators
    (``scipy.optimize.isotonic_regression``, against which it is tested) but vectorised
    over rows: O(D^3) array work per row, cheap for dose-finding's few levels.
    Entries outside ``mask`` are NaN.

    Parameters
    ----------
    values, weights : ndarray, shape (T, D)
        Observations and positive weights.
    mask : ndarray of bool, shape (T, D)
        Entries taking part in the fit.

    Examples
    --------
    >>> isotonic_rows(np.array([[0.1, 0.3, 0.2, 0.5]]), np.ones((1, 4)),
    ...               np.ones((1, 4), bool)).round(3).tolist()
    [[0.1, 0.25, 0.25, 0.5]]
    """
    v = np.asarray(values, dtype=float)
    w = np.where(mask, np.asarray(weights, dtype=float), 0.0)
    vw = np.where(mask, v * w, 0.0)
    T, D = v.shape
    # block sums of entries j..k accumulated forwards from each start j (differences of
    # one running sum lose ~eps * total / block-weight: 1e-12 off for a light block after
    # heavy ones)
    sw = np.zeros((T, D, D))
    sv = np.zeros((T, D, D))
    for j in range(D):
        sw[:, j, j:] = np.cumsum(w[:, j:], axis=1)
        sv[:, j, j:] = np.cumsum(vw[:, j:], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = sv / sw
    j = np.arange(D)[:, None]
    k = np.arange(D)[None, :]
    # blocks without weight (only possible away from masked-in entries) never bind
    avg = np.where((k >= j)[None] & (sw > 0), avg, np.inf)
    fit = np.empty((T, D))
    for i in range(D):
        fit[:, i] = avg[:, : i + 1, i:].min(axis=2).max(axis=1)
    # the fit is a block mean, so it lies within the row's range of values (within [0, 1]
    # for rates); clip where rounding of the block mean would step outside it
    lo = np.where(mask, v, np.inf).min(axis=1, keepdims=True)
    hi = np.where(mask, v, -np.inf).max(axis=1, keepdims=True)
    fit = np.clip(fit, np.minimum(lo, hi), np.maximum(lo, hi))
    return np.where(mask, fit, np.nan)
