"""Claim verdicts follow their fixed rules on synthetic measurements, in both directions, and the
testability gate decides first (tests/test_gate.py tests the gate itself)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from snlab import claims, claims_report, ranking, significance
from snlab.gate import Gate

OK = Gate(True, "", "synthetic")  # the rules on their own
CLOSED = Gate(False, "1 seed(s) at some point, 3 needed", "seeds per point: 1–1")


def _history(sigmas):
    return pd.DataFrame([{"step": 1, **{f"sigma_conv{i}": 1.5 for i in range(len(sigmas))}},
                         {"step": 2, **{f"sigma_conv{i}": s for i, s in enumerate(sigmas)}}])


def test_c1_sigma_near_one():
    assert claims.c1_sigma(_history([1.0, 1.01, 1.02, 1.1]), "1", OK)["verdict"] == "reproduced"  # 1.5 early: ignored
    assert claims.c1_sigma(_history([1.0, 1.01, 1.02, 1.3]), "1", OK)["verdict"] == "not reproduced"
    assert claims.c1_sigma(_history([1.1, 1.1, 1.1]), "1", OK)["verdict"] == "not reproduced"
    runs = pd.concat([_history([1.0, 1.01]).assign(run="a"), _history([1.0, 1.4]).assign(run="b")])
    assert claims.c1_sigma(runs, "2", OK)["verdict"] == "not reproduced"  # every run's second half counts


def test_a_closed_gate_replaces_the_verdict_and_keeps_the_numbers():
    c = claims.c1_sigma(_history([1.0, 1.01]), "1", CLOSED)
    assert c["verdict"] == f"{claims.UNTESTABLE}: 1 seed(s) at some point, 3 needed"
    assert "median abs(σ−1)" in c["measured"] and c["gate"] == "seeds per point: 1–1"


def _final(fids, seeds=1, spread=0.0):
    """One row per method × setting × seed; seed k adds k × spread to the FID."""
    return pd.DataFrame([{"method": m, "setting": s, "seed": k, "FID_x": v + k * spread}
                         for m, row in fids.items() for s, v in row.items() for k in range(seeds)])


def test_rules_say_not_measured_without_the_methods_they_need():
    assert claims.c2_settings(_final({"wn": {"A": 1}, "clip": {"A": 2}}), "FID_x", "1", OK)["verdict"] == "not measured"
    ranks = pd.DataFrame({"method": ["sn", "wn"], "layer": ["a", "a"], "rank": [.5, .3]})
    assert claims.c3_spectra(ranks, "1", OK)["verdict"] == "not measured"
    assert claims.c4_width(_trend(-0.5, 0, .05).query("method == 'sn'"), "IS_x", "3", OK)["verdict"] == "not measured"
    only_sn = claims.c2_settings(_final({"sn": {"A": 1}}), "FID_x", "1", CLOSED)["verdict"]
    assert only_sn == f"not testable at this scale: {CLOSED.why}"  # the gate's reason stands over "not measured"
    closed = claims.c3_spectra(ranks, "1", CLOSED)
    assert closed["verdict"] == f"not testable at this scale: {CLOSED.why}"
    assert closed["measured"] == "no final spectrum of clip (no evaluated run)"


def test_c2_sn_must_have_the_best_worst_case():
    ok = _final({"sn": {"A": 30, "D": 35}, "wn": {"A": 25, "D": 90}, "clip": {"A": 40, "D": np.nan}}, seeds=2)
    c = claims.c2_settings(ok, "FID_x", "2", OK)
    assert c["verdict"] == "reproduced"  # a diverged run counts as ∞
    assert "clip ∞ (a seed diverged)" in c["measured"] and "inf" not in c["measured"]
    last = _final({"sn": {"A": 30, "D": 99}, "wn": {"A": 25, "D": 50}, "clip": {"A": 40, "D": 80}}, seeds=2)
    assert claims.c2_settings(last, "FID_x", "2", OK)["verdict"] == "not reproduced"
    all_diverged = _final({"sn": {"A": 30, "D": np.nan}, "wn": {"A": 25, "D": np.nan}})
    assert claims.c2_settings(all_diverged, "FID_x", "1", OK)["verdict"] == "not reproduced"  # ∞ ties never win


def test_c2_one_diverged_seed_makes_its_setting_the_methods_worst():
    """As docs/claims.md states: one diverged seed of three puts its setting at ∞, whatever the others score."""
    one_of_sn = _final({"sn": {"A": 25, "D": 25}, "wn": {"A": 300, "D": 300}}, seeds=3, spread=1)
    one_of_sn.loc[(one_of_sn["method"] == "sn") & (one_of_sn["setting"] == "D") & (one_of_sn["seed"] == 2),
                  "FID_x"] = np.nan
    assert claims.c2_settings(one_of_sn, "FID_x", "3", OK)["verdict"] == "not reproduced"
    one_of_wn = _final({"sn": {"A": 25, "D": 25}, "wn": {"A": 24, "D": 24}}, seeds=3, spread=1)
    one_of_wn.loc[(one_of_wn["method"] == "wn") & (one_of_wn["setting"] == "D") & (one_of_wn["seed"] == 2),
                  "FID_x"] = np.nan
    assert claims.c2_settings(one_of_wn, "FID_x", "3", OK)["verdict"] == "reproduced"


def test_one_seed_has_no_noise_estimate_so_no_difference_passes_it():
    one = claims.c2_settings(_final({"sn": {"A": 30, "D": 35}, "wn": {"A": 25, "D": 90}}), "FID_x", "1", OK)
    assert one["verdict"] == "inconclusive"
    assert "sn 35.0 (1 seed), wn 90.0 (1 seed)" in one["measured"]


def test_a_method_whose_runs_were_never_evaluated_is_not_measured():
    """Dropping never-evaluated runs can leave a rule without a method it needs: "not measured", no crash."""
    final = _final({"sn": {"A": 30, "D": 35}, "wn": {"A": 25, "D": 90}}, seeds=3).assign(status="complete")
    final.loc[final["method"] == "wn", "FID_x"] = np.nan
    assert claims.c2_settings(final, "FID_x", "3", OK)["verdict"] == "not measured"
    trend = _trend(-0.5, 0, .05).assign(status="complete")
    trend.loc[trend["method"] == "orthonormal", "IS_x"] = np.nan
    assert claims.c4_width(trend, "IS_x", "3", OK)["verdict"] == "not measured"
    critic = _critic({"wgan-gp": (.5, -1.0), "sn-gamma": (.1, -1.0)}).assign(status="complete")
    critic.loc[critic["method"] == "wgan-gp", "critic_heldout"] = np.nan
    assert claims.c7_overfit(critic, "3", OK)["verdict"] == "not measured"
    curves = _conditional(3.5).assign(status="complete")
    curves.loc[curves["method"] == "orthonormal", "IS_x"] = np.nan
    assert claims.c8_conditional(curves, "IS_x", "3", OK)["verdict"] == "not measured"


def test_c2_a_difference_within_seed_noise_is_inconclusive():
    close = _final({"sn": {"A": 30, "D": 48}, "wn": {"A": 25, "D": 50}}, seeds=3, spread=10)  # SE 5.8 each
    assert claims.c2_settings(close, "FID_x", "3", OK)["verdict"] == "inconclusive"
    clear = _final({"sn": {"A": 30, "D": 40}, "wn": {"A": 25, "D": 80}}, seeds=3, spread=1)
    assert claims.c2_settings(clear, "FID_x", "3", OK)["verdict"] == "reproduced"


def test_c3_broad_spectrum_across_seeds():
    ranks = pd.DataFrame([{"method": m, "seed": s, "layer": "a", "rank": r + 0.01 * s}
                          for m, r in (("sn", .6), ("wn", .3), ("clip", .2)) for s in range(3)])
    assert claims.c3_spectra(ranks, "3", OK)["verdict"] == "reproduced"
    ranks.loc[ranks["method"] == "wn", "rank"] = .9
    assert claims.c3_spectra(ranks, "3", OK)["verdict"] == "not reproduced"
    ranks.loc[ranks["method"] == "wn", "rank"] = [.55, .6, .65]
    assert claims.c3_spectra(ranks, "3", OK)["verdict"] == "inconclusive"
    counted = claims.c3_spectra(ranks, "3", OK, diverged={"wn": 2, "sn": 0})  # no final spectrum: not ranked, but said
    assert counted["measured"].endswith("; diverged, so not ranked (no final spectrum): wn 2")
    unranked = claims.c3_spectra(ranks.query("method == 'sn'"), "3", CLOSED, diverged={"clip": 3})
    assert unranked["measured"] == ("no final spectrum of clip (every run diverged), wn (no evaluated run); diverged, "
                                    "so not ranked (no final spectrum): clip 3")
    assert unranked["verdict"] == f"not testable at this scale: {CLOSED.why}"


def _trend(slope_bad, slope_good, noise, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for m, slope in (("orthonormal", slope_bad), ("sn", slope_good)):
        for w in (0.5, 1, 2, 4, 8):
            for _ in range(3):  # seeds
                rows.append({"method": m, "final_width": w, "IS_x": 5 + slope * np.log2(w) + noise * rng.normal()})
    return pd.DataFrame(rows)


def test_c4_trend_rule_separates_signal_from_noise():
    assert claims.c4_width(_trend(-0.5, 0.0, 0.05), "IS_x", "3", OK)["verdict"] == "reproduced"
    assert claims.c4_width(_trend(0.2, 0.0, 0.05), "IS_x", "3", OK)["verdict"] == "not reproduced"
    assert claims.c4_width(_trend(-0.05, 0.0, 1.0), "IS_x", "3", OK)["verdict"] == "inconclusive"
    assert claims.c4_width(_trend(-0.8, -0.4, 0.05), "IS_x", "3", OK)["verdict"] == "not reproduced"  # SN falls too
    flat = _trend(0.0, 0.0, 0.05)
    flat.loc[(flat["method"] == "orthonormal") & (flat["final_width"] == 8), "IS_x"] = np.nan  # diverged: IS 1
    c = claims.c4_width(flat, "IS_x", "3", OK)
    assert c["verdict"] == "reproduced" and "3 diverged run(s) counted as IS 1" in c["measured"]
    one_seed = _trend(-0.5, 0.0, 0.05).groupby(["method", "final_width"]).head(1)
    two_widths = one_seed[one_seed["final_width"] <= 1]  # 2 runs per method: no line through them
    c = claims.c4_width(two_widths, "IS_x", "1", OK)
    assert c["measured"] == ("slope ± SE: orthonormal none (a line needs ≥ 3 runs over ≥ 2 values), "
                             "sn none (a line needs ≥ 3 runs over ≥ 2 values)") and c["verdict"] == "inconclusive"


def _timing(device, seconds, rounds=3):
    return pd.DataFrame([{"round": r, "method": m, "seconds_per_100_g_updates": t, "device": device}
                         for r in range(rounds) for m, t in seconds.items()])


def test_c5_is_judged_per_device_in_the_papers_terms():
    gpu = _timing("H100", {"none": 1.46, "wn": 1.80, "sn": 1.99, "wgan-gp": 3.33}, rounds=1)
    cpu = _timing("cpu", {"none": 10, "wn": 10, "sn": 13, "wgan-gp": 20})  # SN 1.3x WN: not cheap enough
    records = claims.c5_timing(pd.concat([gpu, cpu]))
    assert [(r["scope"], r["verdict"]) for r in records] == [("H100", "reproduced"), ("cpu", "not reproduced")]
    assert "SN / WN 1.11" in records[0]["measured"]
    slow_wn = _timing("x", {"none": 10, "wn": 25, "sn": 12, "wgan-gp": 20})  # WGAN-GP not the slowest
    assert claims.c5_timing(slow_wn)[0]["verdict"] == "not reproduced"
    assert claims.c5_timing(cpu[cpu["method"] != "wn"])[0]["verdict"] == "not measured"
    assert records[1]["seeds"] == "3 round(s), interleaved"
    stored = gpu.drop(columns="round").assign(date="2026-11-25", source="median of 5 rounds")  # as timing_gpu.csv
    assert claims.c5_timing(stored)[0]["seeds"] == ("stored medians (per-round times not kept, so no spread) · "
                                                    "2026-11-25 · median of 5 rounds")


def _critic(gaps, train=-1.0, seeds=3):
    """Fig 15's histories: per method, the held-out loss sits ``gap`` above a flat train loss ``train``."""
    return pd.DataFrame([{"method": m, "run": f"{m}{s}", "seed": s, "step": t, "critic_train": tr,
                          "critic_heldout": tr + g * (1 + 0.01 * s)}
                         for m, (g, tr) in gaps.items() for s in range(seeds) for t in (1, 2, 3, 4)])


def test_c7_judges_the_gap_relative_to_the_loss_scale():
    good = _critic({"wgan-gp": (.5, -1.0), "wn": (.3, -1.0), "sn-gamma": (.1, -1.0)})
    assert claims.c7_overfit(good, "3", OK)["verdict"] == "reproduced"
    # The smallest absolute gap, from a critic whose loss is ten times smaller: relatively the largest.
    weak = _critic({"wgan-gp": (.5, -1.0), "wn": (.3, -1.0), "sn-gamma": (.09, -0.1)})
    assert claims.c7_overfit(weak, "3", OK)["verdict"] == "not reproduced"
    tied = _critic({"wgan-gp": (.5, -1.0), "sn-gamma": (.1, -1.0), "wn": (.1, -1.0)})
    assert claims.c7_overfit(tied, "3", OK)["verdict"] == "inconclusive"


def test_c7_a_diverged_run_weighs_against_its_method():
    """SN-γ's seeds all diverge after a near-zero gap: their gap counts as infinite, not as that near-zero
    gap; a diverged baseline seed likewise weighs against the baseline."""
    table = _critic({"wgan-gp": (.5, -1.0), "wn": (.3, -1.0), "sn-gamma": (.001, -1.0)}).assign(status="complete")
    assert claims.c7_overfit(table, "3", OK)["verdict"] == "reproduced"
    gone = table.assign(status=np.where(table["method"] == "sn-gamma", "diverged", "complete"))
    c = claims.c7_overfit(gone, "3", OK)
    assert c["verdict"] == "not reproduced" and "3 diverged run(s) counted as an infinite gap" in c["measured"]
    everyone = table.assign(status=np.where(table["seed"] == 0, "diverged", "complete"))  # ∞ − ∞: still SN-γ's loss
    assert claims.c7_overfit(everyone, "3", OK)["verdict"] == "not reproduced"


def test_a_missing_value_of_a_run_that_did_not_diverge_is_left_out_not_taken_for_divergence():
    """With statuses known, a complete run with no final FID (never evaluated) does not count as ∞."""
    final = _final({"sn": {"A": 30, "D": 35}, "wn": {"A": 25, "D": 90}}, seeds=3).assign(status="complete")
    final.loc[(final["method"] == "sn") & (final["seed"] == 0) & (final["setting"] == "D"), "FID_x"] = np.nan
    c = claims.c2_settings(final, "FID_x", "3", OK)
    assert c["verdict"] == "reproduced" and "1 run(s) never evaluated left out" in c["measured"]
    final["status"] = np.where(final["FID_x"].isna(), "diverged", "complete")
    assert claims.c2_settings(final, "FID_x", "3", OK)["verdict"] == "not reproduced"  # now ∞: SN's worst


def _conditional(sn_is, ortho_is=3.0, seeds=3, spread=0.05):
    rows = [{"method": m, "run": f"{m}{s}", "step": t, "IS_x": (1.0 if t == 1 else v) + spread * s}
            for m, v in (("sn", sn_is), ("orthonormal", ortho_is)) for s in range(seeds) for t in (1, 2, 3, 4)]
    return pd.DataFrame(rows)


def test_c8_compares_is_through_training_within_seed_noise():
    assert claims.c8_conditional(_conditional(3.5), "IS_x", "3", OK)["verdict"] == "reproduced"
    assert claims.c8_conditional(_conditional(2.5), "IS_x", "3", OK)["verdict"] == "not reproduced"
    assert claims.c8_conditional(_conditional(3.02, spread=0.5), "IS_x", "3", OK)["verdict"] == "inconclusive"
    diverged = _conditional(3.5)
    diverged.loc[(diverged["method"] == "orthonormal") & (diverged["step"] > 2), "IS_x"] = np.nan  # counts as IS 1
    assert claims.c8_conditional(diverged, "IS_x", "3", OK)["verdict"] == "reproduced"
    only_sn = _conditional(3.5).query("method == 'sn'")
    assert claims.c8_conditional(only_sn, "IS_x", "3", OK)["verdict"] == "not measured"


def test_spearman_p_value_is_the_exact_permutation_share():
    rho, p = ranking.spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert rho == pytest.approx(1.0) and p == pytest.approx(1 / 24)  # one ordering of 24 reaches ρ = 1
    rho, p = ranking.spearman([4, 3, 2, 1], [10, 20, 30, 40])
    assert rho == pytest.approx(-1.0) and p == pytest.approx(1.0)


def _table2_at_paper_values(is_sd: float, fid_sd: float) -> pd.DataFrame:
    """A Table 2 comparison whose seed means are the paper's own CIFAR-10 numbers, 3 seeds each."""
    from snlab.paper import table2
    paper = table2().query("dataset == 'cifar10' and arch == 'standard' and iterations == 100000 and loss != 'hinge'")
    paper = paper.dropna(subset=["method"]).set_index("row")
    return pd.DataFrame({"our setting": "C", "our seeds": 3, "our diverged": 0, "our IS_x": paper["IS"],
                         "our IS_x sd": is_sd, "our FID_x": paper["FID"], "our FID_x sd": fid_sd,
                         "paper IS cifar10": paper["IS"], "paper FID cifar10": paper["FID"]})


def test_t2_rank_agreement_within_seed_noise():
    comparison = _table2_at_paper_values(0.01, 0.1)
    assert claims.t2_ranks(comparison, "IS_x", "FID_x", "3", OK)["verdict"] == "reproduced"
    # The same means, but seeds so noisy (sd 5 IS, 100 FID) that the order could be anything.
    noisy = _table2_at_paper_values(5.0, 100.0)
    c = claims.t2_ranks(noisy, "IS_x", "FID_x", "3", OK)
    assert c["verdict"] == "inconclusive" and "IS: ρ = +1.00" in c["measured"]
    # The paper's best method, its best setting's one survivor beside 2 diverged seeds: IS (1 + 1 + best) / 3 and
    # FID ∞ rank it last, so the orders no longer agree.
    best = comparison["paper IS cifar10"].idxmax()
    lone = comparison.assign(**{"our seeds": np.where(comparison.index == best, 1, 3),
                                "our diverged": np.where(comparison.index == best, 2, 0)})
    c = claims.t2_ranks(lone, "IS_x", "FID_x", "3", OK)
    assert c["verdict"] != "reproduced"
    assert "2 diverged run(s) (at the best settings, or every run of a method) ranked as IS 1, FID ∞" in c["measured"]
    flipped = comparison.assign(**{"our IS_x": -comparison["our IS_x"]})
    assert claims.t2_ranks(flipped, "IS_x", "FID_x", "3", OK)["verdict"] == "not reproduced"
    assert claims.t2_ranks(flipped.assign(**{"our IS_x sd": 20.0}), "IS_x", "FID_x", "3", OK)["verdict"] == \
        "inconclusive"
    one_seed = comparison.assign(**{"our seeds": 1, "our IS_x sd": np.nan, "our FID_x sd": np.nan})
    c = claims.t2_ranks(one_seed, "IS_x", "FID_x", "1", OK)
    assert c["verdict"] == "inconclusive" and "no noise estimate (1 seed)" in c["measured"]


def test_t2_pools_a_rows_diverged_seeds_into_its_mean_and_se():
    """One evaluated seed at IS 7 beside two diverged ones (IS 1): mean 3 and SE of [7, 1, 1] by hand."""
    row = pd.DataFrame({"our seeds": [1.0], "our IS_x": [7.0], "our IS_x sd": [np.nan]})
    (mean, se, df), = claims._with_diverged_as(row, "IS_x", pd.Series([2.0]), 1.0)
    assert mean == pytest.approx(3.0) and se == pytest.approx(np.std([7, 1, 1], ddof=1) / np.sqrt(3)) and df == 2
    row = pd.DataFrame({"our seeds": [3.0], "our IS_x": [5.0], "our IS_x sd": [np.std([4, 5, 6], ddof=1)]})
    (mean, se, df), = claims._with_diverged_as(row, "IS_x", pd.Series([1.0]), 1.0)
    assert mean == pytest.approx(4.0) and se == pytest.approx(np.std([4, 5, 6, 1], ddof=1) / 2) and df == 3
    gone = pd.DataFrame({"our seeds": [0.0, 1.0], "our IS_x": [np.nan, 7.0], "our IS_x sd": [np.nan, np.nan]})
    every, one = claims._with_diverged_as(gone, "IS_x", pd.Series([1.0, 0.0]), 1.0)  # its one run diverged; one run
    assert every == (1.0, 0.0, np.inf) and one.value == 7.0 and np.isnan(one.se) and one.df == 0


def test_spearman_under_noise_matches_the_order_probability():
    """Two values: ρ = +1 exactly when their order matches the paper's. With infinite df (normal noise)
    P = Φ(Δ / √(SE₁² + SE₂²)); with one value exact and the other's mean from 3 seeds (t, 2 df) P = F₂(Δ / SE)."""
    from scipy.stats import norm, t
    inf = np.inf
    rho, p = ranking.spearman_under_noise([5.0, 4.0], [0.6, 0.8], [inf, inf], [2, 1])
    assert np.allclose(np.abs(rho), 1.0)
    assert np.mean(rho > 0) == pytest.approx(norm.cdf(1.0), abs=0.015)
    assert np.allclose(p[rho > 0], 0.5) and np.allclose(p[rho < 0], 1.0)  # the exact p of 2 values: 1 or 2 of 2
    rho, _ = ranking.spearman_under_noise([5.0, 4.0], [0.5, 0.0], [2, inf], [2, 1])
    assert np.mean(rho > 0) == pytest.approx(t.cdf(2.0, 2), abs=0.01) and t.cdf(2.0, 2) < norm.cdf(2.0) - 0.05
    rho, p = ranking.spearman_under_noise([1.0, 2.0, 3.0, 4.0], [0.0] * 4, [2] * 4, [1, 2, 3, 4])
    assert np.allclose(rho, 1.0) and np.allclose(p, 1 / 24)
    rho, p = ranking.spearman_under_noise([1.0, 1.0, 3.0, 4.0], [0.01] * 4, [inf] * 4, [1, 2, 3, 4])  # a tie broken
    assert np.allclose(p[np.isclose(rho, 1.0)], 1 / 24) and np.allclose(p[np.isclose(rho, 0.8)], 4 / 24)


def test_t7_order_within_seed_noise():
    def final(spread: float) -> pd.DataFrame:  # 3 seeds per variant around 7.0, 6.5, 6.0; Frobenius diverged
        return pd.DataFrame({"method": np.repeat(claims.TABLE7_ORDER, 3),
                             "IS_x": [m + d for m in (7.0, 6.5, 6.0) for d in (-spread, 0, spread)] + [np.nan] * 3})
    assert claims.t7_order(final(0.05), "IS_x", "3", OK)["verdict"] == "reproduced"
    assert "; IS (seed mean ± SE): sn-gamma 7.00 ± 0.03" in claims.t7_order(final(0.05), "IS_x", "3", OK)["measured"]
    assert claims.t7_order(final(1.0), "IS_x", "3", OK)["verdict"] == "inconclusive"  # gaps of 0.5, SE 0.58
    behind = final(0.05)
    behind.loc[behind["method"] == "sn-gamma", "IS_x"] -= 0.8  # SN-γ below the baseline
    assert claims.t7_order(behind, "IS_x", "3", OK)["verdict"] == "inconclusive"
    every_run_diverged = final(0.05).assign(IS_x=np.nan)  # all IS 1: no order at all, so nothing agrees
    c = claims.t7_order(every_run_diverged, "IS_x", "3", OK)
    assert c["verdict"] == "inconclusive" and "ρ undefined" in c["measured"]


def test_spearman_of_a_constant_or_missing_sequence_is_undefined():
    assert all(np.isnan(ranking.spearman([1, 1, 1, 1], [4, 3, 2, 1])))
    assert all(np.isnan(ranking.spearman([1, np.nan, 3, 4], [4, 3, 2, 1])))


def test_claims_markdown_lists_every_claim_with_its_gate(tmp_path):
    start, end = claims_report.README_BLOCK
    (tmp_path / "README.md").write_text(f"intro\n{start}\nold rows\n{end}\nafter\n")
    tmp_path = tmp_path / "figures"
    claims.record(tmp_path / "fig09", [claims.c1_sigma(_history([1.0, 1.01]), "1", OK)], caption="x")
    legacy = {"id": "C2", "figure": "Figs 1–2", "claim": "", "rule": "r", "measured": "m", "seeds": "1",
              "verdict": "reproduced"}  # a record from before the gate
    claims.record(tmp_path / "fig01", [legacy])
    timing = _timing("H100", {"none": 1.46, "wn": 1.80, "sn": 1.99, "wgan-gp": 3.33})
    claims.record(tmp_path / "fig10", claims.c5_timing(pd.concat([timing, timing.assign(device="cpu")])))
    text = claims_report.write_markdown(tmp_path).read_text()
    for cid in claims.CLAIMS:
        assert f"**{cid}**" in text
    unrecorded = len(claims.CLAIMS) - 3  # C1, C2 and C5 have records here; the others none
    assert "**reproduced**" in text and text.count("| not measured |") == unrecorded == 8 and "`fig09`" in text
    assert "**C5** (H100)" in text and "**C5** (cpu)" in text and "| synthetic |" in text
    assert claims_report.UNGATED in text  # the legacy record is no verdict
    readme = (tmp_path.parent / "README.md").read_text()  # the README's verdict block follows CLAIMS.md
    assert readme.startswith("intro\n") and readme.endswith(f"{end}\nafter\n") and "old rows" not in readme
    assert "| **C1** (Fig 9) SN keeps σ(W̄) of every D layer close to 1 during training. | reproduced |" in readme
    assert "| **C5** (H100) (Fig 10)" in readme and "| **T7** (Table 7)" in readme


def test_the_readme_shows_a_closed_verdicts_first_clause_and_its_price():
    priced = ("not testable at this scale: 2 of 3 reference points have not settled at 6400 G updates (…); this "
              "figure's runs trained twice as long (12,800 G updates): ≈ 23.5 core-hours at the store's median rate; "
              "`make reproduce …` trains them")
    assert claims_report._short({"verdict": priced, "gate": "g"}) == (
        "not testable at this scale: 2 of 3 reference points have not settled at 6400 G updates (…) · this figure's "
        "runs trained twice as long (12,800 G updates): ≈ 23.5 core-hours at the store's median rate")
    costly = ("not testable at this scale: too costly for 2 CPU cores: the 142 runs not stored ≈ 139.5 core-hours of "
              "training; on a GPU: …; 2 of 2 reference points have not settled at 16000 G updates (…)")
    assert claims_report._short({"verdict": costly}) == costly.split("; ")[0]  # what is missing is runs, not length
    longer = ("not testable at this scale: too costly for 2 CPU cores: this figure's runs trained twice as long "
              "(25,600 G updates) ≈ 31.6 core-hours of training; on a GPU: …; 3 of 3 reference points have not "
              "settled at 12800 G updates (0 of their runs …)")
    assert claims_report._short({"verdict": longer}) == (
        "not testable at this scale: too costly for 2 CPU cores: this figure's runs trained twice as long (25,600 G "
        "updates) ≈ 31.6 core-hours of training · 3 of 3 reference points have not settled at 12800 G updates")
    unmeasured = {"verdict": "not measured: no runs in results/ (`NOT_MEASURED.md`)",
                  "gate": "30 of 30 runs are not complete: ≈ 21.3 core-hours at the store's median rate; train=True …"}
    assert claims_report._short(unmeasured) == ("not measured: no runs in results/ (`NOT_MEASURED.md`) · 30 of 30 runs "
                                                "are not complete: ≈ 21.3 core-hours at the store's median rate")
    assert claims_report._short({"verdict": "reproduced", "gate": "runs: 3 learning"}) == "reproduced"
    partly = {"verdict": "not testable at this scale: x; the 4 runs not stored: ≈ 2.0 core-hours; resnet runs not "
                         "priced: none complete in the store; `make …` trains them"}
    assert claims_report._short(partly) == ("not testable at this scale: x · the 4 runs not stored: ≈ 2.0 core-hours · "
                                            "resnet runs not priced: none complete in the store")


def test_every_claim_names_the_notebook_that_tests_it():
    """``claims.NOTEBOOK`` is how make reproduce marks the claims of a notebook with no stored runs."""
    from pathlib import Path
    notebooks = Path(claims.__file__).resolve().parent.parent / "notebooks"
    assert set(claims.NOTEBOOK) == set(claims.CLAIMS)
    assert all((notebooks / f"{nb}.ipynb").exists() for nb in claims.NOTEBOOK.values())


def test_metrics_json_is_standard_json_with_null_for_nan(tmp_path):
    """JSON has no NaN or infinity: a value not measured is written as null, so strict readers read it."""
    path = claims.record(tmp_path, [], settled_from=float("nan"), final={"sn": np.float32("inf"), "wn": 1.5},
                         points=[np.float64(2.0), float("-inf")])
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard {c}")) == {
        "settled_from": None, "final": {"sn": None, "wn": 1.5}, "points": [2.0, None], "claims": []}


def test_a_difference_counts_past_welchs_t_critical_value_not_a_fixed_2_se():
    """Against scipy: Welch's df of two means of 3 seeds, and t_{0.975}(df) SEs as the line. Two seed means 2.45
    combined SE apart pass a 2-SE rule but not Welch's t (df 4: 2.78 SE); a slope's line uses its own df."""
    from scipy import stats
    a, b = [10.0, 11.0, 12.0], [7.0, 8.0, 9.0]
    ea, eb = significance.mean_se(a), significance.mean_se(b)
    d = significance.difference(ea, eb)
    welch = stats.ttest_ind(a, b, equal_var=False)
    assert d.df == pytest.approx(4.0) and d.value / d.se == pytest.approx(welch.statistic)
    assert (significance.compare(d) == "ahead") == (welch.pvalue < 0.05)  # t = 3.67, p = 0.021
    close = significance.difference(ea, significance.mean_se([8.0, 9.0, 10.0]))
    assert 2 < close.value / close.se < significance.critical(4) and significance.compare(close) == "tied"
    assert stats.ttest_ind(a, [8.0, 9.0, 10.0], equal_var=False).pvalue > 0.05  # t = 2.45
    wide, narrow = [1.0, 2.0, 6.0], [0.0, 0.1, 0.2, 0.3]
    unequal = significance.difference(significance.mean_se(wide), significance.mean_se(narrow))
    assert unequal.df == pytest.approx(float(stats.ttest_ind(wide, narrow, equal_var=False).df))
    x = np.repeat([0.0, 1.0, 2.0], 3)
    fit = significance.slope(x, 0.1 * x + np.tile([0.0, 0.05, -0.05], 3))
    reg = stats.linregress(x, 0.1 * x + np.tile([0.0, 0.05, -0.05], 3))
    assert fit.value == pytest.approx(reg.slope) and fit.se == pytest.approx(reg.stderr) and fit.df == 7
    assert significance.compare(significance.mean_se([3.0])) == "tied"  # one seed: no noise estimate
    assert significance.compare(significance.difference(significance.mean_se([np.inf, 1.0]), ea)) == "ahead"


def test_a_rules_verdict_uses_welchs_t_and_bonferroni_for_the_other_way():
    """C8 at 2.45 combined SE over 3 seeds a side: past 2 SE but not Welch's t (df 4: 2.78), so inconclusive.
    "Not reproduced" needs one of k comparisons past α/k: with k = 3 and normal noise (df ∞) the line is
    2.39 SE, not 1.96, so a rival 2.2 SE ahead leaves it inconclusive and 2.5 SE ahead makes it not reproduced."""
    near = _conditional(4.0, ortho_is=3.0, spread=0.5)  # seeds 0.5 apart: SE 0.29 a side, 0.41 combined
    assert claims.c8_conditional(near, "IS_x", "3", OK)["verdict"] == "inconclusive"  # 1.0 / 0.41 = 2.45 SE
    assert claims.c8_conditional(_conditional(4.5, ortho_is=3.0, spread=0.5), "IS_x", "3", OK)["verdict"] == \
        "reproduced"  # 1.5 / 0.41 = 3.7 SE

    def rivals(lead: float) -> dict:
        exact = significance.Estimate(10.0, 0.0, np.inf)
        return {"sn": exact, "a": significance.Estimate(10.0 + lead, 1.0, np.inf),
                "b": significance.Estimate(0.0, 0.1, np.inf), "c": significance.Estimate(0.0, 0.1, np.inf)}
    assert significance.best_of(rivals(2.2), "sn", higher=True) == "inconclusive"
    assert significance.best_of(rivals(2.5), "sn", higher=True) == "not reproduced"
    assert significance.best_of(rivals(-2.0), "sn", higher=True) == "reproduced"  # ahead of all three at 0.05


def test_with_half_adds_what_the_rule_says_one_doubling_earlier():
    """SN ahead of orthonormal over steps ≤ 2 (IS 5 against 3) but behind by step 4 (2 against 6): the full
    record keeps its verdict and says what the rule found on the same runs cut at half their length."""
    rows = [{"method": m, "run": f"{m}{s}", "step": t, "status": "diverged" if (m, t) == ("sn", 4) else "complete",
             "IS_x": (early if t <= 2 else late) + 0.01 * s}
            for m, early, late in (("sn", 5.0, 2.0), ("orthonormal", 3.0, 6.0)) for s in range(3) for t in (1, 2, 3, 4)]
    table = pd.DataFrame(rows)
    table.loc[(table["method"] == "sn") & (table["step"] == 4), "IS_x"] = np.nan  # diverged at its last step
    full = claims.c8_conditional(table, "IS_x", "3", OK)
    c = claims.with_half(full, claims.c8_conditional, table, "IS_x", "3")
    assert c["verdict"] == full["verdict"] == "not reproduced"
    assert c["measured"].startswith(full["measured"] + " · one doubling earlier (2 G updates): second-half mean IS")
    assert c["measured"].endswith("sn 5.01 ± 0.01, orthonormal 3.01 ± 0.01 (reproduced by the rule)")  # alive then
    runs = _trend(-0.5, 0.0, 0.05).assign(step=2, run=range(30))  # one row per run, at step 2: none at step ≤ 1
    c = claims.with_half(claims.c4_width(runs, "IS_x", "3", OK), claims.c4_width, runs, "IS_x", "3", metric="IS_x")
    assert c["measured"].endswith(" · one doubling earlier (1 G updates): no run of orthonormal, sn (not measured by "
                                  "the rule)")


def test_t8_needs_sn_gamma_ahead_by_is_and_by_fid():
    """Table 8 inside AC-WGAN-GP: SN-γ above the baseline in IS and below in FID, each past Welch's t; the
    widened-D runs (d_width 1.5) are another row and never enter."""
    def final(sn_is, sn_fid, spread=0.05):
        rows = [{"method": m, "d_width": None, "seed": s, "IS_x": i + spread * s, "FID_x": f + 10 * spread * s}
                for m, i, f in (("sn-gamma", sn_is, sn_fid), ("wgan-gp", 8.3, 20.0)) for s in range(3)]
        rows += [{"method": "sn-gamma", "d_width": 1.5, "seed": s, "IS_x": 1.0, "FID_x": 99.0} for s in range(3)]
        return pd.DataFrame(rows)
    c = claims.t8_ac(final(8.6, 18.0), "IS_x", "FID_x", "3", OK)
    assert c["verdict"] == "reproduced" and "IS (seed mean ± SE): sn-gamma 8.65 ± 0.03, wgan-gp 8.35" in c["measured"]
    assert claims.t8_ac(final(8.6, 25.0), "IS_x", "FID_x", "3", OK)["verdict"] == "not reproduced"  # FID worse
    assert claims.t8_ac(final(8.6, 18.0, spread=2.0), "IS_x", "FID_x", "3", OK)["verdict"] == "inconclusive"
    gone = final(8.6, 18.0).assign(status="complete")
    first_sn = (gone["method"] == "sn-gamma") & (gone["seed"] == 0) & gone["d_width"].isna()
    gone.loc[first_sn, ["status", "IS_x", "FID_x"]] = ["diverged", None, None]
    c = claims.t8_ac(gone, "IS_x", "FID_x", "3", OK)  # a diverged SN-γ seed: FID ∞, so SN-γ's FID is the worse
    assert c["verdict"] == "not reproduced" and "1 diverged run(s) counted as IS 1 and FID ∞" in c["measured"]
    assert claims.t8_ac(final(8.6, 18.0).query("method == 'wgan-gp'"), "IS_x", "FID_x", "3", OK)["verdict"] == \
        "not measured"
