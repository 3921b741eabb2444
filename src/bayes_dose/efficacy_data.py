"""Put tumour response (:mod:`bayes_dose.response`, RECIST 1.1 best overall response) into
cohort data as the binary ``response`` column of :class:`~bayes_dose.Outcomes`.

One reader of response listings exists (:func:`bayes_dose.response.read_response_listing`
and :func:`~bayes_dose.response.best_overall_response`); this module only maps each
subject's best overall response to 1 (a responder: ``CR`` or ``PR`` by default, as the ORR
counts them) or 0, matched by ``subject`` = ``patient_id``.  ``NE`` (not evaluable) is a
non-responder by default, as in the ORR, or left blank (not assessed) with
``not_evaluable="blank"``.  Patients of the cohort data without a best response stay
blank; subjects of the response table absent from the cohort data are an error naming
them (``extra="ignore"`` drops them, e.g. expansion cohorts); a subject whose arm or dose
differs between the two tables is an error naming the subject and field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .outcomes import RESPONSE, Outcomes
from .response import BOR

__all__ = ["with_response"]


def with_response(
    outcomes: Outcomes,
    bor: BOR | pd.DataFrame,
    *,
    responders: Sequence[str] = ("CR", "PR"),
    not_evaluable: str = "non-responder",
    extra: str = "error",
) -> Outcomes:
    """The cohort data with a ``response`` column from best overall responses.

    Parameters
    ----------
    outcomes : Outcomes
    bor : BOR or DataFrame
        :func:`bayes_dose.response.best_overall_response` or its ``table`` (columns
        ``subject``, ``bor``; ``arm`` and ``dose_mg`` are checked when present).
    responders : sequence of str
        Best responses counted as a response.
    not_evaluable : {"non-responder", "blank"}
        How ``NE`` counts.
    extra : {"error", "ignore"}
        Subjects of ``bor`` not in ``outcomes``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from bayes_dose.response import best_overall_response, bundled_response_listing
    >>> from bayes_dose.efficacy_data import with_response
    >>> b = best_overall_response(bundled_response_listing())
    >>> out = with_response(bd.examples.bat6021_outcomes(), b, extra="ignore")
    >>> out.arm("combo").counts()["resp"].tolist()
    [0, 2, 4, 0, 0]
    """
    if not isinstance(outcomes, Outcomes):
        raise ValueError(f"with_response: expected Outcomes, got {type(outcomes).__name__}")
    table = bor.table if isinstance(bor, BOR) else bor
    if not isinstance(table, pd.DataFrame) or not {"subject", "bor"} <= set(table.columns):
        raise ValueError("with_response: bor must be a BOR or a table with columns subject, bor")
    if not_evaluable not in ("non-responder", "blank"):
        raise ValueError(
            f"with_response: not_evaluable must be 'non-responder' or 'blank', got {not_evaluable!r}"
        )
    if extra not in ("error", "ignore"):
        raise ValueError(f"with_response: extra must be 'error' or 'ignore', got {extra!r}")
    if outcomes.has_response:
        raise ValueError("with_response: the data already have a 'response' column")
    f = outcomes.to_frame()
    ids = {str(p): i for i, p in enumerate(f["patient_id"])}
    subj = table["subject"].astype(str).str.strip()
    dup = subj[subj.duplicated()]
    if len(dup):
        raise ValueError(f"with_response: subject {dup.iat[0]!r} has two best responses")
    unknown = [s for s in subj if s not in ids]
    if unknown and extra == "error":
        raise ValueError(
            f"with_response: subject(s) {unknown[:5]}{' ...' if len(unknown) > 5 else ''} of the "
            "response table are not in the cohort data (filter the table, e.g. to the "
            "escalation cohort, or pass extra='ignore')"
        )
    resp: list[object] = [pd.NA] * len(f)
    good = {str(r).upper() for r in responders}
    for k, (s, b) in enumerate(zip(subj, table["bor"], strict=True)):
        if s not in ids:
            continue
        i = ids[s]
        for col in ("arm", "dose_mg"):
            if col not in table.columns:
                continue
            mine, theirs = f[col].iat[i], table[col].iat[k]
            same = (str(mine).strip() == str(theirs).strip() if col == "arm"
                    else bool(np.isclose(float(mine), float(theirs))) if not pd.isna(mine)
                    else True)  # fmt: skip
            if not same:
                raise ValueError(
                    f"with_response: subject {s!r} field {col!r}: {theirs!r} in the response "
                    f"table, {mine!r} in the cohort data"
                )
        code = str(b).strip().upper()
        if code == "NE" and not_evaluable == "blank":
            continue
        resp[i] = int(code in good)
    window = outcomes.dlt_window_days
    if window is not None:
        fu = f["followup_days"].to_numpy(dtype=float)
        for i, r in enumerate(resp):
            dlt = f["dlt"].iat[i]
            if r is pd.NA or pd.isna(dlt) or dlt == 1 or np.isnan(fu[i]):
                continue
            if fu[i] < window:
                raise ValueError(
                    f"with_response: patient {f['patient_id'].iat[i]!r} field 'response': "
                    f"recorded for a patient not yet evaluable (followup_days {fu[i]:g} < the "
                    f"{window:g}-day DLT window)"
                )
    frame = outcomes._frame.copy()
    frame[RESPONSE] = pd.array(resp, dtype="Int64")
    return Outcomes(frame, outcomes._doses_mg, outcomes._dlt_window, outcomes._missing_policy,
                    outcomes._imputed, outcomes._order_by)  # fmt: skip
