"""The testability gate on synthetic run histories, in both directions."""
from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd

from snlab import gate
from snlab.config import TrainConfig
from snlab.store import default_run_dir
from tests.conftest import write_timed_run

UNTRAINED = 1200.0  # LEARNED × this = 300


def _run(name, fids, seed=0, method="sn", setting="C", status="complete", is_=3.0):
    """A run's history: one row per (step, FID) pair, IS ``is_`` at every evaluation."""
    return pd.DataFrame([{"run": name, "method": method, "setting": setting, "seed": seed, "status": status,
                          "step": step, "FID_x": fid, "IS_x": np.nan if fid is None else is_}
                         for step, fid in fids])


def _phase(fids, **kw):
    return gate.run_phases(_run("r", fids, **kw), "FID_x", "IS_x", UNTRAINED).iloc[0]


def test_run_phases_from_the_last_doubling():
    assert _phase([(100, 900), (200, 800)])["phase"] == "early"  # above 300
    p = _phase([(100, 900), (200, 500), (400, 300)])  # at 300 but down 40% since 200
    assert p["phase"] == "learning" and p["change"] == 0.4 and p["half_step"] == 200
    assert _phase([(100, 900), (200, 280), (300, 260), (400, 250)])["phase"] == "settled"  # 280 → 250
    assert _phase([(400, 250)])["phase"] == "learning"  # nothing at half the run shows it settled
    assert _phase([(200, 280), (400, None)], status="diverged")["phase"] == "diverged"
    assert _phase([(200, 280), (400, 260)], is_=1.2)["collapsed"]


def test_settle_forecasts_judge_each_run_at_half_its_length_and_measure_the_next_doubling():
    """Line at 300. "a" settled by 50 (200 → 180, −10%) and stays (→ 170); "b" settled by 50 (240 → 200) then
    fell 60% (→ 80: moved); "c" still learning at 50 (600 → 290); "d" early at 50, "e" diverged: left out."""
    table = pd.concat([_run("a", [(25, 200), (50, 180), (100, 170)]), _run("b", [(25, 240), (50, 200), (100, 80)]),
                       _run("c", [(25, 600), (50, 290), (100, 250)]), _run("d", [(25, 900), (50, 800), (100, 200)]),
                       _run("e", [(25, 250), (50, 240), (100, None)], status="diverged")])
    f = gate.settle_forecasts(table, "FID_x", "IS_x", UNTRAINED).set_index("run")
    assert list(f.index) == ["a", "b", "c"] and list(f["phase_at_half"]) == ["settled", "settled", "learning"]
    assert f["next_change"].round(4).tolist() == [round(170 / 180 - 1, 4), -0.6, round(250 / 290 - 1, 4)]
    assert f["moved"].tolist() == [False, True, False] and f.loc["b", "fid_half"] == 200


def _grid(settled_seeds, seeds=3):
    """SN at settings C and D; the first ``settled_seeds`` seeds of each settle, the rest stay early."""
    runs = [_run(f"{s}{k}", [(200, 280), (400, 250)] if k < settled_seeds else [(200, 900), (400, 800)],
                 seed=k, setting=s) for s in "CD" for k in range(seeds)]
    return gate.run_phases(pd.concat(runs), "FID_x", "IS_x", UNTRAINED)


def test_check_passes_settled_reference_points_with_enough_seeds():
    g = gate.check(_grid(settled_seeds=2), ["method", "setting"], untrained_fid=UNTRAINED)
    assert g.testable and g.why == ""
    assert "reference points with most seeds settled: 2/2" in g.numbers and "2 early" in g.numbers


def test_check_refuses_early_points_too_few_seeds_and_unmet_extras():
    early = gate.check(_grid(settled_seeds=1), ["method", "setting"], untrained_fid=UNTRAINED)
    assert not early.testable and "2 of 2 reference points have not settled" in early.why
    few = gate.check(_grid(settled_seeds=2, seeds=2), ["method", "setting"], untrained_fid=UNTRAINED)
    assert not few.testable and "2 seed(s) at some point, 3 needed" in few.why
    extra = gate.check(_grid(3), ["method", "setting"], untrained_fid=UNTRAINED, extra=[(False, "≥ 10 epochs (2.1)")])
    assert not extra.testable and extra.why == "not met: ≥ 10 epochs (2.1)"


def test_a_closed_gate_tells_runs_that_got_worse_from_runs_still_improving():
    """Below the learned line but not settled: 250 → 120 is improving, 120 → 250 worse, and a run with no
    evaluation at half its length cannot show either; the reason says which is which."""
    runs = pd.concat([_run("a", [(200, 250), (400, 120)], seed=0), _run("b", [(200, 120), (400, 250)], seed=1),
                      _run("c", [(400, 250)], seed=2)])
    g = gate.check(gate.run_phases(runs, "FID_x", "IS_x", UNTRAINED), ["method"], untrained_fid=UNTRAINED)
    assert g.why == ("1 of 1 reference points have not settled at 400 G updates (0 of their runs still above FID "
                     "300, 1 below it but still improving by more than 33% per doubling, 1 below it but worse by "
                     "more than 33% over the last doubling, 1 below it without an evaluation at half the run)")


def test_only_reference_points_must_settle_and_diverged_ones_are_decisive():
    phases = _grid(settled_seeds=1)
    not_ref = phases["setting"] == "C"
    phases.loc[phases["setting"] == "C", "phase"] = "settled"
    assert gate.check(phases, ["method", "setting"], reference=not_ref).testable  # D is not a reference point
    phases.loc[phases["setting"] == "D", "phase"] = "diverged"  # a method that diverges: a finding
    g = gate.check(phases, ["method", "setting"])
    assert g.testable and "3 diverged" in g.numbers


def test_earliest_settled_is_the_step_from_which_the_point_stays_settled():
    """A flat stretch that is followed by a new fall does not count: settled from 1600, not from 400."""
    fids = [(100, 900), (200, 280), (400, 260), (800, 100), (1600, 90)]
    runs = pd.concat([_run(f"r{k}", [(s, f * (1 + 0.01 * k)) for s, f in fids], seed=k) for k in range(3)])
    lengths = gate.earliest_settled(runs, "FID_x", "IS_x", UNTRAINED, ["method", "setting"]).iloc[0]
    assert (lengths["learned_from"], lengths["settled_from"]) == (200, 1600)
    never = pd.concat([_run(f"r{k}", fids[:-1], seed=k) for k in range(3)])  # ends on the fall: not settled
    assert np.isnan(gate.earliest_settled(never, "FID_x", "IS_x", UNTRAINED, ["method"]).iloc[0]["settled_from"])
    late = pd.concat([_run(f"w{k}", [(800, 100), (1600, 90), (1800, None)], seed=k, method="wn") for k in range(3)])
    both = gate.earliest_settled(pd.concat([runs, late]), "FID_x", "IS_x", UNTRAINED, ["method"]).set_index("method")
    assert tuple(both.loc["wn", ["learned_from", "settled_from"]]) == (800, 1600)  # its own steps, not sn's first
    alone = gate.earliest_settled(late, "FID_x", "IS_x", UNTRAINED, ["method"]).set_index("method")
    pd.testing.assert_frame_equal(alone, both.loc[["wn"]])  # another point's evaluations change nothing


def test_earliest_settled_counts_a_run_diverged_only_from_where_it_diverged():
    """Seeds 0 and 2 settle by 800 and seed 1 stays early; seed 2 diverges at 900, after the last evaluation.
    Cut at 800 it had not diverged: 2 of 3 settled, so the point is settled from 800 (counting it diverged
    there would leave 1 of 2)."""
    runs = pd.concat([_run("a", [(400, 250), (800, 240)], seed=0), _run("b", [(400, 900), (800, 800)], seed=1),
                      _run("c", [(400, 250), (800, 240), (900, None)], seed=2, status="diverged")])
    lengths = gate.earliest_settled(runs, "FID_x", "IS_x", UNTRAINED, ["method"]).iloc[0]
    assert (lengths["learned_from"], lengths["settled_from"]) == (400, 800)


def test_unevaluated_runs_are_not_taken_for_diverged_and_an_empty_gate_is_closed():
    """A complete run with no FID at all is early (not learned), not "diverged" (which would be decisive);
    no runs, or no reference points, close the gate."""
    unevaluated = gate.run_phases(pd.concat([_run(f"r{k}", [(200, None), (400, None)], seed=k) for k in range(3)]),
                                  "FID_x", "IS_x", UNTRAINED)
    assert set(unevaluated["phase"]) == {"early"}
    assert not gate.check(unevaluated, ["method", "setting"]).testable
    assert gate.check(pd.DataFrame(), ["method"]).why == "no runs"
    phases = _grid(settled_seeds=3)
    closed = gate.check(phases, ["method", "setting"], reference=[False] * len(phases))
    assert not closed.testable and "no reference points" in closed.why


def test_a_claim_about_training_dynamics_needs_learned_runs_not_settled_ones():
    """need="learning" (C1): most seeds below LEARNED × untrained, improving or not; early runs still fail it."""
    learning = [_run(f"C{k}", [(200, 500), (400, 290)], seed=k) for k in range(3)]  # learned, down 42%: not settled
    phases = gate.run_phases(pd.concat(learning), "FID_x", "IS_x", UNTRAINED)
    assert not gate.check(phases, ["method"], untrained_fid=UNTRAINED).testable
    g = gate.check(phases, ["method"], untrained_fid=UNTRAINED, need="learning")
    assert g.testable and "reference points with most seeds learned: 1/1 (final FID ≤ 300" in g.numbers
    early = gate.check(_grid(settled_seeds=1), ["method", "setting"], untrained_fid=UNTRAINED, need="learning")
    assert not early.testable and "2 of 2 reference points have not learned" in early.why


def test_a_point_asked_for_but_not_stored_closes_the_gate():
    """Settled runs at C and D cannot test a claim that compares C, D and E: E has no run to compare."""
    phases = _grid(settled_seeds=3)
    assert gate.check(phases, ["method", "setting"], asked={("sn", "C"), ("sn", "D")}).testable
    g = gate.check(phases, ["method", "setting"], asked={("sn", "C"), ("sn", "D"), ("sn", "E")})
    assert not g.testable and g.why == "1 of 3 points have no run: sn/E"
    assert g.numbers.startswith("points with runs: 2/3; ")


def test_a_gate_more_training_could_open_says_what_that_costs(tmp_path, monkeypatch):
    """SN at settings C and D, 40,000 G updates, 1 of 3 seeds settled per point: closed only because the runs
    are too short. With SN stored at 0.1 s per network update, C's 3 runs (n_dis 1) twice as long cost
    3 × 80,000 × 2 × 0.1 s = 13.3 core-hours, within a 2-core night: the command that trains them, last;
    with D's (n_dis 5: 40 more) they are not: "too costly" and the GPU command, first. The longer runs are
    the notebook's (``runs_at``), with the evaluation schedule it derives for that length: one of C's stored
    so leaves 2 to price (8.9 core-hours), all 3 stored leave the command that draws the figure from them;
    without ``runs_at`` nothing is priced. With seeds missing the
    price is of the runs the store lacks, and the command names the notebook's length when it was given
    one, and the store (not results/); with no store there is none."""
    monkeypatch.setattr(gate, "untrained_fid", lambda configs, fid: UNTRAINED)
    store = tmp_path / "store"
    write_timed_run(store, TrainConfig(preset="cpu", method="sn", setting="C"), 100, 100 * 2 * 0.1)
    table = pd.concat([_run(f"{s}{k}", [(200, 280), (400, 250)] if k == 0 else [(200, 900), (400, 800)], seed=k,
                            setting=s) for s in "CD" for k in range(3)])
    configs = [TrainConfig(preset="cpu", method="sn", setting=s, seed=k, iterations=40_000) for s in "CD"
               for k in range(3)]
    unsettled = ("2 of 2 reference points have not settled at 400 G updates (4 of their runs still above FID 300, "
                 "0 below it but still improving by more than 33% per doubling)")
    def runs_at(length, settings="CD"):  # the notebook's runs at another length: 100 evaluations each
        return [replace(c, iterations=length, eval_every=length // 100) for c in configs if c.setting in settings]

    _, both = gate.assess(table, configs, ["method", "setting"], store=store, notebook="fig_x", runs_at=runs_at)
    assert both.needs == "longer" and both.why == (
        "too costly for 2 CPU cores: this figure's runs trained twice as long (80,000 G updates) ≈ 53.3 core-hours "
        "of training, more than a night of a 2-core laptop (24); on a GPU: `make reproduce PRESET=paper TRAIN=1 "
        f'ONLY=fig_x` with the paper\'s dataset in SET (e.g. `SET="dataset=cifar10"`); {unsettled}')
    c_only = table[table["setting"] == "C"]
    c_at = partial(runs_at, settings="C")
    _, one = gate.assess(c_only, configs[:3], ["method", "setting"], store=store, notebook="fig_x", runs_at=c_at)
    assert one.why.endswith('trained twice as long (80,000 G updates): ≈ 13.3 core-hours at the store\'s median rate '
                            '(evaluations not counted); `make reproduce TRAIN=1 ONLY=fig_x SET="iterations=80000 '
                            f'store={store}"` trains them')
    unpriced = gate.assess(c_only, configs[:3], ["method", "setting"], store=store, notebook="fig_x")[1].why
    assert gate.assess(c_only, configs[:3], ["method", "setting"])[1].why == unpriced == one.why.split("; ")[0]
    longer = c_at(80_000)[0]
    write_timed_run(store, longer, 80_000, 80_000 * 2 * 0.1, run=default_run_dir(longer, store))
    _, rest = gate.assess(c_only, configs[:3], ["method", "setting"], store=store, notebook="fig_x", runs_at=c_at)
    assert "(80,000 G updates): ≈ 8.9 core-hours" in rest.why
    for longer in c_at(80_000)[1:]:
        write_timed_run(store, longer, 80_000, 80_000 * 2 * 0.1, run=default_run_dir(longer, store))
    _, stored = gate.assess(c_only, configs[:3], ["method", "setting"], store=store, notebook="fig_x", runs_at=c_at)
    assert stored.why.endswith('twice as long (80,000 G updates) are all stored: `make reproduce ONLY=fig_x '
                               f'SET="iterations=80000 store={store}"` draws it from them')
    two_seeds = c_only[c_only["seed"] < 2]
    _, few = gate.assess(two_seeds, configs[:3], ["method", "setting"], store=store, notebook="fig_x")
    assert few.needs == "runs" and few.why.endswith(  # none of the 3 is in the store: 3 × 40,000 × 2 × 0.1 s
        "the 3 runs of this figure not stored: ≈ 6.7 core-hours at the store's median rate (evaluations not counted); "
        f'`make reproduce TRAIN=1 ONLY=fig_x SET="store={store}"` trains them')
    _, asked = gate.assess(two_seeds, configs[:3], ["method", "setting"], store=store, notebook="fig_x",
                           iterations=40_000)  # the notebook run at another length than its protocol's
    assert asked.why.endswith(f'`make reproduce TRAIN=1 ONLY=fig_x SET="iterations=40000 store={store}"` trains them')
    settled = gate.check(_grid(settled_seeds=2), ["method", "setting"], untrained_fid=UNTRAINED)
    assert settled.testable and settled.needs == ""


def test_a_closed_gate_names_at_most_eight_missing_points():
    phases = _grid(settled_seeds=2)
    asked = [("sn", s) for s in "CD"] + [("wn", s) for s in "ABCDEFGHIJ"]
    g = gate.check(phases, ["method", "setting"], untrained_fid=UNTRAINED, asked=asked)
    assert g.needs == "runs" and g.why.startswith(
        "10 of 12 points have no run: wn/A, wn/B, wn/C, wn/D, wn/E, wn/F, wn/G, wn/H, and 2 more")


def test_only_a_gate_training_can_open_asks_for_runs():
    """No runs at all: runs are what it needs. Every point stored but none a reference point: no training opens
    it, so nothing is priced, even with seeds short."""
    assert gate.check(_grid(1).iloc[:0], ["method", "setting"]).needs == "runs"
    phases = _grid(settled_seeds=1, seeds=2)
    none_ref = gate.check(phases, ["method", "setting"], reference=pd.Series(False, index=phases.index))
    assert not none_ref.testable and none_ref.needs == ""
