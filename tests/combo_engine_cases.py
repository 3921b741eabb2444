"""Posterior cases of the combination BLRM engine tests (counts per dose).

Monotherapy doses are BAT6021's eight levels (reference 300 mg), combination doses its
five; ``prior`` is the monotherapy BLRM prior ``(mean, sd)`` (default: the BLRM's).
"""

from __future__ import annotations

import bayes_dose as bd

CASES = {
    # the bundled BAT6021 example
    "bundled": {"mono": ([1, 1, 1, 3, 3, 6, 3, 0], [0, 0, 0, 0, 0, 1, 2, 0]),
                "combo": ([3, 6, 6, 0, 0], [0, 0, 2, 0, 0])},
    # monotherapy clean to 600 mg, combination toxic at its lowest dose
    "conflict": {"mono": ([0, 0, 0, 3, 3, 6, 6, 0], [0, 0, 0, 0, 0, 0, 0, 0]),
                 "combo": ([9, 0, 0, 0, 0], [5, 0, 0, 0, 0])},
    # monotherapy toxic at 300-600 mg, combination clean to its top dose
    "negative": {"mono": ([0, 0, 0, 3, 3, 6, 3, 0], [0, 0, 0, 0, 0, 2, 2, 0]),
                 "combo": ([3, 3, 3, 3, 6], [0, 0, 0, 0, 0])},
    # a vague monotherapy prior (issue 10's vague case: sd 10 and 3)
    "vague": {"mono": ([3, 3, 3, 6, 6, 12, 9, 3], [0, 0, 0, 0, 1, 3, 4, 3]),
              "combo": ([3, 3, 6, 0, 0], [0, 0, 1, 0, 0]),
              "prior": ((-1.0986, 0.0), (10.0, 3.0))},
    # large samples in both arms
    "large": {"mono": ([3, 3, 6, 9, 12, 15, 12, 6], [0, 0, 0, 1, 1, 3, 4, 3]),
              "combo": ([6, 9, 15, 12, 6], [0, 1, 3, 4, 3])},
}


def design(case, **kw):
    """The CombinationBLRM of a case (BAT6021 doses, default partner/interaction priors)."""
    doses = bd.protocols.bat6021().arm("mono").doses_mg
    prior = case.get("prior")
    mono = bd.BLRM(doses, reference_dose=300,
                   **({"prior": bd.BLRMPrior(*prior)} if prior else {}))  # fmt: skip
    return bd.CombinationBLRM(mono=mono, **kw)
