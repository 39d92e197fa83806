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
# # Fig 4: IS and FID against the relative width of D's last layer (orthonormal vs SN, setting C)
# D's last conv has `final_width` × its original output channels (and the dense layer after it
# as many inputs; docs/paper.md §6). The paper: orthonormal regularization degrades as the layer widens (it forces
# every singular value to 1), SN stays flat. Lines are the mean over seeds, bands ± 1 std.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None
widths = [0.5, 1, 2, 4, 6, 8]
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig04_final_width"

# %%
from functools import partial

from snlab import claims, experiments, gate, plots, sweep

runs_at = partial(experiments.final_width_sweep, preset, dataset, seeds, widths=widths, data_dir=data_dir,
                  device=device)  # this figure's runs by length
configs = runs_at(iterations)

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
final = result.final
caption = f"setting C · {experiments.describe(configs, result.table)}"
IS = plots.metric_column(final, "IS")
final.pivot_table(index="final_width", columns="method", values=IS, aggfunc=["mean", "std"]).round(3)

# %%
fig = plots.seed_bands(final, "final_width", xlabel="relative width of D's last layer", logx=True, title=caption)
plots.save(fig, f"{out_dir}/fig04.png")

# %%
phases, testable = gate.assess(result.table, configs, ["method", "final_width"], store=store,
                               notebook="fig04_final_width", iterations=iterations, runs_at=runs_at)
final.to_csv(f"{out_dir}/results.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per point ({caption})"
claim = claims.with_half(claims.c4_width(final, IS, seeds_text, testable), claims.c4_width, result.table, IS,
                         seeds_text, metric=IS)
claims.record(out_dir, [claim], runs=result.counts(), caption=caption)
claim
