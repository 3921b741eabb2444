"""Options that are flags refuse non-bools (``bool("no")`` is True: the option would be
silently on), and the ROSE rule refuses boundaries no difference of rates can exceed."""

import numpy as np
import pytest

import bayes_dose as bd


@pytest.mark.parametrize("make, name", [
    (lambda v: bd.BOIN(0.25, 5, extrasafe=v), "extrasafe"),
    (lambda v: bd.BOIN(0.25, 5, stay_one_in_three=v), "stay_one_in_three"),
    (lambda v: bd.CRM([0.1, 0.2, 0.3], 0.25, coherent=v), "coherent"),
    (lambda v: bd.Backfill(deescalate=v), "deescalate"),
])  # fmt: skip
@pytest.mark.parametrize("bad", ["no", "False", 0, 1, None])
def test_flags_refuse_non_bools(make, name, bad):
    with pytest.raises(ValueError, match=f"{name} must be True or False"):
        make(bad)


def test_flags_take_python_and_numpy_bools():
    assert bd.BOIN(0.25, 5, extrasafe=np.bool_(True)).extrasafe is True
    assert bd.Backfill(deescalate=False).deescalate is False


def test_min_responses_refuses_a_bool():
    with pytest.raises(ValueError, match="whole number"):
        bd.MinResponses(True)


def test_rose_boundary_checks():
    with pytest.raises(ValueError, match="must be < 1"):
        bd.ROSE(0.1, boundary=2)
    with pytest.warns(UserWarning, match="above the margin"):
        bd.ROSE(0.1, boundary=0.2)


def test_memo_section_and_sample_size_search_the_same_range():
    st = bd.RandomisedStage([300, 600], 30, bd.ROSE(margin=0.1, boundary=0.05))
    n = st.sample_size(0.8, [0.30, 0.32]).n_per_arm
    t = bd.DoseOptimisationSection(st, {"plateau": [0.30, 0.32]}).table()
    assert t["n_for_target"].iloc[0] == n == 320


def test_backfill_refuses_text_numbers_and_the_class():
    with pytest.raises(ValueError, match="ratio must be > 0"):
        bd.Backfill(ratio="1")
    with pytest.raises(ValueError, match="max_total must be a whole number"):
        bd.Backfill(max_total=True)
    with pytest.raises(ValueError, match=r"write bd\.Backfill\(\)"):
        bd.BOIN(0.25, 5, backfill=bd.Backfill)


def test_backfill_patients_in_an_escalation_cohort_do_not_warn():
    """A backfill patient at level 1 numbered with the escalation cohort at level 3 is not a
    mixed cohort (backfill patients join other levels while a cohort is treated); an
    escalation patient there still is."""
    import warnings

    import pandas as pd

    rows = [(1, 1, 1, ""), (2, 1, 1, ""), (3, 1, 1, ""), (4, 2, 2, ""), (5, 2, 2, ""),
            (6, 2, 2, ""), (7, 3, 3, ""), (8, 1, 3, "backfill"), (9, 3, 3, "")]  # fmt: skip
    df = pd.DataFrame(rows, columns=["patient_id", "dose_level", "cohort", "role"])
    df["arm"], df["dlt"] = "mono", 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bd.Outcomes.from_frame(df)
    df.loc[7, "role"] = ""
    with pytest.warns(UserWarning, match="check the cohort column"):
        bd.Outcomes.from_frame(df)
