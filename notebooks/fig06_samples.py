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
# # Figs 6 and 12: samples per method and setting
# The fixed-z sample grid each run of the A–F grid saved at its last step (the top-left 4 × 4
# samples of each), rows methods, columns settings. From the stored runs: nothing is trained when
# `fig01_fig02_settings` has run.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seed = 0
iterations = None
methods = None  # None: every method of Figs 1–2, snlab.experiments.SETTINGS_METHODS
settings = None  # None: Table 1's A–F
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig06_samples"

# %%
from pathlib import Path

import snlab.store
from snlab import claims, experiments, image_plots, plots, sweep
from snlab.methods import METHOD_SPECS

methods, settings = list(methods or experiments.SETTINGS_METHODS), list(settings or experiments.TABLE1)
configs = experiments.settings_grid(preset, dataset, [seed], iterations, methods, settings, data_dir=data_dir,
                                     device=device)

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
final = result.final
caption = experiments.describe(configs, result.table)
images = {}
for _, row in final.iterrows():
    images[(METHOD_SPECS[row["method"]].label, f"setting {row['setting']}")] = snlab.store.latest_samples(
        Path(store, row["run"]))
order = {(METHOD_SPECS[m].label, f"setting {s}"): None for m in methods for s in sorted(final["setting"].unique())}
fig = image_plots.image_table({**order, **images}, crop=4, title=f"Samples at the last step — {caption}")
plots.save(fig, f"{out_dir}/fig06.png", dpi=90)  # about the samples' own resolution
claims.record(out_dir, runs=result.counts(), caption=caption)
