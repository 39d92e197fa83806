# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Fig 3: squared singular values of each D layer (weight clipping, WN, SN)
# As the paper: each method at the setting that gave its best IS in the A–F grid
# (`fig01_fig02_settings`), the seeds' mean as a line and their range as a band. Beside it, the same at
# one common setting (C), and each layer at initialization (before any update), so a concentrated
# spectrum can be told from one the initialization already had. Read from each run's stored
# `spectra.csv`: nothing is trained here when the grid is complete. Exact SVD of each layer's
# effective weight W̄, reshaped d_out × (d_in·k·k), squared and divided by the largest.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None
methods = None  # None: Fig 3's, snlab.experiments.SPECTRA_METHODS
settings = None  # None: Table 1's A–F
common_setting = "C"
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig03_singular_values"

# %%
from functools import partial
from pathlib import Path

import pandas as pd

import snlab.store
from snlab import claims, experiments, gate, plots, results, spectral, sweep, tables
from snlab.config import build_run_models

methods, settings = list(methods or experiments.SPECTRA_METHODS), list(settings or experiments.TABLE1)
runs_at = partial(experiments.settings_grid, preset, dataset, seeds, methods=methods, settings=settings,
                  data_dir=data_dir, device=device)  # this figure's runs by length
configs = runs_at(iterations)
if common_setting not in settings:
    raise ValueError(f"common_setting {common_setting!r} is not among the grid's settings: {', '.join(settings)}")

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
final = result.final
caption = experiments.describe(configs, result.table)
IS = plots.metric_column(final, "IS")
best = tables.best_runs(final, IS, by=("method",))
best = best.loc[[m for m in methods if m in best.index]]
best[["setting", IS, "seeds"]]  # a method none of whose runs is stored, or all diverged, has no row


# %%
def spectra(rows: pd.DataFrame) -> pd.DataFrame:
    """Conv layers' normalized spectra of the runs in ``rows``, labelled by method, setting and seed."""
    frames = [snlab.store.spectra(Path(store, r.run)).assign(method=r.method, seed=r.seed,
                                                             label=f"{plots.method_label(r.method)} ({r.setting})")
              for r in rows.itertuples()]
    table = pd.concat(frames) if frames else pd.DataFrame(columns=["layer"])
    return table[table["layer"].str.startswith("conv")]


best_rows = final.merge(best["setting"].reset_index(), on=["method", "setting"])  # every seed at the best setting
best_gone = results.diverged(best_rows, IS)  # a diverged D has no final spectrum: not drawn, counted in C3
at_best = spectra(best_rows[~best_gone])
at_common = spectra(final[~results.diverged(final, IS) & (final["setting"] == common_setting)])
at_init = pd.concat([spectral.normalized_spectra(build_run_models(c)[1]).assign(
    method=c.method, seed=c.seed, label=f"{plots.method_label(c.method)} (init)")
    for c in configs if c.setting == common_setting])
at_init = at_init[at_init["layer"].str.startswith("conv")]
for name, table, what in (("fig03", at_best, "each method at its best-IS setting"),
                          (f"fig03_setting_{common_setting}", at_common, f"every method at setting {common_setting}"),
                          ("fig03_init", at_init, "at initialization, before any update")):
    if table.empty:  # no run stored there: no figure, and none left from an earlier call
        Path(out_dir, f"{name}.png").unlink(missing_ok=True)
        continue
    about = "D as built, seeds " + ", ".join(map(str, seeds)) if name == "fig03_init" else caption
    fig = plots.singular_value_spectra(table, title=f"Squared singular values, {what} — {about}")
    plots.save(fig, f"{out_dir}/{name}.png")

# %%
ranks = (spectral.relative_stable_rank(at_best, by=("method", "seed", "layer")).rename("rank").reset_index()
         if not at_best.empty else pd.DataFrame(columns=["method", "seed", "layer", "rank"]))
judged = result.table["run"].isin(best_rows["run"]) | ~result.table["method"].isin(best.index)  # diverged: counted
phases, testable = gate.assess(result.table[judged], configs, ["method"], store=store,
                               notebook="fig03_singular_values", iterations=iterations, runs_at=runs_at)
init_ranks = spectral.relative_stable_rank(at_init, by=("method", "layer")).groupby("method").mean().round(3)
unranked = pd.concat([best_rows[best_gone], final[results.diverged(final, IS) & ~final["method"].isin(best.index)]])
claim = claims.c3_spectra(ranks, f"per method ({caption})", testable, unranked["method"].value_counts().to_dict())
claims.record(out_dir, [claim], runs=result.counts(), best_setting=best["setting"].to_dict(), caption=caption,
              init_rank=init_ranks.to_dict())
claim
