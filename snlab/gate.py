"""The testability gate: whether the runs behind a claim can test it at all, decided before its verdict.

A claim that one method trains better than another says nothing when the runs compared are still in
the early phase of training, where a large learning rate simply moves faster, nor when a point rests
on one seed. So every verdict first passes this gate, by rules fixed here before any run was judged
(docs/claims.md states them for readers):

Each run gets a phase from its evaluations (``run_phases``):

- **diverged**: a non-finite loss ended it. A result: counted and shown, never dropped.
- **early**: its final FID is above ``LEARNED`` × the untrained generator's FID.
- **learning**: below that, but its FID still moved by more than ``SETTLED`` (relative) over the last
  doubling of its G updates (final evaluation against the last one at or before half the run), or
  there is no evaluation at half the run to show that it did not.
- **settled**: below that, and moved by at most ``SETTLED`` over the last doubling.

A run whose final IS is below ``COLLAPSED_IS`` is also counted as collapsed (an untrained G scores 1.0).

A set of runs can test a claim (``check``) when every point it compares (e.g. a method at a setting)
has runs stored, at least ``MIN_SEEDS`` seeds of them, and every *reference* point (one the paper shows
learning, e.g. SN at every setting) has a majority of its non-diverged seeds settled. Any extra condition a claim needs
(e.g. passes over the data before overfitting can show) is checked alongside. A run that the paper
shows learning, that trained that long and still did not learn, is then a finding, not a reason to
discard anything.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from snlab import results

#: Seeds every compared point needs.
MIN_SEEDS = 3
#: A run has learned when its final FID is at most this fraction of the untrained generator's FID.
LEARNED = 0.25
#: A run has settled when its FID moved by at most this fraction over the last doubling of G updates.
SETTLED = 1 / 3
#: Final IS below this counts a run as collapsed (the untrained generator scores 1.0).
COLLAPSED_IS = 1.5
#: Points without runs a closed gate names before "and N more".
NAMED = 8
#: The phases, from worst to best.
PHASES = ("diverged", "early", "learning", "settled")
#: What ``check``'s ``need`` accepts as reached, per need.
NEEDS = {"settled": ("settled",), "learning": ("learning", "settled")}


def run_phases(table: pd.DataFrame, fid: str, is_: str, untrained_fid: float) -> pd.DataFrame:
    """One row per run of a ``results.collect`` table (one row per run × logged step, or only each run's
    last row): the run's config columns as given, ``final_step``, ``fid`` and ``is`` at the last evaluation,
    ``half_step`` / ``fid_half`` (the last evaluation at or before half of ``final_step``; NaN when none),
    ``change`` (relative FID change over that doubling), ``phase`` (``PHASES``) and ``collapsed``.

    ``untrained_fid``: the FID of the untrained generator under the same protocol (``LEARNED``'s scale).
    """
    rows = []
    for run, g in table.sort_values("step").groupby("run", sort=False):
        ev = g.dropna(subset=[fid])
        last = g.iloc[-1]
        row = last.drop(labels=[c for c in g.columns if c.startswith(("IS_", "FID_", "sigma_", "opnorm_"))])
        final_step = int(last["step"])
        fid_last = float(ev[fid].iloc[-1]) if len(ev) else np.nan
        is_last = float(ev[is_].iloc[-1]) if len(ev) else np.nan
        half = ev[ev["step"] <= final_step / 2]
        fid_half = float(half[fid].iloc[-1]) if len(half) else np.nan
        change = abs(fid_last - fid_half) / fid_half if len(half) else np.nan
        if last.get("status") == "diverged":
            phase = "diverged"
        elif not np.isfinite(fid_last) or fid_last > LEARNED * untrained_fid:  # never evaluated: not learned
            phase = "early"
        else:
            phase = "settled" if change <= SETTLED else "learning"  # NaN change: not shown settled
        rows.append({**row.to_dict(), "final_step": final_step, "fid": fid_last, "is": is_last,
                     "half_step": int(half["step"].iloc[-1]) if len(half) else np.nan, "fid_half": fid_half,
                     "change": change, "phase": phase, "collapsed": bool(is_last < COLLAPSED_IS)})
    return pd.DataFrame(rows)


def settle_forecasts(table: pd.DataFrame, fid: str, is_: str, untrained_fid: float) -> pd.DataFrame:
    """How well a phase forecasts the next doubling, the premise of ``SETTLED``: each run of ``table`` (a
    ``results.collect`` table) judged by ``run_phases`` as it stood at half its length (its rows up to then,
    its own evaluations), beside how much its FID then moved by its end. One row per run that had learned by
    half its length and did not diverge: run, method, setting, final_step, phase_at_half ("learning" or
    "settled"), fid_half, fid, next_change (fid / fid_half − 1, signed) and moved (|next_change| >
    ``SETTLED``)."""
    then = run_phases(results.first_half(table), fid, is_, untrained_fid).set_index("run")
    now = run_phases(table, fid, is_, untrained_fid).set_index("run")
    both = then[["phase"]].rename(columns={"phase": "phase_at_half"}).assign(fid_half=then["fid"]).join(
        now[["method", "setting", "final_step", "fid", "phase"]], how="inner")
    both = both[both["phase_at_half"].isin(NEEDS["learning"]) & (both["phase"] != "diverged")]
    both = both.assign(next_change=both["fid"] / both["fid_half"] - 1)
    return both.assign(moved=both["next_change"].abs() > SETTLED).drop(columns="phase").reset_index()


def earliest_settled(table: pd.DataFrame, fid: str, is_: str, untrained_fid: float, by) -> pd.DataFrame:
    """For each point ``by`` (e.g. method × setting) of a table of long runs with evaluations along the way:
    ``learned_from`` and ``settled_from``, the first evaluated G update L from which on (at L and at every
    later evaluation) most of the point's non-diverged seeds, cut there, had learned (resp. settled) by
    ``run_phases``' rules; NaN when that never holds through the runs' end. A curve that flattens for a
    while and then falls again is not settled at the flat stretch. This is how the convergence study
    picks the shortest run length the gate accepts. A run that diverged later counts as diverged only at
    cuts that reach its last row: before that, it was training like the others."""
    by = list(by)

    def first_from(flags: list[tuple[int, bool]]) -> float:
        """The step from which every flag is True to the end (NaN when the last is False)."""
        i = len(flags)
        while i > 0 and flags[i - 1][1]:
            i -= 1
        return float(flags[i][0]) if i < len(flags) else float("nan")

    rows = []
    for point, runs in table.groupby(by):
        learned, settled = [], []  # (step, flag) at each of the point's own evaluations
        steps, ends = runs["step"].to_numpy(), runs.groupby("run")["step"].transform("max").to_numpy()
        for step in sorted(runs.dropna(subset=[fid])["step"].unique()):
            keep = steps <= step
            cut = runs[keep]
            if "status" in cut:  # the status is the run's at its end, on every row
                cut = cut.assign(status=np.where(ends[keep] <= step, cut["status"], "complete"))
            alive = run_phases(cut, fid, is_, untrained_fid).query("phase != 'diverged'")
            learned.append((step, len(alive) > 0 and alive["phase"].isin(("learning", "settled")).mean() > 0.5))
            settled.append((step, len(alive) > 0 and (alive["phase"] == "settled").mean() > 0.5))
        point = point if isinstance(point, tuple) else (point,)
        rows.append({**dict(zip(by, point)), "learned_from": first_from(learned), "settled_from": first_from(settled)})
    return pd.DataFrame(rows, columns=[*by, "learned_from", "settled_from"])


@dataclass
class Gate:
    """Whether runs can test a claim: ``testable``; ``why`` not (empty when testable); ``numbers``, the
    gate's measurements, shown beside the verdict."""

    testable: bool
    why: str
    numbers: str
    #: What would open it, where more training could (``assess`` prices it): "runs" (points or seeds are
    #: missing), "longer" (every point is stored with enough seeds, but reference points have not settled or
    #: learned), or "" (open, or closed by something else).
    needs: str = ""


def check(phases: pd.DataFrame, by: list[str], reference=None, untrained_fid: float | None = None,
          extra: list[tuple[bool, str]] = (), need: str = "settled", asked=None) -> Gate:
    """The gate for runs ``phases`` (``run_phases``) compared at the points ``by`` (e.g. ["method",
    "setting"]); ``reference``: a boolean mask over ``phases`` marking the runs the paper shows learning
    (default: every run); ``extra``: further (condition met, its description) pairs the claim needs.
    ``need``: the phase most seeds of every reference point must reach: "settled" for a claim that
    compares how well runs train; "learning" (learned: FID below ``LEARNED`` of the untrained G's, settled
    or not) for a claim about what a method does to D while it trains (C1: σ(W̄) stays 1 while W moves).
    ``asked``: the points the claim compares (tuples of ``by`` values; default: those with runs); one with
    no run in ``phases`` (none stored) closes the gate, since a comparison without it is not the claim's."""
    if need not in NEEDS:
        raise ValueError(f"unknown need {need!r}; valid: {', '.join(NEEDS)}")
    by = list(by)
    if phases.empty:
        return Gate(False, "no runs", "no runs", "runs")
    held = set(phases[by].itertuples(index=False, name=None))
    asked = set(asked or held)
    absent = sorted(asked - held, key=str)
    reference = pd.Series(True, index=phases.index) if reference is None else pd.Series(reference, index=phases.index)
    seeds = phases.groupby(by)["seed"].nunique()
    ref = phases[reference]
    points = [len(alive) == 0 or alive["phase"].isin(NEEDS[need]).mean() > 0.5
              for _, g in ref.groupby(by) for alive in [g[g["phase"] != "diverged"]]]
    ok_points, n_points = sum(points), len(points)
    threshold = LEARNED * untrained_fid if untrained_fid else np.nan
    what = "settled" if need == "settled" else "learned"
    named = ", ".join("/".join(map(str, p)) for p in absent[:NAMED]) + (
        f", and {len(absent) - NAMED} more" if len(absent) > NAMED else "")
    why = [f"{len(absent)} of {len(asked)} points have no run: {named}"] if absent else []
    if n_points == 0:
        why.append("no reference points: nothing the paper shows learning was run")
    elif seeds.min() < MIN_SEEDS:
        why.append(f"{seeds.min()} seed(s) at some point, {MIN_SEEDS} needed")
    if ok_points < n_points:
        alive = ref[ref["phase"] != "diverged"]
        stuck = f"{int((alive['phase'] == 'early').sum())} of their runs still above FID {threshold:.0f}"
        if need == "settled":
            stuck += _unsettled(alive[alive["phase"] == "learning"])
        why.append(f"{n_points - ok_points} of {n_points} reference points have not {what} at "
                   f"{int(phases['final_step'].max())} G updates ({stuck})")
    why += [f"not met: {text}" for met, text in extra if not met]
    numbers = (f"points with runs: {len(asked) - len(absent)}/{len(asked)}; seeds per point: {seeds.min()}–"
               f"{seeds.max()} (need ≥ {MIN_SEEDS}); reference points with most seeds {what}: {ok_points}/{n_points} "
               f"({_rule(need, untrained_fid, threshold)}); {_counts(phases)}"
               + "".join(f"; {text}" for _, text in extra))
    needs = ("" if n_points == 0 and not absent  # nothing stored can be a reference point: no training opens it
             else "runs" if absent or seeds.min() < MIN_SEEDS else "longer" if ok_points < n_points else "")
    return Gate(not why, "; ".join(why), numbers, needs)


def _unsettled(learning: pd.DataFrame) -> str:
    """How reference runs below the learned line (``learning``: their ``run_phases`` rows) failed to settle:
    improving by more than ``SETTLED`` per doubling (said even when none is), worse by more than that, or with
    no evaluation at half the run to compare with."""
    better = int((learning["fid"] < learning["fid_half"]).sum())
    worse = int((learning["fid"] > learning["fid_half"]).sum())
    unknown = int(learning["change"].isna().sum())
    return (f", {better} below it but still improving by more than {SETTLED:.0%} per doubling"
            + (f", {worse} below it but worse by more than {SETTLED:.0%} over the last doubling" if worse else "")
            + (f", {unknown} below it without an evaluation at half the run" if unknown else ""))


def _rule(need: str, untrained_fid: float | None, threshold: float) -> str:
    """The phase rule ``check`` applies (``threshold``: ``LEARNED`` × ``untrained_fid``), in words with its
    numbers."""
    scale = f" = {LEARNED:.2g} × untrained {untrained_fid:.0f}" if untrained_fid else ""
    return f"final FID ≤ {threshold:.0f}{scale}" + (f", and ≤ {SETTLED:.0%} change over the last doubling"
                                                  if need == "settled" else "")


def _counts(phases: pd.DataFrame) -> str:
    """Runs per phase and collapsed, e.g. "runs: 2 settled, 0 learning, 2 early, 0 diverged, 0 collapsed …"."""
    counts = phases["phase"].value_counts()
    return ("runs: " + ", ".join(f"{counts.get(p, 0)} {p}" for p in reversed(PHASES))
            + f", {int(phases['collapsed'].sum())} collapsed (IS < {COLLAPSED_IS})")


def untrained_fid(configs, fid: str) -> float:
    """The untrained generator's FID (``fid``: the history's column, e.g. "FID_fmnist") under the runs'
    training-time protocol, averaged over the seeds of ``configs`` (``TrainConfig``s): ``LEARNED``'s scale."""
    firsts = {c.seed: c for c in configs}.values()
    return float(np.mean([_untrained_fid(c.to_json(), c.data_dir, fid) for c in firsts]))


@lru_cache(maxsize=64)
def _untrained_fid(config_json: str, data_dir: str | None, fid: str) -> float:
    from snlab.config import TrainConfig, build_run_models
    from snlab.metrics.evaluation import training_metrics

    c = TrainConfig(**json.loads(config_json), data_dir=data_dir)
    return training_metrics(build_run_models(c)[0], c.dataset, fid.removeprefix("FID_"), c.eval_samples or 5000,
                            c.seed, c.data_dir)[fid]


def assess(table: pd.DataFrame, configs, by, reference=None, extra=(), need: str = "settled", store=None,
           notebook: str | None = None, iterations: int | None = None,
           runs_at: Callable[[int], list] | None = None) -> tuple[pd.DataFrame, Gate]:
    """``run_phases`` of a sweep's ``table`` (``results.collect`` rows) and the ``check`` of them at the
    points ``by``, each point of ``configs`` asked for; ``reference``: a ``DataFrame.query`` string selecting
    the reference runs (default: all); ``need`` as ``check``'s. With the runs' ``store`` and the ``notebook``
    that draws them, a gate that more training could open also says what that costs and how (``_priced``;
    ``iterations``: the notebook's parameter of that name, None when it runs at its protocol's length;
    ``runs_at``: the notebook's configs at another length, as its ``iterations`` would build them)."""
    from snlab.plots import metric_column

    fid, is_ = metric_column(table, "FID"), metric_column(table, "IS")
    scale = untrained_fid(configs, fid)
    phases = run_phases(table, fid, is_, scale)
    mask = phases.eval(reference) if reference and not phases.empty else None
    asked = {tuple(getattr(c, b) for b in by) for c in configs}
    verdict = check(phases, by, mask, scale, extra, need, asked)
    if verdict.needs and store is not None and notebook:
        verdict = _priced(verdict, configs, store, notebook, iterations, runs_at)
    return phases, verdict


def _priced(verdict: Gate, configs, store, notebook: str, length: int | None = None,
            runs_at: Callable[[int], list] | None = None) -> Gate:
    """``verdict`` with the price of what it ``needs`` (``prices.next_step``): the runs of ``configs`` that
    ``store`` lacks (the command names ``length``, the notebook's ``iterations`` parameter, unless None), or
    ``runs_at(2 × their length)`` (when they share one length and ``runs_at`` is given): the runs that the
    command setting that length trains, with the evaluation schedule it derives, so that runs of ``store``
    already made at that length count as done (all of them: the command that draws the figure from them,
    last). A price too costly for 2 CPU cores comes first, as the reason that matters; another last, as the
    next step."""
    from snlab import prices, sweep

    first, seeds = configs[0], {c.seed for c in configs}
    if verdict.needs == "runs":
        left = sweep.todo(configs, store).query("state != 'done'")
        what, iterations = f"the {len(left)} run{'s' if len(left) != 1 else ''} of this figure not stored", length
    else:
        lengths = {c.iterations for c in configs}
        if len(lengths) != 1 or runs_at is None:
            return verdict
        iterations = 2 * lengths.pop()
        longer = sweep.todo(runs_at(iterations), store)
        left = longer.query("state != 'done'")
        what = f"this figure's runs trained twice as long ({iterations:,} G updates)"
        if left.empty and not longer.empty:
            command = prices.train_command(notebook, first.preset, iterations, first.dataset, store, seeds, train=False)
            return replace(verdict, why=f"{verdict.why}; {what} are all stored: {command} draws it from them")
    if left.empty:  # seeds missing that configs do not ask for: nothing to price
        return verdict
    costly, words = prices.next_step(left, store, notebook, first.preset, what, iterations, first.dataset, seeds)
    return replace(verdict, why=f"{words}; {verdict.why}" if costly else f"{verdict.why}; {words}")


def not_run(reason: str) -> Gate:
    """The gate of a claim whose runs were not made at this scale (e.g. a GPU-only experiment)."""
    return Gate(False, reason, "no runs")
