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
# # Quickstart: an SN-GAN on Fashion-MNIST
# Trains the paper's standard CNN (Table 3) with spectral normalization in D (Algorithm 1), setting C
# (Adam α = 2e-4, β = (0.5, 0.999), n_dis = 1), and writes sample grids, loss curves, σ(W̄) per
# D layer and IS/FID curves into `out_dir`. The run directory (`run_dir`, by default one per preset)
# keeps the checkpoint: re-executing reuses a finished run and resumes an interrupted one.
# All logic lives in `snlab`.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
method = "sn"
setting = "C"
seed = 0
iterations = None
run_dir = None  # default: ../runs/<dataset>-<method>-<setting>-s<seed>-i<iterations>-<key of the parameters>
out_dir = "../figures/quickstart"
data_dir = None

# %%
import snlab
import snlab.store
from snlab import image_plots, plots

cfg = snlab.TrainConfig(preset=preset, dataset=dataset, method=method, setting=setting, seed=seed,
                        iterations=iterations, data_dir=data_dir, resume=True)
# Keyed by the parameters: another run, another folder.
cfg.out_dir = run_dir or str(snlab.store.default_run_dir(cfg, "../runs"))
caption = f"{method} · setting {setting} · {dataset} · preset {preset} · {cfg.iterations} G updates · seed {seed}"
cfg

# %%
result = snlab.train(cfg)
print(result.status, result.run_dir)
result.history.tail()

# %%
plots.save(image_plots.samples(result.generator, title=f"Samples — {caption}"), f"{out_dir}/samples.png")

# %%
plots.save(plots.losses(result.history, title=caption), f"{out_dir}/losses.png")

# %%
plots.save(plots.sigmas(result.history, title=caption), f"{out_dir}/sigmas.png")

# %% [markdown]
# IS and FID during training, measured every `eval_every` G updates on `eval_samples` samples against
# the test split. Without Inception weights they use the Fashion-MNIST classifier's features: the
# axis labels say which, and these numbers are not comparable with the paper's.

# %%
if cfg.eval_every:
    plots.save(plots.metric_curves(result.history.assign(method=method), title=caption), f"{out_dir}/metrics.png")
