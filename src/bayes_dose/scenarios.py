"""Named true-DLT curves (scenarios) for simulation, each with the target it assumes.

Arms:

* ``"mono"``: the 8 BAT6021 monotherapy levels (1, 3, 10, 30, 100, 300, 600, 900 mg),
  target 0.25: MTD at a low / middle / high / top level, all doses safe, first dose
  toxic, flat-then-steep.
* ``"combo"``: the 5 levels of the combination arm (30-900 mg with tislelizumab),
  target 0.25.
* ``"published"``: curves with published reference results (5 levels):
  ``boin_get_oc`` (BOIN::get.oc man-page example, target 0.3) and the 3+3 exact cases
  (target 0.3 assumed: the level with true DLT probability 0.3 is the MTD).

A scenario is a ``list`` of probabilities (level 1 first) with the attributes ``name``,
``target``, ``mtd`` (1-based true MTD under the closest-to-target definition, 0 = no
acceptable dose) and ``source``.

Examples
--------
>>> import bayes_dose as bd
>>> lib = bd.scenarios.library(arm="mono")
>>> list(lib["mtd_middle"])
[0.02, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.7]
>>> lib["mtd_middle"].target, lib["mtd_middle"].mtd
(0.25, 4)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["ARMS", "Scenario", "library", "tied_mtd_levels", "true_mtd"]

#: A dose is "no acceptable dose" territory when even the closest level is this far above.
NONE_MARGIN = 0.1


def _closest_levels(true_tox: Sequence[float], target: float) -> list[int]:
    """1-based levels whose true DLT probability is closest to ``target`` (distances
    rounded so that ties in decimal, |0.15 - 0.25| vs |0.35 - 0.25|, are ties); empty
    when every level exceeds ``target + 0.1``."""
    p = np.asarray(true_tox, dtype=float)
    if not 0 < target < 1:
        raise ValueError(f"target must be in (0, 1), got {target}")
    if np.round(p.min() - target, 12) > NONE_MARGIN:  # rounded: 0.45 vs 0.35 + 0.1 is equal
        return []
    d = np.round(np.abs(p - target), 12)
    return [int(i) + 1 for i in np.flatnonzero(d == d.min())]


def true_mtd(true_tox: Sequence[float], target: float) -> int:
    """1-based true MTD: the level whose true DLT probability is closest to ``target``
    (ties: the lower level); 0 when every level exceeds ``target + 0.1`` (no acceptable
    dose, so the correct decision is to select none)."""
    levels = _closest_levels(true_tox, target)
    return levels[0] if levels else 0


def tied_mtd_levels(true_tox: Sequence[float], target: float) -> list[int]:
    """1-based levels tied for closest to ``target`` (more than one: :func:`true_mtd`
    counts only the lowest as correct, so the "correct selection" of such a curve is a
    convention); empty when no level is acceptable.

    Examples
    --------
    >>> from bayes_dose.scenarios import tied_mtd_levels
    >>> tied_mtd_levels([0.10, 0.25, 0.25, 0.50], 0.25), tied_mtd_levels([0.1, 0.2, 0.4], 0.25)
    ([2, 3], [2])
    """
    return _closest_levels(true_tox, target)


class Scenario(list):
    """A true-DLT curve (a ``list``, level 1 first) with its name, target and source."""

    def __init__(self, name: str, true_tox: Sequence[float], target: float, source: str = ""):
        p = [float(x) for x in true_tox]
        if any(not 0 <= x <= 1 for x in p):
            raise ValueError(f"scenario {name!r}: true_tox must be probabilities, got {p}")
        super().__init__(p)
        self.name = name
        self.target = float(target)
        self.source = source
        self.mtd = true_mtd(p, self.target)

    def __repr__(self) -> str:
        return f"Scenario({self.name!r}, {list(self)}, target={self.target})"


_MONO_SRC = "bayes_dose scenario library (BAT6021 monotherapy, 8 levels)"
_COMBO_SRC = "bayes_dose scenario library (BAT6021 + tislelizumab, 5 levels)"
_CURVES: dict[str, list[tuple[str, list[float], float, str]]] = {
    "mono": [
        ("mtd_low", [0.05, 0.25, 0.40, 0.50, 0.60, 0.70, 0.80, 0.85], 0.25, _MONO_SRC),
        ("mtd_middle", [0.02, 0.05, 0.10, 0.25, 0.40, 0.50, 0.60, 0.70], 0.25, _MONO_SRC),
        ("mtd_high", [0.01, 0.02, 0.04, 0.07, 0.12, 0.25, 0.40, 0.55], 0.25, _MONO_SRC),
        ("mtd_top", [0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.17, 0.25], 0.25, _MONO_SRC),
        ("all_safe", [0.01, 0.01, 0.02, 0.03, 0.04, 0.05, 0.07, 0.10], 0.25, _MONO_SRC),
        ("first_toxic", [0.45, 0.55, 0.65, 0.75, 0.80, 0.85, 0.90, 0.95], 0.25, _MONO_SRC),
        ("flat_then_steep", [0.03, 0.03, 0.04, 0.04, 0.05, 0.08, 0.45, 0.70], 0.25, _MONO_SRC),
    ],
    "combo": [
        ("mtd_low", [0.10, 0.25, 0.40, 0.55, 0.70], 0.25, _COMBO_SRC),
        ("mtd_middle", [0.05, 0.12, 0.25, 0.40, 0.55], 0.25, _COMBO_SRC),
        ("mtd_top", [0.03, 0.06, 0.10, 0.16, 0.25], 0.25, _COMBO_SRC),
        ("all_safe", [0.02, 0.04, 0.06, 0.08, 0.10], 0.25, _COMBO_SRC),
        ("first_toxic", [0.45, 0.55, 0.65, 0.75, 0.85], 0.25, _COMBO_SRC),
    ],
    "published": [
        (
            "boin_get_oc",
            [0.05, 0.15, 0.30, 0.45, 0.60],
            0.30,
            "BOIN::get.oc(target=0.3, p.true=c(0.05,0.15,0.3,0.45,0.6), ncohort=20, "
            "cohortsize=3, ntrial=10000, seed=6) (BOIN 2.7.2 man page)",
        ),
        (
            "three_plus_three_toxic",
            [0.25, 0.35, 0.50, 0.65, 0.80],
            0.30,
            "exact 3+3 reference case (cross-checked against bcrm::threep3)",
        ),
    ],
}
ARMS = tuple(_CURVES)


def library(arm: str = "mono") -> dict[str, Scenario]:
    """Named scenarios of an arm (``"mono"``, ``"combo"`` or ``"published"``).

    Returns
    -------
    dict of str to Scenario
        Each value is a list of true DLT probabilities (level 1 first) carrying
        ``.target``, ``.mtd`` and ``.source``.  The published 3+3 case with curve
        (0.05, 0.15, 0.3, 0.45, 0.6) is the same curve as ``boin_get_oc``.
    """
    if arm not in _CURVES:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    return {name: Scenario(name, p, t, src) for name, p, t, src in _CURVES[arm]}
