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
# Frobenius-normalized, WN-reparametrized (our WN: unit rows) or γ·W̄_SN. Top, a panel per method: D's loss
# on a fixed batch of training images and on held-out (test) images, against the same fixed fakes: a widening
# gap is overfitting. Bottom: that gap relative to the train loss, over windows of logged steps (the ratio
# C7 judges over the last half), and IS during training. The table puts our final IS/FID beside the paper's
# Table 7.
# Table 7's ResNet rows (WGAN-GP ResNet, and with γ·W̄_SN) run when `resnet` is true, by default only at
# the paper preset: a GP ResNet is the costliest run here (hours on a GPU; too slow for the cpu preset).
# The "D widths ×1.5" rows are not run.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None  # the standard-CNN runs' G updates; None: the preset's
resnet = None  # Table 7's ResNet rows; None: only at preset "paper"
resnet_iterations = None  # their G updates; None: the preset's, at paper 100k with decay
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig15_table7_reparam"

# %%
from functools import partial
from pathlib import Path

from snlab import claims, experiments, gate, plots, sweep, tables

runs_at = partial(experiments.reparam_runs, preset, dataset, seeds, data_dir=data_dir,
                  device=device)  # the standard-CNN runs by length
configs = runs_at(iterations)
resnet = preset == "paper" if resnet is None else resnet
resnet_configs = experiments.reparam_runs(preset, dataset, seeds, resnet_iterations, ["wgan-gp", "sn-gamma"],
                                          arch="resnet", data_dir=data_dir, device=device) if resnet else []

# %%
result = sweep.run_sweep(configs + resnet_configs, store, workers, train=train)
table, resnet_table = (result.table[result.table["arch"] == arch] for arch in ("standard", "resnet"))
resnet_caption = ("WGAN-GP with SN-GAN's ResNet (Table 4), not Gulrajani's · "
                  f"{experiments.describe(resnet_configs, resnet_table)}" if resnet else "not run")
caption = f"WGAN-GP, setting A · {experiments.describe(configs, table)}"
curves = {"fig15": (table, caption)}
if resnet:
    curves["fig15_resnet"] = (resnet_table, resnet_caption)
for name, (runs, title) in curves.items():
    if runs.empty:  # none stored: no figure, and none left from an earlier call
        Path(out_dir, f"{name}.png").unlink(missing_ok=True)
        continue
    plots.save(plots.heldout_curves(runs, title=title), f"{out_dir}/{name}.png")

# %%
final = result.final
IS, FID = plots.metric_column(final, "IS"), plots.metric_column(final, "FID")
table7 = tables.table7(final, IS, FID)
table7.to_csv(f"{out_dir}/table7.csv")
with open(f"{out_dir}/table7.md", "w") as f:
    f.write(f"Table 7 — ours: {caption}; ResNet rows: {resnet_caption}; {plots.metric_label(IS)}, "
            f"{plots.metric_label(FID)}; ours ±: sd across seeds. Paper: CIFAR-10, Inception features, 100k G "
            "updates; its IS ±: std over 10 sets of 5,000 samples of one model. Empty cells: "
            "ours, not run here; the paper's, none reported (its Frobenius run collapsed).\n\n"
            + tables.to_markdown(table7) + "\n")
with open(f"{out_dir}/table8.md", "w") as f:
    f.write("Table 8 (App. E: AC-WGAN-GP, ResNet, with labels) — the paper's numbers only: snlab has no "
            "auxiliary-classifier D, so no row is ours.\n\n" + tables.to_markdown(tables.table8()) + "\n")
table7

# %%
# The paper shows the baseline, WN and SN-γ learning (its Frobenius run collapsed): those must settle. The
# held-out gap can only show overfitting after D has seen the training data many times.
epochs = experiments.epochs(configs[0])
seen = (epochs >= claims.C7_MIN_EPOCHS, f"≥ {claims.C7_MIN_EPOCHS} passes of D over the training data ({epochs:.1f})")
judge = dict(reference="method != 'frobenius'", store=store, notebook="fig15_table7_reparam", iterations=iterations,
             runs_at=runs_at)
phases, learned = gate.assess(table, configs, ["method"], **judge)
_, overfit_testable = gate.assess(table, configs, ["method"], extra=[seen], **judge)
final.to_csv(f"{out_dir}/results.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per method ({caption})"
records = [claims.c7_overfit(table, seeds_text, overfit_testable),
           claims.t7_order(final[final["arch"] == "standard"], IS, seeds_text, learned)]
claims.record(out_dir, records, runs=result.counts(), caption=caption, resnet_caption=resnet_caption)
records
