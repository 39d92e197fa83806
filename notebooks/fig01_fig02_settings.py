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
# # Figs 1–2: IS and FID per method × setting A–F
# Every method the paper compares (weight clipping, GAN-GP, WGAN-GP, BN, LN, WN, orthonormal, SN) is
# trained with each Adam setting of Table 1, and IS and FID are measured at the last step. As the
# paper, FID goes on a log axis. The runs land in the run store (`store`) and are shared with
# Fig 3, Fig 6, Table 2 and `10_compare_normalizers`; a second execution trains nothing.
# At the `cpu` preset the runs are short (see the caption): this shows early robustness to the
# optimizer setting, not converged quality, and the metrics use the Fashion-MNIST classifier's features.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None
methods = None  # None: every method of Figs 1–2, snlab.experiments.SETTINGS_METHODS
settings = None  # None: Table 1's A–F
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig01_fig02_settings"

# %%
from functools import partial

from snlab import claims, experiments, gate, plots, sweep

methods, settings = list(methods or experiments.SETTINGS_METHODS), list(settings or experiments.TABLE1)
runs_at = partial(experiments.settings_grid, preset, dataset, seeds, methods=methods, settings=settings,
                  data_dir=data_dir, device=device)  # this figure's runs by length
configs = runs_at(iterations)

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
final = result.final
caption = experiments.describe(configs, result.table)
IS, FID = plots.metric_column(final, "IS"), plots.metric_column(final, "FID")
final.pivot_table(index="method", columns="setting", values=FID).round(1)

# %%
for metric, name in (("IS", "fig01_inception_score"), ("FID", "fig02_fid")):
    fig = plots.settings_bars(final, metric, methods, title=f"{metric} per setting — {caption}")
    plots.save(fig, f"{out_dir}/{name}.png")

# %%
# The paper shows every method learning at the benign settings A–C, and SN at all six: those must settle.
phases, testable = gate.assess(result.table, configs, ["method", "setting"],
                               reference="setting in ['A', 'B', 'C'] or method == 'sn'",
                               store=store, notebook="fig01_fig02_settings", iterations=iterations,
                               runs_at=runs_at)
final.to_csv(f"{out_dir}/results.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per point ({caption})"
claim = claims.with_half(claims.c2_settings(final, FID, seeds_text, testable), claims.c2_settings, result.table, FID,
                         seeds_text, metric=FID)
claims.record(out_dir, [claim], runs=result.counts(), caption=caption)
claim
