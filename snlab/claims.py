"""The paper's claims C1–C8, each judged from measured tables by a rule fixed here, not tuned to the data.

Each ``cN`` function returns a claim record: id, figure, the claim, the rule, what we measured, the
seeds it rests on and a verdict: "reproduced", "not reproduced", "inconclusive" (for the seeded
trends, C4 and C6: a difference within two standard errors; for C2: SN second) or "not measured" (a
method the rule needs was not run). Claims resting on one run per method (C2, C3, C7 at the default
seeds) have no noise estimate; their seeds column says so. Notebooks store their records in
``<out_dir>/metrics.json``; ``write_markdown`` gathers every figure folder's records into
``figures/CLAIMS.md``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from snlab.files import atomic_write_text

CLAIMS = {
    "C1": ("Fig 9", "SN keeps σ(W̄) of every D layer close to 1 during training."),
    "C2": ("Figs 1–2", "SN is robust across settings A–F, while the other methods degrade at the aggressive "
                       "settings D–F."),
    "C3": ("Fig 3", "Weight clipping and WN concentrate D's singular values on a few directions; SN keeps "
                    "a broad spectrum."),
    "C4": ("Fig 4", "Orthonormal regularization degrades as D's last layer widens; SN stays flat."),
    "C5": ("Fig 10", "SN costs little extra computation; WGAN-GP costs much more."),
    "C6": ("Fig 11", "WN degrades as n_dis grows (fixed G updates); SN does not."),
    "C7": ("Fig 15", "Inside WGAN-GP, γ·W̄_SN overfits least: the smallest gap between D's loss on "
                     "held-out and on training data."),
    "C8": ("Figs 5, 13b", "With a class-conditional ResNet GAN, SN beats orthonormal regularization (higher IS "
                          "through training)."),
}


def _record(cid: str, rule: str, measured: str, seeds: str, verdict: str) -> dict:
    figure, claim = CLAIMS[cid]
    return {"id": cid, "figure": figure, "claim": claim, "rule": rule, "measured": measured, "seeds": seeds,
            "verdict": verdict}


def _missing(cid: str, rule: str, have, need, seeds: str) -> dict | None:
    """A "not measured" record when a method the rule needs is absent, else None."""
    lacking = sorted(set(need) - set(have))
    return _record(cid, rule, f"not run: {', '.join(lacking)}", seeds, "not measured") if lacking else None


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y on x and its standard error."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan")
    fit = np.polyfit(x, y, 1, full=False, cov=True)
    return float(fit[0][0]), float(np.sqrt(fit[1][0, 0]))


def c1_sigma(history: pd.DataFrame, seeds: str) -> dict:
    """From an SN run's history: σ(W̄) of every conv at every logged step of the second half of training
    (the paper's layers start above 1 and settle)."""
    cols = [c for c in history.columns if c.startswith("sigma_conv")]
    late = history[history["step"] > history["step"].max() / 2]
    dev = (late[cols] - 1).abs()
    med, worst = float(np.median(dev.to_numpy())), float(dev.to_numpy().max())
    last = history.iloc[-1]
    verdict = "reproduced" if med <= 0.05 and worst <= 0.20 else "not reproduced"
    return _record("C1", "over the second half of training, median over convs × logged steps of abs(σ−1) ≤ 0.05 "
                         "and the largest ≤ 0.20",
                   "final σ(W̄) per conv: " + ", ".join(f"{c.removeprefix('sigma_')} {last[c]:.3f}" for c in cols)
                   + f"; second half: median abs(σ−1) = {med:.3f}, max = {worst:.3f}", seeds, verdict)


def c2_settings(final: pd.DataFrame, fid: str, seeds: str) -> dict:
    """From the A–F grid's last rows: each method's worst FID over settings (a diverged run counts as ∞)."""
    rule = "SN has the lowest worst-setting FID of all methods (2nd or tied: inconclusive)"
    if (out := _missing("C2", rule, final["method"], ["sn"], seeds)) or final["method"].nunique() < 2:
        return out or _record("C2", rule, "only SN was run", seeds, "not measured")
    worst = final.assign(v=final[fid].fillna(np.inf)).groupby("method")["v"].max().sort_values()
    ahead = int((worst.drop("sn") < worst["sn"]).sum())
    tied = bool((worst.drop("sn") == worst["sn"]).any())
    spread = final.groupby("method")[fid].agg(lambda v: v.max() / v.min())
    verdict = ("not reproduced" if np.isinf(worst["sn"]) or ahead >= 2 else
               "inconclusive" if ahead == 1 or tied else "reproduced")
    return _record("C2", rule,
                   f"worst-setting {fid} by method: {', '.join(f'{m} {v:.1f}' for m, v in worst.items())}; "
                   f"worst/best ratio: {', '.join(f'{m} {v:.2f}' for m, v in spread.items())}", seeds, verdict)


def c3_spectra(ranks: pd.DataFrame, seeds: str) -> dict:
    """``ranks``: method, layer, relative stable rank (conv layers, each method at its best setting)."""
    rule = "SN's mean relative stable rank (Σs²/max s²/n over conv layers) exceeds both WC's and WN's"
    if out := _missing("C3", rule, ranks["method"], ["sn", "clip", "wn"], seeds):
        return out
    mean = ranks.groupby("method")["rank"].mean()
    verdict = "reproduced" if mean["sn"] > mean["clip"] and mean["sn"] > mean["wn"] else "not reproduced"
    return _record("C3", rule, ", ".join(f"{m} {v:.3f}" for m, v in mean.items()), seeds, verdict)


def _trend(final: pd.DataFrame, x: str, y: str, worse: str, robust: str, cid: str, xname: str, seeds: str) -> dict:
    """Slope of ``y`` (IS, higher is better) on log2 ``x``: ``worse`` must fall, ``robust`` must not fall and
    must stay above it. A diverged run (no IS) counts as IS = 1, the floor: the worst outcome is kept."""
    rule = (f"slope of {y} per doubling of {xname}: {worse}'s < 0, {robust}'s above it, each by more than 2 "
            f"standard errors, and {robust}'s not below 0 by more than 2")
    if out := _missing(cid, rule, final["method"], [worse, robust], seeds):
        return out
    diverged = int(final[y].isna().sum())
    final = final.assign(**{y: final[y].fillna(1.0)})
    fits = {m: _slope(np.log2(g[x]), g[y]) for m, g in final.groupby("method") if m in (worse, robust)}
    (sw, ew), (sr, er) = fits[worse], fits[robust]
    falls = sw + 2 * ew < 0
    better = sr - sw > 2 * np.hypot(ew, er)
    flat = sr + 2 * er >= 0
    verdict = ("reproduced" if falls and better and flat else
               "not reproduced" if sw >= 0 or sr <= sw or sr + 2 * er < 0 else "inconclusive")
    return _record(cid, rule, f"slope ± SE: {worse} {sw:+.3f} ± {ew:.3f}, {robust} {sr:+.3f} ± {er:.3f}"
                   + (f"; {diverged} diverged runs counted as IS 1" if diverged else ""), seeds, verdict)


def c4_width(final: pd.DataFrame, is_col: str, seeds: str) -> dict:
    return _trend(final, "final_width", is_col, "orthonormal", "sn", "C4", "final-layer width", seeds)


def c6_ndis(final: pd.DataFrame, is_col: str, seeds: str) -> dict:
    return _trend(final, "n_dis", is_col, "wn", "sn", "C6", "n_dis", seeds)


def c5_timing(timing: pd.DataFrame) -> dict:
    """From Fig 10's rounds: median ratio to the unnormalized GAN, per method."""
    wide = timing.pivot(index="round", columns="method", values="seconds_per_100_g_updates")
    rule = "SN's time ratio to the unnormalized GAN is ≤ 1.3, and WGAN-GP's is ≥ 1.3 × SN's"
    seeds = f"{len(wide)} rounds, preset {timing['preset'].iloc[0]}" if "preset" in timing else f"{len(wide)} rounds"
    if out := _missing("C5", rule, wide.columns, ["none", "sn", "wgan-gp"], seeds):
        return out
    ratio = wide.div(wide["none"], axis=0).median()
    verdict = "reproduced" if ratio["sn"] <= 1.3 and ratio["wgan-gp"] >= 1.3 * ratio["sn"] else "not reproduced"
    return _record("C5", rule,
                   f"median time / unnormalized on {timing['device'].iloc[0]}: "
                   + ", ".join(f"{m} {v:.2f}" for m, v in ratio.items()), seeds, verdict)


def c7_overfit(table: pd.DataFrame, seeds: str) -> dict:
    """From Fig 15's histories: held-out minus training critic loss, mean over the last half of training."""
    rule = "γ·W̄_SN (sn-gamma) has the smallest held-out − train critic loss gap"
    if (out := _missing("C7", rule, table["method"], ["sn-gamma"], seeds)) or table["method"].nunique() < 2:
        return out or _record("C7", rule, "only sn-gamma was run", seeds, "not measured")
    late = table[table["step"] > table["step"].max() / 2]
    gap = (late["critic_heldout"] - late["critic_train"]).groupby(late["method"]).mean().sort_values()
    verdict = "reproduced" if gap.index[0] == "sn-gamma" else "not reproduced"
    return _record("C7", rule,
                   "gap over the last half: " + ", ".join(f"{m} {v:+.3f}" for m, v in gap.items()), seeds, verdict)


def c8_conditional(table: pd.DataFrame, is_col: str, intra_col: str | None, seeds: str) -> dict:
    """From the conditional runs' histories: final IS and (when logged) intra-FID, seed-mean, SN vs
    orthonormal. A diverged run (no final metrics) counts as IS 1 and intra-FID ∞."""
    rule = "SN's final IS is higher than orthonormal's (seed means)" + (
        "; and, stricter than the paper (which shows IS only), its final intra-FID lower" if intra_col else "")
    if out := _missing("C8", rule, table["method"], ["sn", "orthonormal"], seeds):
        return out
    last = table.sort_values("step").groupby("run").tail(1)
    cols = [is_col] + ([intra_col] if intra_col else [])
    final = last[["method", *cols]].fillna({is_col: 1.0, **({intra_col: np.inf} if intra_col else {})})
    final = final.groupby("method")[cols].mean()
    sn, ortho = final.loc["sn"], final.loc["orthonormal"]
    better = sn[is_col] > ortho[is_col] and (not intra_col or sn[intra_col] < ortho[intra_col])
    measured = f"final IS: SN {sn[is_col]:.2f}, orthonormal {ortho[is_col]:.2f}"
    if intra_col:
        measured += f"; intra-FID: SN {sn[intra_col]:.1f}, orthonormal {ortho[intra_col]:.1f}"
    diverged = int(last[is_col].isna().sum())
    return _record("C8", rule, measured + (f"; {diverged} run(s) diverged" if diverged else ""), seeds,
                   "reproduced" if better else "not reproduced")


def record(out_dir: str | Path, claims: list[dict] = (), **numbers) -> Path:
    """Write ``<out_dir>/metrics.json``: the notebook's headline numbers and its claim records."""
    path = Path(out_dir) / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps({**numbers, "claims": list(claims)}, indent=2, default=str), path)
    return path


def write_markdown(figures: str | Path) -> Path:
    """``<figures>/CLAIMS.md`` from every ``<figures>/*/metrics.json``'s claim records, in claim order."""
    figures = Path(figures)
    found = {}
    for path in sorted(figures.glob("*/metrics.json")):
        for c in json.loads(path.read_text()).get("claims", []):
            found[c["id"]] = {**c, "source": path.parent.name}
    lines = ["# The paper's claims, as measured here", "",
             "Generated by `python -m snlab reproduce` from each notebook's `metrics.json` (the seeds column names "
             "the preset, data and run length behind each row); the rule for each verdict is fixed in "
             "`snlab/claims.py`. A claim that does not reproduce here is reported as such.", "",
             "| claim | figure | verdict | measured | seeds | rule |", "|---|---|---|---|---|---|"]
    for cid, (figure, claim) in CLAIMS.items():
        c = found.get(cid)
        if c is None:
            lines.append(f"| **{cid}** {claim} | {figure} | not measured | — | — | — |")
        else:
            cells = [c[k].replace("|", "\\|") for k in ("measured", "seeds", "rule")]  # a "|" would split the cell
            lines.append(f"| **{cid}** {claim} | {figure} (`{c['source']}`) | **{c['verdict']}** | " + " | ".join(cells) + " |")
    path = figures / "CLAIMS.md"
    atomic_write_text("\n".join(lines) + "\n", path)
    return path
