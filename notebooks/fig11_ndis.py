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
# # Fig 11: IS and FID after a fixed number of G updates against n_dis (WN vs SN)
# Setting D's Adam parameters (α = 1e-3, β = (0.5, 0.9)) with n_dis varied. The paper measures after
# 10k G updates and finds WN degrading as n_dis grows while SN does not. Lines are the mean over
# seeds, bands ± 1 std.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None
n_dis = [1, 2, 5, 10, 20]
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig11_ndis"

# %%
from functools import partial

from snlab import claims, experiments, gate, plots, sweep

runs_at = partial(experiments.ndis_sweep, preset, dataset, seeds, n_dis=n_dis, data_dir=data_dir,
                  device=device)  # this figure's runs by length
configs = runs_at(iterations)

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
final = result.final
caption = f"setting D's Adam · {experiments.describe(configs, result.table)}"
IS = plots.metric_column(final, "IS")
final.pivot_table(index="n_dis", columns="method", values=IS, aggfunc=["mean", "std"]).round(3)

# %%
fig = plots.seed_bands(final, "n_dis", xlabel="n_dis (D updates per G update)", logx=True, title=caption)
plots.save(fig, f"{out_dir}/fig11.png")

# %%
# The paper shows SN learning at every n_dis, and WN at n_dis = 1: those must settle.
phases, testable = gate.assess(result.table, configs, ["method", "n_dis"], reference="method == 'sn' or n_dis == 1",
                               store=store, notebook="fig11_ndis", iterations=iterations,
                               runs_at=runs_at)
final.to_csv(f"{out_dir}/results.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per point ({caption})"
claim = claims.with_half(claims.c6_ndis(final, IS, seeds_text, testable), claims.c6_ndis, result.table, IS, seeds_text,
                         metric=IS)
claims.record(out_dir, [claim], runs=result.counts(), caption=caption)
claim
