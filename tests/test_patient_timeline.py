"""Swimmer plot of observed data (bd.plots.plot_patient_timeline) and its place in the memo."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.plots import plot_patient_timeline
from bayes_dose.report import NO_TIMELINE

# A: complete; B: DLT on day 3; C: pending (7 of 21 days); D: DLT status unknown;
# E: DLT without a recorded day; F: pending (2 days), G: complete at level 3.
FRAME = pd.DataFrame({
    "patient_id": list("ABCDEFG"), "arm": "mono", "dose_level": [1, 1, 2, 2, 2, 3, 3],
    "dlt": [0, 1, 0, "unknown", 1, 0, 0], "enroll_day": [1, 8, 15, 16, 17, 30, 3],
    "followup_days": [21, 3, 7, 10, 5, 2, 25], "dlt_day": [None, 3, None, None, None, None, None],
})  # fmt: skip


@pytest.fixture
def out():
    return bd.Outcomes.from_frame(FRAME)


def _artists(ax):
    hatched = [p for p in ax.patches if p.get_hatch()]
    bars = [p for p in ax.patches if not p.get_hatch()]
    x = [ln for ln in ax.lines if ln.get_marker() == "x"]
    o = [ln for ln in ax.lines if ln.get_marker() == "o"]
    q = [t for t in ax.texts if t.get_text() == "?"]
    return bars, hatched, x, o, q


def test_artists_reflect_the_data(out):
    f = out.to_frame()
    pend = out.pending(21)
    ax = plot_patient_timeline(out)
    bars, hatched, x, o, q = _artists(ax)
    assert len(bars) == len(out) == 7
    dlt = (f["dlt"] == 1).fillna(False)
    assert len(x) == int((dlt & f["dlt_day"].notna()).sum()) == 1
    assert len(o) == int((dlt & f["dlt_day"].isna()).sum()) == 1
    assert len(hatched) == len(pend) == 2
    assert len(q) == len(out.unknown()) == 1
    # bars start on enroll_day and span the window; hatching runs from the end of follow-up
    assert sorted(b.get_x() for b in bars) == sorted(f["enroll_day"])
    assert all(b.get_width() == 21 for b in bars)
    starts = sorted(h.get_x() for h in hatched)
    want = sorted((f.set_index("patient_id").loc[pend["patient_id"], "enroll_day"]
                   + pend["followup_days"].to_numpy()).tolist())  # fmt: skip
    assert starts == want == [22.0, 32.0]
    ends = sorted(h.get_x() + h.get_width() for h in hatched)  # end of the window
    assert ends == sorted((f.set_index("patient_id").loc[pend["patient_id"], "enroll_day"]
                           + 21).tolist()) == [36.0, 51.0]  # fmt: skip
    # the DLT on day 3 of B (enrolled day 8) is drawn on study day 10
    assert x[0].get_xdata()[0] == 8 + 3 - 1
    # rows in enrolment order, first on top: G (day 3) is the second row from the top
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]
    assert labels == ["A", "G", "B", "C", "D", "E", "F"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "DLT, day not recorded (at end of follow-up)" in legend
    assert "pending (DLT window not complete)" in legend and "DLT status unknown" in legend
    plt.close("all")


def test_as_of_and_window(out):
    pend = out.pending(21, as_of=35)
    ax = plot_patient_timeline(out, as_of=35)
    _, hatched, *_ = _artists(ax)
    assert len(hatched) == len(pend)
    assert any(ln.get_linestyle() == "--" for ln in ax.lines)  # the as_of line
    ax = plot_patient_timeline(out, window_days=28)
    bars, hatched, *_ = _artists(ax)
    assert all(b.get_width() == 28 for b in bars) and len(hatched) == len(out.pending(28))
    plt.close("all")


def test_protocol_window_and_dose_labels():
    proto = bd.protocols.bat6021()
    data = bd.examples.bat6021_outcomes()
    ax = plot_patient_timeline(data, arm="mono")
    bars, hatched, *_ = _artists(ax)
    assert len(bars) == len(data.arm("mono")) and not hatched
    assert all(b.get_width() == proto.dlt_window_days for b in bars)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"level 1 ({proto.arm('mono').doses_mg[0]:g} mg)" in legend
    with pytest.raises(ValueError, match="pass arm="):
        plot_patient_timeline(data)
    plt.close("all")


def test_no_enroll_day_is_an_error():
    with pytest.raises(ValueError, match="needs enrolment days"):
        plot_patient_timeline(bd.Outcomes.parse("1NNN 2NTN"))
    partial = FRAME.iloc[:6].assign(enroll_day=[1, 8, None, 16, 17, 30])
    with pytest.raises(ValueError, match=r"needs enrolment days.*missing for C$"):
        plot_patient_timeline(bd.Outcomes.from_frame(partial))


def _memo(data):
    cmp = bd.compare({"3+3": bd.ThreePlusThree(3)}, data)
    return bd.report(cmp)


def test_memo_has_the_timeline(out):
    assert len(out.pending(21))
    rep = _memo(out)
    assert "Patients over study days" in rep.html
    assert 'alt="patients over study days mono" src="data:image/png;base64,' in rep.html
    assert "![Patients over study days, arm mono](data:image/png;base64," in rep.markdown
    assert NO_TIMELINE not in rep.html and NO_TIMELINE not in rep.markdown


def test_memo_without_enroll_day_says_so():
    rep = _memo(bd.Outcomes.parse("1NNN 2NTN"))
    assert NO_TIMELINE in rep.html and NO_TIMELINE in rep.markdown
    assert "patients over study days mono" not in rep.html
    assert "](data:image/png" not in rep.markdown


def test_bd_plots_is_lazy():
    import subprocess
    import sys

    code = ("import sys, bayes_dose as bd; assert 'matplotlib' not in sys.modules; "
            "print(bd.plots.plot_patient_timeline.__name__)")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "plot_patient_timeline"


def test_memo_ledger_shows_hold(out):
    rep = _memo(out)  # the 3+3 holds for pending C and unknown D: its ledger says 'hold'
    assert "| hold |" in rep.markdown
