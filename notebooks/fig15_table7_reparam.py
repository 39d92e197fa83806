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
# # Fig 15 and Table 7 (App. E): reparametrizing D inside WGAN-GP
# WGAN-GP (Wasserstein loss, gradient penalty, setting A) with D's weights left alone, written as
# Frobenius-normalized, WN-reparametrized (our WN: unit rows) or γ·W̄_SN. Left: D's loss on a fixed
# batch of training images and on held-out (test) images, against the same fixed fakes: a widening gap is
# overfitting. Right: IS during training. The table puts our final IS/FID beside the paper's Table 7.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0]
iterations = None
store = "../runs"
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig15_table7_reparam"

# %%
import pandas as pd

from snlab import claims, experiments, paper, plots, sweep

configs = experiments.reparam_runs(preset, dataset, seeds, iterations, data_dir=data_dir, device=device)
caption = f"WGAN-GP, setting A · {experiments.describe(configs)}"
caption

# %%
result = sweep.run_sweep(configs, store, workers)
table = result.table
fig = plots.heldout_curves(table, title=caption)
plots.save(fig, f"{out_dir}/fig15.png")

# %%
final = result.final
IS, FID = plots.metric_column(final, "IS"), plots.metric_column(final, "FID")
rows = {"wgan-gp": "CNN baseline", "frobenius": "+ Frobenius", "wn": "+ WN", "sn-gamma": "+ SN"}
ours = final.groupby("method")[[IS, FID]].mean().rename(index=rows)
theirs = pd.DataFrame(paper.TABLE7, index=["paper IS (CIFAR-10, Inception)", "paper IS std", "paper FID"]).T
table7 = ours.join(theirs, how="left").loc[list(rows.values())]
table7.to_csv(f"{out_dir}/table7.csv")
with open(f"{out_dir}/table7.md", "w") as f:
    f.write(f"Table 7 — ours: {caption}; {plots.metric_label(IS)}, {plots.metric_label(FID)}. "
            "Paper: CIFAR-10, Inception features, 100k G updates. Empty: the paper's run collapsed.\n\n"
            + table7.round(2).fillna("").to_markdown() + "\n")
table7

# %%
final.to_csv(f"{out_dir}/results.csv", index=False)
claim = claims.c7_overfit(table, seeds=f"{len(seeds)} ({caption})")
claims.record(out_dir, [claim], runs=result.counts(), caption=caption)
claim
