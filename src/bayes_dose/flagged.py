"""Sentences on simulated decisions that rested on flagged grid results
(``n_flagged_decisions``, :func:`bayes_dose.simulate`), for the memo: nothing silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["flagged_notes"]


def flagged_notes(simulation: Mapping[str, Any] | None, programme: Any = None) -> list[str]:
    """One sentence per arm x design whose simulated trials had decisions resting on a
    grid result flagged as unverified (``Estimate.grid_flags``): the share of trials
    (with its Monte Carlo SE) and the mean number of such decisions per trial; empty when
    there are none.

    Parameters
    ----------
    simulation : mapping of arm -> Dataset, optional
        :func:`bayes_dose.simulate` results per arm.
    programme : Dataset, optional
        :meth:`bayes_dose.Programme.simulate` result (dimension ``arm``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(3)}, [0.1, 0.2, 0.4], n_trials=10,
    ...                    seed=1, progress=False)
    >>> flagged_notes({"mono": sims})
    []
    """
    parts: list[tuple[str, Any]] = list((simulation or {}).items())
    if programme is not None and "arm" in programme.dims:
        from .arm_dataset import arm_names, arm_view

        parts += [(f"{a} (programme)", arm_view(programme, a)) for a in arm_names(programme)]
    out = []
    for arm, ds in parts:
        if ds is None or "n_flagged_decisions" not in ds:
            continue
        f = ds["n_flagged_decisions"]
        T = ds.sizes["trial"]
        for g in ds["design"].values.tolist():
            x = f.sel(design=g).to_numpy().astype(float)  # (scenario, trial)
            if not x.any():
                continue
            p = float((x > 0).mean())
            se = float(np.sqrt(p * (1 - p) / x.size))
            out.append(
                f"Simulation of {g} (arm {arm}): {p:.1%} of the {x.size} simulated trials "
                f"(SE {se:.1%}; {T} per scenario) had at least one decision resting on a grid "
                f"result flagged as unverified (mean {x.mean():.2f} such decisions per trial); "
                "their operating characteristics carry that approximation."
            )
    return out
