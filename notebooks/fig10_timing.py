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
# # Fig 10: computational cost of each normalization
# Seconds per 100 generator updates, each followed by n_dis = 5 D updates, measured **on this
# device** with the methods interleaved round by round (the machine may be shared and noisy).
# The paper measured on a GPU at full width; at the `cpu` preset the networks are ⅛ wide, so
# per-layer overheads weigh more here. Not retrained: nothing is learned, only timed.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
methods = ["none", "wn", "sn", "wgan-gp", "orthonormal", "ln"]
updates = 20
rounds = 5
train = True  # False: nothing timed, the stored CPU rows of cpu_timings instead, as make reproduce
cpu_timings = "../results/timing_cpu.csv"  # the last full cpu-preset CPU timing, per round; train=True replaces it
gpu_timings = "../results/timing_gpu.csv"  # stored GPU measurements with device, date, source; None: none
data_dir = None
device = "auto"
out_dir = "../figures/fig10_timing"

# %%
from datetime import date
from pathlib import Path

import pandas as pd

from snlab import bench, claims, plots

if train:
    df = bench.methods_time(preset, dataset, methods, updates=updates, rounds=rounds, data_dir=data_dir, device=device)
    df = df.assign(date=str(date.today()), source=f"fig10_timing notebook (snlab.bench.methods_time): {rounds} "
                   f"interleaved rounds x {updates} G updates, n_dis 5, setting A's Adam")
    if df["device"][0].startswith("CPU") and preset == "cpu" and set(bench.TIMED_METHODS) <= set(methods):
        df.to_csv(cpu_timings, index=False)  # replaces the stored CPU timing only with a full one
else:
    df = pd.read_csv(cpu_timings)
    if df["preset"][0] != preset:
        raise ValueError(f"{cpu_timings} holds a timing at preset {df['preset'][0]!r}, not {preset!r}: train=True "
                         "times this machine")
Path(out_dir).mkdir(parents=True, exist_ok=True)
df.to_csv(f"{out_dir}/fig10_timing.csv", index=False)
stored = pd.read_csv(gpu_timings) if gpu_timings else pd.DataFrame()
title = (f"{'measured now' if train else 'stored'}: {df['device'][0]}, {df['date'][0]} · {dataset} · preset "
         f"{df['preset'][0]} · {df['round'].nunique()} interleaved rounds"
         + (" · stored GPU rows: preset paper" if len(stored) else ""))
plots.save(plots.timing_bars(pd.concat([df, stored]), title=title), f"{out_dir}/fig10.png")
df.groupby("method")["seconds_per_100_g_updates"].median().round(2)

# %%
records = claims.c5_timing(pd.concat([df, stored]))
claims.record(out_dir, records, caption=title)
records
