"""The paper's claims, each judged from measured tables by a rule fixed here, not tuned to the data.

Each function returns a claim record: id, figure, the claim, the rule, what we measured, the seeds it
rests on, the testability gate's numbers (``snlab.gate``) and a verdict:

- "not testable at this scale" (and why), when the gate finds the runs cannot test the claim: too few
  seeds, or runs the paper shows learning that have not left the early phase; nothing else is judged;
- "reproduced" / "not reproduced", when the rule's comparison is significant across seeds (Welch's t,
  two-sided p < 0.05: ``snlab.significance``; exactly, for the measured timings; for rank tests, in 97.5% of
  redraws of the seed means within their noise, ``_rank_record``);
- "inconclusive", when it is within that noise, or there is no noise estimate (one seed) or no order
  (a rank test whose values all tie);
- "not measured", when a method the rule needs was not run (or none of its runs was evaluated).

A diverged run (status "diverged") counts as its rule's worst outcome, never as a run left out
(``_diverged_as``), except in C3, whose measure (D's final spectrum) a diverged run does not have: there it
is counted beside the numbers, and by the gate, but not ranked.

Notebooks store their records in ``<out_dir>/metrics.json`` (``record``); ``snlab.claims_report``
gathers every figure folder's records into ``figures/CLAIMS.md`` and the README.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from snlab import results
from snlab.files import atomic_write_text, json_text
from snlab.gate import Gate
from snlab.ranking import agreement
from snlab.significance import AGAINST, ALPHA, WELCH, Estimate, best_of, compare, difference, judge, mean_se, slope

CLAIMS = {
    "C1": ("Fig 9", "SN keeps σ(W̄) of every D layer close to 1 during training."),
    "C2": ("Figs 1–2", "SN is robust across settings A–F, while the other methods degrade at the aggressive "
                       "settings D–F."),
    "C3": ("Fig 3", "Weight clipping and WN concentrate D's singular values on a few directions; SN keeps "
                    "a broad spectrum."),
    "C4": ("Fig 4", "Orthonormal regularization degrades as D's last layer widens; SN stays flat."),
    "C5": ("Fig 10", "SN costs little extra computation: about 110–120% of WN's time, far less than WGAN-GP's."),
    "C6": ("Fig 11", "WN degrades as n_dis grows (fixed G updates); SN does not."),
    "C7": ("Fig 15", "Inside WGAN-GP, γ·W̄_SN overfits least: the smallest gap between D's loss on "
                     "held-out and on training data."),
    "C8": ("Figs 5, 13b", "With a class-conditional ResNet GAN, SN beats orthonormal regularization (higher IS "
                          "through training)."),
    "T2": ("Table 2", "The methods rank as in Table 2 (standard CNN, CIFAR-10), by IS and by FID."),
    "T7": ("Table 7", "Inside WGAN-GP, the reparametrizations rank as in Table 7: γ·W̄_SN, none, WN, Frobenius."),
    "T8": ("Table 8", "Inside AC-WGAN-GP (with labels, ResNet), γ·W̄_SN beats D as built: higher IS and lower FID."),
}
#: The notebook whose runs test each claim (its folder under ``figures/``).
NOTEBOOK = {"C1": "fig09_sigma_during_training", "C2": "fig01_fig02_settings", "C3": "fig03_singular_values",
            "C4": "fig04_final_width", "C5": "fig10_timing", "C6": "fig11_ndis", "C7": "fig15_table7_reparam",
            "C8": "fig05_fig13_conditional", "T2": "table2", "T7": "fig15_table7_reparam", "T8": "fig15_table7_reparam"}
#: The verdict given when the gate fails.
UNTESTABLE = "not testable at this scale"
#: A gate for rules checked on their own (synthetic data in tests, timings that need no training).
NO_GATE = Gate(True, "", "no training involved")


def _record(cid: str, rule: str, measured: str, seeds: str, verdict: str, gate: Gate, scope: str = "") -> dict:
    """A claim record; the gate's verdict replaces the rule's when the runs cannot test the claim."""
    figure, claim = CLAIMS[cid]
    if not gate.testable:
        verdict = f"{UNTESTABLE}: {gate.why}"
    return {"id": cid, "figure": figure, "claim": claim, "rule": rule, "measured": measured, "seeds": seeds,
            "gate": gate.numbers, "verdict": verdict, "scope": scope}


def with_half(record: dict, rule, table: pd.DataFrame, *args, metric: str | None = None) -> dict:
    """``record`` (``rule``'s, on the runs of ``table``, a ``results.collect`` table) with what ``rule``
    measures on the same runs one doubling earlier (``results.first_half``; with ``metric``, their last rows
    evaluated in it, as final-row rules take them) appended to its measured column, with the rule's verdict
    there, ungated: whether the answer held over the runs' last doubling. ``args``: ``rule``'s arguments
    between the data and the gate."""
    half = results.first_half(table)
    if metric is not None:
        half = results.last_rows(half.dropna(subset=[metric]))
    then = rule(half, *args, NO_GATE)
    return {**record, "measured": f"{record['measured']} · one doubling earlier ({int(table['step'].max()) // 2} G "
                                  f"updates): {then['measured']} ({then['verdict']} by the rule)"}


def unmeasured(notebook: str, verdict: str, why: str) -> list[dict]:
    """A record with ``verdict`` per claim ``notebook`` tests (``NOTEBOOK``), its runs not stored; ``why``
    (their count and price) shown as its gate."""
    return [_record(cid, "—", "—", "0 runs", verdict, Gate(True, "", why))
            for cid, nb in NOTEBOOK.items() if nb == notebook]


def _missing(cid: str, rule: str, have, need, seeds: str, gate: Gate) -> dict | None:
    """A "not measured" record when a method the rule needs is absent, else None; a closed ``gate``'s verdict
    stands instead (what training the missing runs costs, with a store), beside "no run of …" as measured
    (C3 says it its own way: ``c3_spectra``)."""
    lacking = sorted(set(need) - set(have))
    if not lacking:
        return None
    return _record(cid, rule, f"no run of {', '.join(lacking)}", seeds, "not measured", gate)


def _diverged_as(final: pd.DataFrame, col: str, worst: float, label: str) -> tuple[pd.DataFrame, str]:
    """``results.scored``: each diverged run at the rule's ``worst`` outcome, so that it weighs against its
    method instead of dropping out, and never-evaluated runs left out; with the words that say so."""
    diverged = int(results.diverged(final, col).sum())
    kept = results.scored(final, col, worst)
    unevaluated = len(final) - len(kept)
    words = (f"; {diverged} diverged run(s) counted as {label}" if diverged else "") + \
        (f"; {unevaluated} run(s) never evaluated left out" if unevaluated else "")
    return kept, words


def _per_run(table: pd.DataFrame, value, name: str) -> pd.DataFrame:
    """One row per run of a history ``table`` (run, method, step[, status]): its method, its status when
    the table has one, and ``name`` = ``value(rows of its second half)``."""
    rows = []
    for (method, _), g in table.groupby(["method", "run"]):
        status = {"status": g["status"].iloc[-1]} if "status" in g else {}
        rows.append({"method": method, **status, name: float(value(g[g["step"] > g["step"].max() / 2]))})
    return pd.DataFrame(rows, columns=["method", *(["status"] if "status" in table else []), name])


def _fmt(values: dict[str, Estimate], digits: int = 2) -> str:
    """"name mean ± SE, ..."; a value from one seed has no SE and says so, and an infinite mean (a diverged
    seed counted as the worst outcome) is not given a spread."""
    def one(m: float, s: float) -> str:
        if np.isinf(m):
            return "∞ (a seed diverged)"
        return f"{m:.{digits}f} " + (f"± {s:.{digits}f}" if np.isfinite(s) else "(1 seed)")
    return ", ".join(f"{k} {one(e.value, e.se)}" for k, e in values.items())


def c1_sigma(history: pd.DataFrame, seeds: str, gate: Gate) -> dict:
    """From SN runs' histories (a ``run`` column when several): σ(W̄) of every conv at every logged step of
    the second half of each run (the paper's layers start above 1 and settle)."""
    cols = [c for c in history.columns if c.startswith("sigma_conv")]
    runs = history.groupby("run") if "run" in history else [("", history)]
    late = pd.concat([g[g["step"] > g["step"].max() / 2] for _, g in runs])
    dev = (late[cols] - 1).abs().to_numpy()
    med, worst = float(np.nanmedian(dev)), float(np.nanmax(dev))
    last = late[cols].iloc[-1]
    verdict = "reproduced" if med <= 0.05 and worst <= 0.20 else "not reproduced"
    return _record("C1", "over the second half of training, median over runs × convs × logged steps of abs(σ−1) "
                         "≤ 0.05 and the largest ≤ 0.20",
                   "final σ(W̄) per conv (last run): " + ", ".join(f"{c.removeprefix('sigma_')} {last[c]:.3f}"
                                                                 for c in cols)
                   + f"; second half: median abs(σ−1) = {med:.3f}, max = {worst:.3f}", seeds, verdict, gate)


def c2_settings(final: pd.DataFrame, fid: str, seeds: str, gate: Gate) -> dict:
    """From the A–F grid's last rows (one per run): each method's worst setting by seed-mean FID (a
    diverged run counts as ∞); SN's worst must be the lowest of all methods."""
    rule = (f"SN's worst-setting FID (seed mean) is below every other method's worst, each significantly "
            f"({WELCH}; {AGAINST}; one not significant: inconclusive; a diverged seed counts as ∞, so a setting "
            "where any seed diverged is its method's worst: SN's, not reproduced; another method's, SN ahead of it)")
    final, words = _diverged_as(final, fid, np.inf, "∞")
    if (out := _missing("C2", rule, final["method"], ["sn"], seeds, gate)) or final["method"].nunique() < 2:
        return out or _record("C2", rule, "only SN was run", seeds, "not measured", gate)
    points = final.groupby(["method", "setting"])[fid]
    worst = {}
    for method, g in points.apply(mean_se).groupby(level=0):
        worst[method] = max(g, key=lambda e: e.value)
    worst = dict(sorted(worst.items(), key=lambda kv: kv[1].value))
    verdict = "not reproduced" if np.isinf(worst["sn"].value) else best_of(worst, "sn", higher=False)
    return _record("C2", rule, f"worst-setting {fid} (seed mean ± SE): {_fmt(worst, 1)}" + words, seeds, verdict,
                   gate)


def c3_spectra(ranks: pd.DataFrame, seeds: str, gate: Gate, diverged: dict[str, int] | None = None) -> dict:
    """``ranks``: method, seed, layer, relative stable rank (conv layers, each method at its best setting);
    ``diverged``: per method, its diverged runs at that setting (all of them for a method every run of which
    diverged), which have no final spectrum: counted beside the numbers (the gate counts them too), not
    ranked. A method with nothing ranked leaves the claim not measured, saying whether it was not run or
    every run diverged."""
    rule = ("SN's mean relative stable rank (Σs²/max s²/n, mean over conv layers) exceeds both WC's and WN's "
            f"significantly ({WELCH}; {AGAINST}; diverged runs have no final spectrum: counted, not ranked)")
    diverged = {m: n for m, n in (diverged or {}).items() if n}
    words = ("; diverged, so not ranked (no final spectrum): " + ", ".join(f"{m} {n}" for m, n in diverged.items())
             if diverged else "")
    if lacking := sorted({"sn", "clip", "wn"} - set(ranks["method"])):
        why = ", ".join(f"{m} ({'every run diverged' if m in diverged else 'no evaluated run'})" for m in lacking)
        return _record("C3", rule, f"no final spectrum of {why}{words}", seeds, "not measured", gate)
    per_run = ranks.assign(seed=ranks.get("seed", 0)).groupby(["method", "seed"])["rank"].mean()
    means = {m: mean_se(g) for m, g in per_run.groupby(level=0) if m in ("sn", "clip", "wn")}
    return _record("C3", rule, _fmt(means, 3) + words, seeds, best_of(means, "sn", higher=True), gate)


def _trend(final: pd.DataFrame, x: str, y: str, worse: str, robust: str, cid: str, xname: str, seeds: str,
           gate: Gate) -> dict:
    """Slope of ``y`` (IS, higher is better) on log2 ``x``: ``worse`` must fall, ``robust`` must not fall and
    must stay above it. A diverged run counts as IS = 1, the floor (``_diverged_as``)."""
    rule = (f"slope of {y} per doubling of {xname}: {worse}'s < 0 and {robust}'s above it, each significantly "
            f"(t on the fitted slopes, df = runs − 2, Welch's for their difference; two-sided p < {ALPHA}), and "
            f"{robust}'s not significantly below 0 (not reproduced when any of the 3 goes the other way at "
            f"p < {ALPHA}/3)")
    final, words = _diverged_as(final, y, 1.0, "IS 1")
    if out := _missing(cid, rule, final["method"], [worse, robust], seeds, gate):
        return out
    fits = {m: slope(np.log2(g[x]), g[y]) for m, g in final.groupby("method") if m in (worse, robust)}
    gap = difference(fits[robust], fits[worse])
    if compare(fits[worse]) == "behind" and compare(gap) == "ahead" and compare(fits[robust]) != "behind":
        verdict = "reproduced"
    else:  # the other way: the worse one rising, the robust one below it or falling; any of 3, so each at α/3
        against = (compare(fits[worse], ALPHA / 3) == "ahead", compare(gap, ALPHA / 3) == "behind",
                   compare(fits[robust], ALPHA / 3) == "behind")
        verdict = "not reproduced" if any(against) else "inconclusive"
    return _record(cid, rule, f"slope ± SE: {worse} {_fmt_slope(fits[worse])}, {robust} {_fmt_slope(fits[robust])}"
                   + words, seeds, verdict, gate)


def _fmt_slope(fit: Estimate) -> str:
    """"+0.120 ± 0.030", or why there is none (``significance.slope`` fits a line only through 3 or more runs)."""
    return f"{fit.value:+.3f} ± {fit.se:.3f}" if np.isfinite(fit.value) else \
        "none (a line needs ≥ 3 runs over ≥ 2 values)"


def c4_width(final: pd.DataFrame, is_col: str, seeds: str, gate: Gate) -> dict:
    return _trend(final, "final_width", is_col, "orthonormal", "sn", "C4", "final-layer width", seeds, gate)


def c6_ndis(final: pd.DataFrame, is_col: str, seeds: str, gate: Gate) -> dict:
    return _trend(final, "n_dis", is_col, "wn", "sn", "C6", "n_dis", seeds, gate)


#: C5's rule, in the paper's terms (§4.1, Fig 10): SN within 120% of WN's time, WGAN-GP the slowest.
C5_SN_OVER_WN = 1.2


def c5_timing(timing: pd.DataFrame) -> list[dict]:
    """One record per device: ``timing`` rows are (device, method, seconds_per_100_g_updates[, round,
    date, source]); a device's ratio is the median over its rounds of each method's time / the
    unnormalized GAN's in that round (a device with one stored median per method: that median's ratio)."""
    rule = (f"SN's time ≤ {C5_SN_OVER_WN:.0%} of WN's (the paper: 110–120% on a GPU), and WGAN-GP the slowest "
            "of unnormalized, WN, SN and WGAN-GP")
    records = []
    for device, g in timing.groupby("device", sort=False):
        medians = "round" not in g or g["round"].isna().all()  # stored medians only, their rounds not kept
        g = g.assign(round=0 if medians else g["round"])
        wide = g.pivot_table(index="round", columns="method", values="seconds_per_100_g_updates")
        source = " · ".join(str(g[c].iloc[0]) for c in ("date", "source") if c in g and pd.notna(g[c].iloc[0]))
        seeds = ("stored medians (per-round times not kept, so no spread)" if medians else
                 f"{len(wide)} round(s), interleaved") + (f" · {source}" if source else "")
        if out := _missing("C5", rule, wide.columns, ["none", "wn", "sn", "wgan-gp"], seeds, NO_GATE):
            records.append({**out, "scope": device})
            continue
        ratio = wide.div(wide["none"], axis=0).median()
        sn_wn = float((wide["sn"] / wide["wn"]).median())
        slowest = ratio[["none", "wn", "sn", "wgan-gp"]].idxmax()
        verdict = "reproduced" if sn_wn <= C5_SN_OVER_WN and slowest == "wgan-gp" else "not reproduced"
        records.append(_record("C5", rule, f"SN / WN {sn_wn:.2f}; time / unnormalized: "
                               + ", ".join(f"{m} {v:.2f}" for m, v in ratio.items()), seeds, verdict, NO_GATE,
                               scope=device))
    return records


#: C7's gap is measured after at least this many passes over the training data (overfitting needs them).
C7_MIN_EPOCHS = 10


def c7_overfit(table: pd.DataFrame, seeds: str, gate: Gate) -> dict:
    """From Fig 15's histories (run, method, step, critic_train, critic_heldout): per run, the held-out −
    train critic loss over the last half of training, relative to the size of the train loss there
    (mean abs), so a critic that barely learned shows no small gap for it; then seed mean ± SE. A diverged
    run's gap is infinite (``_diverged_as``): it weighs against its method."""
    rule = ("γ·W̄_SN (sn-gamma) has the smallest relative gap (held-out − train critic loss) / |train critic "
            f"loss| over the last half, significantly smaller than each other reparametrization's ({WELCH}; "
            f"{AGAINST}; a diverged seed counts as an infinite gap: any in sn-gamma, not reproduced)")
    table = table.assign(run=table.get("run", table["method"]))
    per_run = _per_run(table, lambda late: (late["critic_heldout"] - late["critic_train"]).mean()
                       / late["critic_train"].abs().mean(), "gap")
    per_run, words = _diverged_as(per_run, "gap", np.inf, "an infinite gap")
    if (out := _missing("C7", rule, per_run["method"], ["sn-gamma"], seeds, gate)) or per_run["method"].nunique() < 2:
        return out or _record("C7", rule, "only sn-gamma was run", seeds, "not measured", gate)
    gaps = dict(sorted(((m, mean_se(g)) for m, g in per_run.groupby("method")["gap"]), key=lambda kv: kv[1].value))
    verdict = "not reproduced" if np.isinf(gaps["sn-gamma"].value) else best_of(gaps, "sn-gamma", higher=False)
    return _record("C7", rule, "relative gap over the last half (seed mean ± SE): " + _fmt(gaps, 3) + words, seeds,
                   verdict, gate)


def c8_conditional(table: pd.DataFrame, is_col: str, seeds: str, gate: Gate) -> dict:
    """From the conditional runs' histories (run, method, step, IS column): per run, the mean IS over its
    evaluations in the second half of training (the paper shows IS curves); SN vs orthonormal, seed mean
    ± SE. A diverged run counts as IS 1 (``_diverged_as``)."""
    rule = f"SN's IS, averaged over the second half of training, exceeds orthonormal's significantly ({WELCH})"
    per_run = _per_run(table, lambda late: late[is_col].mean(), "IS")
    per_run, words = _diverged_as(per_run, "IS", 1.0, "IS 1")
    if out := _missing("C8", rule, per_run["method"], ["sn", "orthonormal"], seeds, gate):
        return out
    means = {m: mean_se(per_run.loc[per_run["method"] == m, "IS"]) for m in ("sn", "orthonormal")}
    return _record("C8", rule, "second-half mean IS (seed mean ± SE): " + _fmt(means) + words, seeds,
                   best_of(means, "sn", higher=True), gate)


def _rank_record(cid: str, what: str, pairs: dict[str, tuple[list[Estimate], list]], seeds: str, gate: Gate,
                 words: str = "") -> dict:
    """``pairs``: metric → (our seed means, the paper's values), higher better on both sides."""
    rule = (f"Spearman's ρ between our and the paper's {what}, for each metric: reproduced when ρ > 0 with "
            "one-sided exact p < 0.05, and p < 0.05 in 97.5% of redraws of our means within their seed noise "
            "(Student's t with seeds − 1 df, scaled by the SE across seeds); not reproduced when ρ ≤ 0 in 97.5% "
            "of the redraws for any metric; else inconclusive (as when ρ is undefined, all tied, or there is no "
            "noise estimate, one seed)")
    tests = {name: agreement(ours, paper) for name, (ours, paper) in pairs.items()}
    verdict = ("not reproduced" if any(down >= 0.975 for *_, down in tests.values()) else
               "reproduced" if all(r > 0 and p < 0.05 and up >= 0.975 for r, p, up, _ in tests.values()) else
               "inconclusive")  # NaN: neither

    def one(name: str, rho: float, p: float, up: float, down: float) -> str:
        if not np.isfinite(rho):
            return f"{name}: ρ undefined (all tied or missing)"
        noise = (f"under seed noise p < 0.05 in {up:.1%} and ρ ≤ 0 in {down:.1%} of redraws" if np.isfinite(up)
                 else "no noise estimate (1 seed)")
        return f"{name}: ρ = {rho:+.2f} (p = {p:.3f}, n = {len(pairs[name][0])}; {noise})"
    return _record(cid, rule, "; ".join(one(n, *t) for n, t in tests.items()) + words, seeds, verdict, gate)


def _with_diverged_as(rows: pd.DataFrame, col: str, gone: pd.Series, worst: float) -> list[Estimate]:
    """Each row's mean and SE over all its seeds, its ``gone`` (diverged) ones at ``worst``, from the mean
    (``our <col>``) and sd (``our <col> sd``) of its evaluated ones (``our seeds``): the pooled sum of squares,
    exactly; df = seeds − 1. SE NaN for a row of one evaluated seed (no noise estimate), 0 for one whose every
    seed diverged."""
    n, m = rows["our seeds"].fillna(0).astype(float), rows[f"our {col}"].fillna(0.0)
    within = ((n - 1).clip(lower=0) * rows[f"our {col} sd"].fillna(0.0) ** 2)
    total = n + gone
    mean = (n * m + gone * worst) / total
    squares = within + n * (m - mean) ** 2 + gone * (worst - mean) ** 2
    se = np.sqrt(squares / (total - 1).clip(lower=1) / total)
    se = se.where(total > 1, np.where(n == 0, 0.0, np.nan))  # every seed diverged: certain, no spread
    return [Estimate(m, s, np.inf if k == 0 else t - 1) for m, s, k, t in zip(mean, se, n, total)]


def t2_ranks(comparison: pd.DataFrame, is_col: str, fid_col: str, seeds: str, gate: Gate) -> dict:
    """From ``tables.table2_comparison``: the standard-CNN rows at 100k updates with both our and the
    paper's CIFAR-10 numbers; FID ranks low-to-high, so ρ is of −FID. A row's diverged seeds (``our
    diverged``, left out of its means) rank as the worst outcome, as in the other rules: IS 1 in its mean
    over all its seeds (and in its SE), and any one makes its FID ∞ (a method every run of which diverged:
    IS 1, FID ∞), with no spread."""
    gone = comparison["our diverged"].fillna(0).astype(float)
    ranked = ((comparison["our setting"].notna() | (gone > 0)) & comparison["paper IS cifar10"].notna()
              & ~comparison.index.str.contains("hinge|2x"))  # not the real-data row, nor rows not run here
    rows, gone = comparison[ranked], gone[ranked]
    is_ = _with_diverged_as(rows, is_col, gone, 1.0)
    n = rows["our seeds"].fillna(0).astype(float)
    fid = [Estimate(-np.inf, 0.0, np.inf) if g else Estimate(-m, s / np.sqrt(k), k - 1)  # ranked as −FID
           for m, s, k, g in zip(rows[f"our {fid_col}"], rows[f"our {fid_col} sd"], n, gone > 0)]
    diverged = int(gone.sum())
    return _rank_record("T2", "method order (Table 2's standard-CNN rows; diverged seeds rank as IS 1 and FID ∞)",
                        {"IS": (is_, list(rows["paper IS cifar10"])), "FID": (fid, list(-rows["paper FID cifar10"]))},
                        seeds, gate,
                        f"; {diverged} diverged run(s) (at the best settings, or every run of a method) ranked as "
                        "IS 1, FID ∞" if diverged else "")


#: Table 7's standard-CNN variants, best first (IS 7.20, 6.68, 6.36; Frobenius collapsed).
TABLE7_ORDER = ("sn-gamma", "wgan-gp", "wn", "frobenius")


def t7_order(final: pd.DataFrame, is_col: str, seeds: str, gate: Gate) -> dict:
    """From Fig 15's last rows (method, IS column; diverged runs count as IS 1): seed-mean IS per variant
    ranked against ``TABLE7_ORDER``, within its seed noise (``_rank_record``); each variant's mean ± SE
    stands beside ρ."""
    final, words = _diverged_as(final, is_col, 1.0, "IS 1")
    if out := _missing("T7", "Spearman's ρ between our and the paper's order of the four variants by IS",
                       final["method"], TABLE7_ORDER, seeds, gate):
        return out
    means = {m: mean_se(final.loc[final["method"] == m, is_col]) for m in TABLE7_ORDER}
    return _rank_record("T7", "order of the four variants by IS",
                        {"IS": ([means[m] for m in TABLE7_ORDER], list(range(len(TABLE7_ORDER), 0, -1)))},
                        seeds, gate, f"; IS (seed mean ± SE): {_fmt(means)}" + words)


def t8_ac(final: pd.DataFrame, is_col: str, fid_col: str, seeds: str, gate: Gate) -> dict:
    """From Table 8's runs' last rows (method, IS and FID columns; AC-WGAN-GP with D as built, a ``d_width``
    column's widened runs left to their own row): γ·W̄_SN against the baseline by IS and by FID (the paper:
    8.59 against 8.29, 18.6 against 19.5). A diverged run counts as IS 1 and FID ∞."""
    rule = (f"γ·W̄_SN (sn-gamma)'s IS above the baseline's (wgan-gp) and its FID below, each significantly "
            f"({WELCH}; not reproduced when either goes the other way at p < {ALPHA}/2)")
    if "d_width" in final:
        final = final[final["d_width"].isna()]
    is_runs, words = _diverged_as(final, is_col, 1.0, "IS 1 and FID ∞")
    fid_runs, _ = _diverged_as(final, fid_col, np.inf, "FID ∞")
    if out := _missing("T8", rule, is_runs["method"], ["sn-gamma", "wgan-gp"], seeds, gate):
        return out
    est = {name: {m: mean_se(runs.loc[runs["method"] == m, col]) for m in ("sn-gamma", "wgan-gp")}
           for name, runs, col in (("IS", is_runs, is_col), ("FID", fid_runs, fid_col))}
    leads = [difference(est["IS"]["sn-gamma"], est["IS"]["wgan-gp"]),
             difference(est["FID"]["wgan-gp"], est["FID"]["sn-gamma"])]  # positive: SN-γ better
    measured = "; ".join(f"{name} (seed mean ± SE): {_fmt(values)}" for name, values in est.items())
    return _record("T8", rule, measured + words, seeds, judge(leads), gate)


def record(out_dir: str | Path, claims: list[dict] = (), **numbers) -> Path:
    """Write ``<out_dir>/metrics.json``: the notebook's headline numbers and its claim records."""
    path = Path(out_dir) / "metrics.json"
    atomic_write_text(json_text({**numbers, "claims": list(claims)}, indent=2, default=str), path)
    return path
