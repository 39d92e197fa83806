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
# # Fig 9: σ(W̄) of each D layer during training (SN, setting C)
# Left, as the paper: the largest singular value of each conv's normalized weight, reshaped to
# d_out × (d_in·kh·kw) (exact SVD, not the power-iteration estimate). Right, what the paper only
# bounds: the operator norm of each convolution at the input size it sees, by power iteration on
# AᵀA, warm-started from one log step to the next (a lower bound that tightens as it goes).
# One run per seed; the figure shows their median and range, the claim reads every run. Runs are reused when
# complete and resumed when partial.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
setting = "C"
seeds = [0, 1, 2]
iterations = None
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig09_sigma_during_training"

# %%
from functools import partial

from snlab import claims, experiments, gate, plots, sweep

runs_at = partial(experiments.sigma_runs, preset, dataset, seeds, setting=setting, data_dir=data_dir,
                  device=device)  # this figure's runs by length
configs = runs_at(iterations)
len(configs)

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
caption = f"SN · setting {setting} · {experiments.describe(configs, result.table)}"
shown = sorted(result.table["seed"].unique())
fig = plots.sigma_and_operator_norms(result.table, title=f"{caption} · seeds {', '.join(map(str, shown))}: "
                                     "median, band from the lowest to the highest")
plots.save(fig, f"{out_dir}/fig09.png")
last = result.table[result.table["step"] == result.table["step"].max()]
last[[c for c in last.columns if c.startswith(("seed", "sigma_conv", "opnorm_conv"))]].round(3)

# %%
# A claim about D while it trains, not about how well it trains: its runs must have learned, not settled
# (docs/claims.md).
phases, testable = gate.assess(result.table, configs, ["method"], need="learning", store=store,
                               notebook="fig09_sigma_during_training", iterations=iterations, runs_at=runs_at)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
claim = claims.with_half(claims.c1_sigma(result.table, caption, testable), claims.c1_sigma, result.table, caption)
claims.record(out_dir, [claim], runs=result.counts(), caption=caption)
claim
