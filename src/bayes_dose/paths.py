"""Dose paths: every possible sequence of cohort outcomes and the design's decision after each.

A path is a sequence of cohorts ("1NNN 2NNT": three patients at level 1 without DLT, then
two without and one with a DLT at level 2).  The tree is grown one cohort at a time; the
design decides once per distinct count state (many paths share counts, see
:func:`bayes_dose.exact.state_codes`), and each node carries its decision and reason.
``probabilities(true_tox)`` weights every path by its binomial probability and gives the
exact operating characteristics of the horizon (selection at the end of the horizon).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import checks
from .checks import flag
from .deprecation import renamed_kwargs
from .designs.state import DoseData
from .exact import ExactOC, OCAccumulator, binom_pmf, branch, check_true_tox, state_codes
from .outcomes import DEFAULT_DLT_WINDOW, Outcomes

if TYPE_CHECKING:
    from .designs.base import Design
    from .protocol import Protocol

__all__ = ["DosePaths", "decision_table", "dose_paths"]


@dataclass(frozen=True)
class DosePaths:
    """The tree of dose paths of one design (one node per cohort-outcome sequence).

    Attributes
    ----------
    design : Design
    parent : ndarray of int, shape (K,)
        Parent node (``-1`` for the root, the starting data).
    depth : ndarray of int, shape (K,)
        Cohorts since the start (root: 0).
    cohort_dose, cohort_n, cohort_dlt : ndarray of int, shape (K,)
        The cohort that led to the node (1-based level; 0 at the root).
    state : DoseData
        Count state of every node.
    next_dose : ndarray of int, shape (K,)
        The design's next level after the node (1-based; 0 when stopping).
    cohort_size : ndarray of int, shape (K,)
    stop : ndarray of bool, shape (K,)
    reason_code : ndarray of int, shape (K,)
    n_states : int
        Distinct count states the design decided on (decisions are cached by state).
    """

    design: Design
    parent: np.ndarray
    depth: np.ndarray
    cohort_dose: np.ndarray
    cohort_n: np.ndarray
    cohort_dlt: np.ndarray
    state: DoseData = field(repr=False)
    next_dose: np.ndarray = field(repr=False)
    cohort_size: np.ndarray = field(repr=False)
    stop: np.ndarray = field(repr=False)
    reason_code: np.ndarray = field(repr=False)
    n_states: int = 0
    start_label: str = ""

    @property
    def n_nodes(self) -> int:
        return len(self.parent)

    @property
    def is_leaf(self) -> np.ndarray:
        """Nodes without children (stopped, or at the end of the horizon)."""
        has_child = np.zeros(self.n_nodes, dtype=bool)
        has_child[self.parent[self.parent >= 0]] = True
        return ~has_child

    def labels(self) -> list[str]:
        """The cohort outcomes leading to each node, e.g. ``"1NNN 2NNT"``."""
        out: list[str] = []
        for i in range(self.n_nodes):
            p = int(self.parent[i])
            if p < 0:
                out.append(self.start_label)
                continue
            k, n = int(self.cohort_dlt[i]), int(self.cohort_n[i])
            step = f"{int(self.cohort_dose[i])}{'N' * (n - k)}{'T' * k}"
            out.append(f"{out[p]} {step}".strip())
        return out

    def reasons(self) -> list[str]:
        """The reason of each node's decision as a sentence."""
        from .designs.state import Decision

        dec = Decision(
            np.where(self.stop, -1, self.next_dose - 1),
            self.cohort_size,
            self.stop,
            self.reason_code,
        )
        return [self.design.explain(self.state, dec, i) for i in range(self.n_nodes)]

    def to_frame(self) -> pd.DataFrame:
        """One row per node: path id, depth, outcomes so far, next dose, stop, reason."""
        nxt = pd.array(np.where(self.stop, 0, self.next_dose), dtype="Int64")
        nxt[self.stop] = pd.NA
        return pd.DataFrame(
            {
                "path_id": np.arange(self.n_nodes),
                "parent_id": self.parent,
                "depth": self.depth,
                "outcomes": self.labels(),
                "n_patients": self.state.total_n,
                "n_dlt": self.state.total_dlt,
                "next_dose": nxt,
                "cohort_size": self.cohort_size,
                "stop": self.stop,
                "reason": self.reasons(),
            }
        )

    def calendar(self, protocol: Protocol, start_day: float = 0.0) -> pd.DataFrame:
        """The earliest dosing days of every path under the protocol's staggering rules.

        Each cohort opens when the data of the one before are complete
        (:meth:`Staggering.next_group_day <bayes_dose.Staggering.next_group_day>` with the
        protocol's DLT window) and doses its patients at the earliest days
        :meth:`Staggering.dosing_days <bayes_dose.Staggering.dosing_days>` allows; a cohort
        at a level already given on the path continues that dose group (no second
        sentinel wait).  The root (the starting data, taken as dosed long before)
        decides on ``start_day``.

        Returns
        -------
        pandas.DataFrame
            One row per node (``path_id`` as in :meth:`to_frame`): ``first_dose_day`` and
            ``last_dose_day`` of the cohort that led to the node (NaN at the root) and
            ``decision_day``, when its data are complete; at a leaf that stopped, the end
            of the trial on that path.

        Examples
        --------
        >>> import bayes_dose as bd, pandas as pd
        >>> proto = bd.protocols.bat6021()
        >>> tree = bd.dose_paths(bd.ThreePlusThree(8, titration_levels=3), [None] * 4)
        >>> cal = tree.calendar(proto).set_index(pd.Index(tree.labels()))
        >>> cal.loc["1N 2N 3N 4NNN"].tolist()    # 21-day windows; sentinel, +7 days, +1 day
        [17.0, 63.0, 71.0, 92.0]
        >>> cal.loc["1T 1NN", ["first_dose_day", "last_dose_day"]].tolist()  # no 2nd sentinel
        [21.0, 22.0]
        """
        stag = protocol.staggering
        window = float(protocol.dlt_window_days)
        K, D = self.n_nodes, self.design.n_doses
        first = np.full(K, np.nan)
        last = np.full(K, np.nan)
        decided = np.full(K, np.nan)
        last_at = np.full((K, D), np.nan)  # last dosing day at each level on the path
        early = float(start_day) - window - stag.days_after_first_patient
        order = np.argsort(self.depth, kind="stable")
        for i in order:
            p = int(self.parent[i])
            if p < 0:
                decided[i] = float(start_day)
                continue
            lv = int(self.cohort_dose[i]) - 1
            last_at[i] = last_at[p]
            n_before = int(self.state.n[p, lv])
            # patients of the starting data: dosed long enough ago that no gap binds
            day = last_at[p, lv] if not np.isnan(last_at[p, lv]) else early
            prev = [float(day)] * n_before
            days = stag.dosing_days(int(self.cohort_n[i]), decided[p], already_dosed=prev)
            first[i], last[i] = days[0], days[-1]
            last_at[i, lv] = days[-1]
            decided[i] = stag.next_group_day(days, window)
        return pd.DataFrame(
            {"path_id": np.arange(K), "first_dose_day": first, "last_dose_day": last,
             "decision_day": decided}
        )  # fmt: skip

    def probabilities(self, true_tox: Sequence[float] | np.ndarray) -> ExactOC:
        """Exact operating characteristics over the horizon of the tree.

        Every leaf (a stopped path, or a path at the end of the horizon) is weighted by the
        binomial probability of its cohort outcomes under ``true_tox``; the design selects
        on the leaf's data.  When the horizon runs until every path stops, this equals
        :func:`bayes_dose.exact_operating_characteristics`.
        Patients and DLTs count those of ``start`` too.
        """
        p = check_true_tox(self.design, true_tox)
        step = np.ones(self.n_nodes)
        kids = self.parent >= 0
        step[kids] = binom_pmf(
            self.cohort_dlt[kids], self.cohort_n[kids], p[self.cohort_dose[kids] - 1]
        )
        prob = step.copy()
        for d in range(1, int(self.depth.max()) + 1):  # parents are one level up
            at = self.depth == d
            prob[at] = prob[self.parent[at]] * step[at]
        leaf = self.is_leaf & (prob > 0)
        acc = OCAccumulator(self.design)
        acc.add(self.state.take(leaf), prob[leaf])
        return acc.result(p)

    def plot(self, ax: Any = None, max_nodes: int = 400) -> Any:
        """Tree plot: one column per cohort, nodes labelled by the next dose (X = stop).

        Edges are coloured by the cohort's DLTs (green none, orange some, red all).
        """
        import matplotlib.pyplot as plt

        if self.n_nodes > max_nodes:
            raise ValueError(
                f"DosePaths.plot: {self.n_nodes} nodes exceed max_nodes={max_nodes}; "
                "shorten the horizon or raise max_nodes"
            )
        leaves = self.is_leaf
        y = np.zeros(self.n_nodes)
        children: dict[int, list[int]] = {}
        for i in range(self.n_nodes):
            children.setdefault(int(self.parent[i]), []).append(i)
        counter = [0.0]

        def place(i: int) -> float:
            kids = children.get(i, [])
            if not kids:
                y[i] = counter[0]
                counter[0] += 1
            else:
                y[i] = float(np.mean([place(k) for k in kids]))
            return y[i]

        for root in children.get(-1, []):
            place(root)
        if ax is None:
            _, ax = plt.subplots(figsize=(2.2 + 1.6 * self.depth.max(), 0.5 + 0.28 * leaves.sum()))
        for i in range(self.n_nodes):
            pr = int(self.parent[i])
            if pr >= 0:
                frac = self.cohort_dlt[i] / max(self.cohort_n[i], 1)
                color = "tab:green" if frac == 0 else ("tab:red" if frac == 1 else "tab:orange")
                ax.plot([self.depth[pr], self.depth[i]], [y[pr], y[i]], color=color, lw=1)
                ax.text(
                    self.depth[i] - 0.3, y[pr] + 0.7 * (y[i] - y[pr]),
                    f"{self.cohort_dlt[i]}/{self.cohort_n[i]}", fontsize=6, color=color,
                    ha="center", va="bottom",
                )  # fmt: skip
        for i in range(self.n_nodes):
            txt = "X" if self.stop[i] else str(int(self.next_dose[i]))
            ax.text(
                self.depth[i], y[i], txt, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "circle,pad=0.2", "fc": "mistyrose" if self.stop[i] else "white",
                      "ec": "grey"},
            )  # fmt: skip
        ax.set_xticks(range(int(self.depth.max()) + 1))
        ax.set_xticklabels(["start"] + [f"cohort {k}" for k in range(1, int(self.depth.max()) + 1)])
        ax.set_yticks([])
        ax.invert_yaxis()
        ax.set_title(f"Dose paths of {self.design.label}: next level after each outcome (X = stop)")
        for s in ("top", "right", "left"):
            ax.spines[s].set_visible(False)
        return ax

    def __repr__(self) -> str:
        return (
            f"<DosePaths {self.design.label}: {self.n_nodes} nodes, depth {int(self.depth.max())}, "
            f"{int(self.is_leaf.sum())} paths, {self.n_states} distinct states>"
        )

    def _repr_html_(self) -> str:
        df = self.to_frame()
        more = "" if len(df) <= 60 else f"<p>first 60 of {len(df)} nodes</p>"
        return f"<p><b>{self!r}</b></p>" + more + df.head(60).to_html(index=False)


def _check_one_arm(design: Any, where: str) -> None:
    if getattr(design, "requires_other_arms", False):
        raise ValueError(
            f"{where}: {type(design).__name__} decides from several arms' data; paths and "
            "decision tables enumerate one arm's counts (give it the other arm's data, e.g. "
            "CombinationBLRM(mono_data=...), or use compare() / shadow())"
        )


def _start_state(design: Design, start: Outcomes | None) -> tuple[DoseData, str]:
    if start is None:
        return DoseData.empty(1, design.n_doses), ""
    if not isinstance(start, Outcomes):
        raise ValueError(f"dose_paths: start must be Outcomes or None, got {type(start).__name__}")
    if start.grade2_unknown() and not design._reads_grade2():
        start = start._grade2_filled(0)  # not read by the design's decisions
    data = DoseData.from_outcomes(start, design.n_doses)  # else: an unknown is an error
    window = getattr(design, "tite_window", None) or start.dlt_window_days or DEFAULT_DLT_WINDOW
    pending = start.pending(window)
    if len(pending):  # paths grow on counts: a pending patient would count as complete
        raise ValueError(
            f"dose_paths: start holds patients whose {window:g}-day DLT window is not "
            f"complete ({', '.join(pending['patient_id'])}); grow paths from complete data"
        )
    f = start.to_frame()
    parts = []
    for _, g in f.groupby("cohort", sort=False):
        lv = int(g["dose_level"].iat[0])
        parts.append(f"{lv}" + "".join("T" if y else "N" for y in g["dlt"]))
    # patient-level arrays are dropped: paths are grown on counts
    state = DoseData(data.n, data.dlt, data.current, data.last_n, data.last_dlt, data.grade2)
    return state, " ".join(parts)


def dose_paths(
    design: Design,
    cohort_sizes: Sequence[int | None] | None = (3, 3),
    start: Outcomes | None = None,
    max_cohorts: int = 200,
    progress: bool = False,
    max_nodes: int | None = None,
) -> DosePaths:
    """Every sequence of cohort outcomes and the design's decision after each.

    Parameters
    ----------
    design : Design
        Any design deciding on counts.
    cohort_sizes : sequence of int or None, or None
        The horizon: one entry per future cohort, its size (``None`` entries: the size the
        design asks for).  ``None``: the design's own sizes until every path stops (the full
        horizon; guarded by ``max_cohorts``).
    start : Outcomes, optional
        Data observed so far (one arm); paths continue from it.
    max_cohorts : int
        Guard for the full horizon.
    progress : bool
        Show a tqdm bar on stderr: one step per cohort, with the number of nodes so far.
    max_nodes : int, optional
        Guard on the size of the tree: a ``ValueError`` as soon as it would exceed this
        many nodes (a design without ``max_n`` on the full horizon grows without bound).

    Returns
    -------
    DosePaths

    Examples
    --------
    >>> import bayes_dose as bd
    >>> paths = bd.dose_paths(bd.ThreePlusThree(5), cohort_sizes=[3, 3])
    >>> paths.to_frame()[["outcomes", "next_dose", "stop"]].head(3)
      outcomes  next_dose   stop
    0                   1  False
    1     1NNN          2  False
    2     1NNT          1  False
    >>> round(paths.probabilities([0.1, 0.2, 0.3, 0.4, 0.5]).expected_n, 2)
    5.92
    """
    _check_one_arm(design, "dose_paths")
    max_cohorts = checks.whole("dose_paths", "max_cohorts", max_cohorts, low=1)
    if cohort_sizes is None:
        sizes: list[int | None] = [None] * max_cohorts
        full = True
    else:
        sizes = list(cohort_sizes)
        full = False
        for i, c in enumerate(sizes):
            if c is not None:
                sizes[i] = checks.whole("dose_paths", f"cohort_sizes[{i}]", c, low=1)
    root, start_label = _start_state(design, start)
    keep_last = design.uses_last_cohort
    parents = [np.array([-1])]
    depth = [np.array([0])]
    cdose, cn, cy = [np.array([0])], [np.array([0])], [np.array([0])]
    states = [root]
    decisions = []
    frontier, frontier_ids = root, np.array([0])
    next_id = 1
    n_states = 0
    bar = None
    if flag("dose_paths", "progress", progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=None if full else len(sizes) + 1, desc="paths", unit="cohort",
                   file=sys.stderr, leave=False)  # fmt: skip
    for level, forced in enumerate([*sizes, None]):
        if bar is not None:
            bar.update(1)
            bar.set_postfix(nodes=next_id, open=frontier.n_trials)
        first, inv = state_codes(frontier, keep_last_cohort=keep_last)
        n_states += len(first)
        dec = design.decide(frontier.take(first))
        nxt, size, stop, reason = (
            a[inv] for a in (dec.next_dose, dec.cohort_size, dec.stop, dec.reason)
        )
        decisions.append((nxt, size, stop, reason))
        if level == len(sizes) or stop.all():
            break
        go = ~stop
        size = size.copy()
        if forced is not None:
            size[go] = forced
        if max_nodes is not None:
            grow = int(np.sum(size[go] + 1))  # children of the open paths: 0..size DLTs
            if next_id + grow > max_nodes:
                if bar is not None:
                    bar.close()
                raise ValueError(
                    f"dose_paths: the tree would exceed {max_nodes:,} nodes at cohort "
                    f"{level + 1} ({next_id:,} so far, {int(go.sum()):,} open paths); give "
                    "fewer cohorts or a design with max_n"
                )
        src, k, child = branch(frontier.take(go), nxt[go], size[go])
        ids = frontier_ids[go][src]
        n_new = child.n_trials
        parents.append(ids)
        depth.append(np.full(n_new, level + 1))
        cdose.append(nxt[go][src] + 1)
        cn.append(size[go][src])
        cy.append(k)
        states.append(child)
        frontier = child
        frontier_ids = np.arange(next_id, next_id + n_new)
        next_id += n_new
    else:  # pragma: no cover - the loop always breaks on its extra last entry
        pass
    if bar is not None:
        bar.close()
    if full and not decisions[-1][2].all():
        raise RuntimeError(
            f"{type(design).__name__} did not stop within {max_cohorts} cohorts; set max_n"
        )
    cat = np.concatenate
    nxt, size, stop, reason = (cat([d[j] for d in decisions]) for j in range(4))
    state = DoseData(*(cat([getattr(s, f) for s in states]) for f in
                       ("n", "dlt", "current", "last_n", "last_dlt", "grade2")))  # fmt: skip
    return DosePaths(
        design=design,
        parent=cat(parents),
        depth=cat(depth),
        cohort_dose=cat(cdose),
        cohort_n=cat(cn),
        cohort_dlt=cat(cy),
        state=state,
        next_dose=np.where(stop, 0, nxt + 1),
        cohort_size=np.where(stop, 0, size),
        stop=stop.astype(bool),
        reason_code=reason,
        n_states=n_states,
        start_label=start_label,
    )


@renamed_kwargs(n_max="up_to_n")
def decision_table(
    designs: Mapping[str, Design],
    up_to_n: int = 6,
    cohort_size: int | None = None,
    level: int | None = None,
) -> pd.DataFrame:
    """What each design does after 0..n DLTs in a cohort at a dose, side by side.

    For ``n`` = cohort, 2 cohorts, ... up to ``up_to_n`` patients treated at ``level``
    (default: level 2, level 1 for a design with fewer than 3 doses) and ``y`` = 0..n DLTs
    among them, each design's decision: ``"E"`` escalate, ``"S"`` stay, ``"D"`` de-escalate,
    ``"X"`` stop, with the reason.  Every row rests on the same history: each lower level
    treated with one cohort and no DLT, higher levels untreated, the last cohort of
    ``min(n, cohort_size)`` patients at ``level`` holding ``min(y, cohort_size)`` of the
    DLTs, and a design's accelerated titration switched off.  ``attrs["setting"]`` states
    it, one sentence per line (doses in mg where the designs carry them).

    Parameters
    ----------
    designs : mapping of str to Design
    up_to_n : int
        Largest number of patients at the dose (``n_max``: deprecated alias).
    cohort_size : int, optional
        Step in ``n`` (default: 3).
    level : int, optional
        1-based dose level the patients were treated at (default: 2, so de-escalation shows).

    Returns
    -------
    DataFrame with index (``n``, ``dlt``) and, per design, the action and next level;
    ``attrs["setting"]``: tuple of str, the history the table rests on.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> t = bd.decision_table({"3+3": bd.ThreePlusThree(5)}, up_to_n=6)
    >>> t.loc[(3, 0), ("3+3", "action")], t.loc[(3, 1), ("3+3", "action")]
    ('E', 'S')
    >>> t.attrs["setting"][1]
    '3+3: level 2, after level 1 with 3 patients and 0 DLTs'
    """
    if not designs:
        raise ValueError("decision_table: no designs given")
    up_to_n = checks.whole("decision_table", "up_to_n", up_to_n, low=1)
    step = 3 if cohort_size is None else checks.whole("decision_table", "cohort_size",
                                                      cohort_size, low=1)  # fmt: skip
    ns = list(range(step, up_to_n + 1, step)) or [up_to_n]
    rows = [(n, y) for n in ns for y in range(n + 1)]
    cols: dict[tuple[str, str], list[Any]] = {}
    where: dict[str, list[str]] = {}  # history sentence -> designs
    titrated: list[str] = []
    for name, d in designs.items():
        _check_one_arm(d, f"decision_table: design {name!r}")
        lv = (2 if d.n_doses >= 3 else 1) if level is None else checks.whole(
            "decision_table", "level", level)
        if not 1 <= lv <= d.n_doses:
            raise ValueError(f"decision_table: level {lv} outside 1..{d.n_doses} of {name!r}")
        n = np.zeros((len(rows), d.n_doses), dtype=np.int64)
        y = np.zeros_like(n)
        for i, (nn, yy) in enumerate(rows):
            n[i, lv - 1], y[i, lv - 1] = nn, yy
        # lower levels: treated and clean, so no-skip and titration do not interfere
        n[:, : lv - 1] = step
        last_n = np.array([min(step, r[0]) for r in rows])
        last_y = np.array([min(r[1], ln) for r, ln in zip(rows, last_n, strict=True)])
        data = DoseData.from_counts(n, y, np.full(len(rows), lv - 1), last_n, last_y)
        # treat titration as over: a titration design would otherwise read 1 patient/level
        dd = d.replace(titration_levels=0) if getattr(d, "titration_levels", 0) else d
        dec = dd.decide(data)
        act = np.where(
            dec.stop,
            "X",
            np.where(dec.next_dose > lv - 1, "E", np.where(dec.next_dose < lv - 1, "D", "S")),
        )
        cols[(name, "action")] = act.tolist()
        cols[(name, "next")] = [
            None if s else int(x) + 1 for s, x in zip(dec.stop, dec.next_dose, strict=True)
        ]
        cols[(name, "reason")] = [dd.explain(data, dec, i) for i in range(len(rows))]
        where.setdefault(_history_sentence(d, lv, step), []).append(name)
        if dd is not d:
            titrated.append(f"{name}: its accelerated titration (levels 1-{d.titration_levels}) "
                            "is switched off")  # fmt: skip
    df = pd.DataFrame(cols, index=pd.MultiIndex.from_tuples(rows, names=["n", "dlt"]))
    df.columns = pd.MultiIndex.from_tuples(df.columns, names=["design", "field"])
    df.attrs["setting"] = (
        f"n = {', '.join(map(str, ns))} patients treated at the level named for each design below, y of them with "
        f"DLTs; the last cohort of min(n, {step}) patients holds min(y, {step}) of the DLTs",
        *(f"{', '.join(names)}: {text}" for text, names in where.items()),
        *titrated,
    )
    return df


def _history_sentence(design: Design, level: int, step: int) -> str:
    """The level of a :func:`decision_table` and the clean lower levels, with doses."""
    doses = getattr(design, "doses_mg", None)

    def mg(lo: int, hi: int) -> str:
        if doses is None:
            return ""
        return f" ({doses[lo - 1]:g} mg)" if lo == hi else f" ({doses[lo - 1]:g}-{doses[hi - 1]:g} mg)"

    here = f"level {level}{mg(level, level)}"
    if level == 1:
        return f"{here}, no lower level treated"
    if level == 2:
        return f"{here}, after level 1{mg(1, 1)} with {_patients(step)} and 0 DLTs"
    return (f"{here}, after levels 1-{level - 1}{mg(1, level - 1)} with {_patients(step)} and "
            "0 DLTs each")  # fmt: skip


def _patients(n: int) -> str:
    return f"{n} patient{'' if n == 1 else 's'}"
