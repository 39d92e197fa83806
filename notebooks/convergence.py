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
# # The convergence study: how long must a run train before it can test a claim?
# SN, WN, BN and WGAN-GP at a benign setting (C: DCGAN's Adam, n_dis 1) and an aggressive one
# (D: α = 1e-3, n_dis 5, where the paper shows WGAN-GP collapsing), 3 seeds each, with IS and FID
# measured 16–20 times per run. Each curve is the median over seeds, its band the lowest to highest seed.
# The testability gate (`snlab/gate.py`) calls a run *learned* once its FID is at most a quarter of
# the untrained generator's, and *settled* once the last doubling of its G updates moved its FID by
# at most a third; a circle marks the G update from which most of a method's seeds stayed settled.
# Those lengths are what the figures' run lengths are chosen from; each figure's chosen length is marked
# (dotted), or named at the top right where it lies past the study's runs: there it was chosen as the next
# doubling, not seen settled (`docs/reproduction.md`). Fig 15 (setting A) and Fig 5 (the ResNet) are not in
# the study. The metrics use the Fashion-MNIST classifier's features (at the `cpu` preset), not Inception's.
# Last, a check of the gate's premise on every standard-CNN run in the store: judged at half its length, does
# "settled" forecast that the next doubling moves FID by at most a third?

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
methods = ["sn", "wn", "bn", "wgan-gp"]
settings = ["C", "D"]
iterations = None
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/convergence"

# %%
from snlab import claims, experiments, gate, plots, results, sweep

configs = experiments.convergence_runs(preset, dataset, seeds, iterations, methods, settings, data_dir=data_dir,
                                       device=device)
lengths_run = {c.setting: c.iterations for c in configs}
caption = (f"{dataset} · preset {preset} · " + ", ".join(f"setting {s}: {n} G updates" for s, n in lengths_run.items())
           + f" · {len(seeds)} seeds")
caption

# %%
result = sweep.run_sweep(configs, store, workers, train=train)
table, runs = result.table, result.counts()
FID, IS = plots.metric_column(table, "FID"), plots.metric_column(table, "IS")
untrained = gate.untrained_fid(configs, FID)
lengths = gate.earliest_settled(table, FID, IS, untrained, ["method", "setting"])
phases = gate.run_phases(table, FID, IS, untrained)
lengths.merge(phases.groupby(["method", "setting"])["phase"].agg(lambda p: ", ".join(sorted(p))).reset_index())

# %%
stored = table.groupby(["method", "setting"])["seed"].nunique()
protocol = {"C": {"Figs 1–3, 6, Table 2": experiments.SWEEP_ITERATIONS[preset],
                  "Fig 4": experiments.FINAL_WIDTH_ITERATIONS[preset], "Fig 9": experiments.SIGMA_ITERATIONS[preset]},
            "D": {"Fig 11": experiments.NDIS_ITERATIONS[preset]}}  # each figure's run length, by its setting
fig = plots.convergence(table, untrained, lengths, title=f"Convergence study — {caption} asked; "
                        f"{stored.min()}–{stored.max()} seeds stored per method and setting", protocol=protocol)
plots.save(fig, f"{out_dir}/convergence.png")

# %%
every = results.collect(store)
every = every[(every["arch"] == "standard") & (every["preset"] == preset) & (every["dataset"] == dataset)]
forecasts = gate.settle_forecasts(every, FID, IS, untrained)
summary = forecasts.groupby("phase_at_half").agg(runs=("run", "size"), moved=("moved", "sum"),
                                                 median_next_change=("next_change", "median"))
with open(f"{out_dir}/settle_forecasts.md", "w") as f:
    f.write(f"Does \"settled\" forecast the next doubling? Every standard-CNN run in `{store}` ({dataset}, preset "
            f"{preset}) that had learned by half its length, judged there by the gate's rule, against how much its "
            f"{plots.metric_label(FID)} moved over its second half (moved: by more than a third).\n\n"
            + summary.assign(share_moved=summary["moved"] / summary["runs"]).round(3).to_markdown() + "\n")
summary

# %%
lengths.to_csv(f"{out_dir}/lengths.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
forecasts.to_csv(f"{out_dir}/settle_forecasts.csv", index=False)
claims.record(out_dir, runs=runs, caption=caption, untrained_fid=untrained,
              settled_from=lengths.to_dict("records"), settle_forecasts=summary.reset_index().to_dict("records"))
