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
# Each method at the setting that gave its best IS in the A–F grid (`fig01_fig02_settings`), read from
# the stored checkpoints: nothing is trained here when the grid is complete. Exact SVD of each layer's
# effective weight W̄, reshaped d_out × (d_in·k·k), squared and divided by the largest.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0]
iterations = None
methods = ["clip", "wn", "sn"]
settings = ["A", "B", "C", "D", "E", "F"]
store = "../runs"
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig03_singular_values"

# %%
import pandas as pd

from snlab import claims, experiments, plots, results, spectral, sweep
from snlab.train import load_run

configs = experiments.settings_grid(preset, dataset, seeds, iterations, methods, settings, data_dir=data_dir,
                                     device=device)
caption = experiments.describe(configs)

# %%
result = sweep.run_sweep(configs, store, workers)
final = result.final
IS = plots.metric_column(final, "IS")
best = results.best_runs(final, IS, by=("method",)).loc[methods]
best[["setting", IS, "seeds"]]

# %%
frames = []
for method, row in best.iterrows():
    D = load_run(f"{store}/{row['run']}").discriminator
    frames.append(spectral.normalized_spectra(D).assign(method=method, label=f"{method} (setting {row['setting']})"))
spectra = pd.concat(frames)
spectra = spectra[spectra["layer"].str.startswith("conv")]
fig = plots.singular_value_spectra(spectra, title=f"Squared singular values, each method at its best-IS setting — {caption}")
plots.save(fig, f"{out_dir}/fig03.png")

# %%
ranks = spectral.relative_stable_rank(spectra, by=("method", "layer")).rename("rank").reset_index()
claim = claims.c3_spectra(ranks, seeds=f"1 run per method ({caption})")
claims.record(out_dir, [claim], runs=result.counts(), best_setting=best["setting"].to_dict(), caption=caption)
claim
