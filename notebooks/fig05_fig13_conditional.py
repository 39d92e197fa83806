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
# # Figs 5 and 13b: a class-conditional ResNet GAN, SN vs orthonormal regularization
# G has conditional BN (per-class γ, β); D a projection head (Fig 13b; `head="concat"` is Fig 5's
# concat D of Table 6c). Hinge loss, Adam α = 2e-4, β = (0, 0.9), n_dis = 5; G steps on twice D's batch,
# as the official configs. Curves: IS, FID and intra-FID (the mean over classes of each class's FID
# against that class's training images) during training, each line the median over seeds and its band
# the lowest to highest seed; then one grid per method (its lowest seed's run), a class per row.
# At `preset="paper"` with `dataset="imagenet"` this is the paper's ImageNet experiment (450k G updates,
# α decayed from 400k); ImageNet must be under `<data_dir>/imagenet/` (the error says how).
# The paper's intra-FID uses 5,000 samples per class (`snlab.metrics.intra_class_fid`); the curves here
# use the training loop's cheaper eval (eval_samples ÷ classes per class).

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
head = "projection"
methods = ["sn", "orthonormal"]
seeds = [0, 1, 2]
iterations = None
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig05_fig13_conditional"

# %%
from functools import partial
from pathlib import Path

import pandas as pd

import snlab.store
from snlab import claims, data, experiments, gate, image_plots, paper, plots, sweep

runs_at = partial(experiments.conditional_runs, preset, dataset, seeds, methods=methods, head=head,
                  data_dir=data_dir, device=device)  # this figure's runs by length
configs = runs_at(iterations)
data.load_dataset(dataset, data_dir=data_dir)  # a missing dataset fails here, saying where to put it
first = configs[0]

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
table = result.table
caption = (f"conditional ResNet, {head} D, hinge, n_dis {first.n_dis}, "
           f"G batch {first.g_batch_size or first.batch_size} · {experiments.describe(configs, table)}")
caption
# Training-time intra-FID needs 50 samples per class (ImageNet at the paper preset: run intra_class_fid after).
metrics = [m for m in ("IS", "FID", "intraFID") if any(c.startswith(f"{m}_") for c in table.columns)]
fig = plots.metric_curves(table, caption, metrics=metrics, hue="method")
plots.save(fig, f"{out_dir}/curves_{head}.png")

# %%
final = result.final
columns = [plots.metric_column(final, m) for m in metrics]
ours = final.groupby("method")[columns].mean()
is_paper, intra_paper = paper.CONDITIONAL_IMAGENET[head]
ours["paper IS (SN, ImageNet 450k, Inception)"] = pd.Series({"sn": is_paper})
ours["paper intra-FID (SN, ImageNet 450k)"] = pd.Series({"sn": intra_paper})
ours.to_csv(f"{out_dir}/final_{head}.csv")
ours.round(2)

# %%
grids = {}  # per method, the lowest seed with a saved grid
for m, run in final.sort_values("seed")[["method", "run"]].itertuples(index=False):
    if plots.method_label(m) not in grids and (grid := snlab.store.latest_samples(Path(store, run))):
        grids[plots.method_label(m)] = grid
names = data.CLASS_NAMES.get(dataset, [str(c) for c in range(10)])
title = f"G(z, y) at the last saved step of each method's lowest seed, one class per row\n{caption}"
fig = image_plots.class_grids(grids, names, title=title)
plots.save(fig, f"{out_dir}/samples_{head}.png", dpi=100)

# %%
phases, testable = gate.assess(table, configs, ["method"], store=store, notebook="fig05_fig13_conditional",
                               iterations=iterations, runs_at=runs_at)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per method ({caption})"
claim = claims.with_half(claims.c8_conditional(table, columns[0], seeds_text, testable), claims.c8_conditional, table,
                         columns[0], seeds_text)
claims.record(out_dir, [claim], runs=result.counts(), caption=caption, final=ours.to_dict())
claim
