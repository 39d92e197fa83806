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
# The run is reused when complete and resumed when partial.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
setting = "C"
seed = 0
iterations = None
run_dir = None  # default: ../runs/fig09-<dataset>-<preset>-s<seed>
data_dir = None
out_dir = "../figures/fig09_sigma_during_training"

# %%
import snlab
from snlab import plots

cfg = snlab.TrainConfig(preset=preset, dataset=dataset, method="sn", setting=setting, seed=seed,
                        iterations=iterations, data_dir=data_dir, log_operator_norms=True, eval_every=0,
                        out_dir=run_dir or f"../runs/fig09-{dataset}-{preset}-s{seed}", resume=True)
result = snlab.train(cfg)
caption = f"SN · setting {setting} · {dataset} · preset {preset} · {cfg.iterations} G updates · seed {seed}"

# %%
fig = plots.sigma_and_operator_norms(result.history, title=caption)
plots.save(fig, f"{out_dir}/fig09.png")
last = result.history.iloc[-1]
{c: round(last[c], 3) for c in result.history.columns if c.startswith(("sigma_conv", "opnorm_conv"))}

# %%
from snlab import claims

claim = claims.c1_sigma(result.history, seeds=f"1 ({caption})")
claims.record(out_dir, [claim], caption=caption)
claim
