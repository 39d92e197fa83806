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
# # Fig 14: the spectra SN and WN permit (theory, no training)
# SN fixes only the largest singular value (s₁ = 1); weight normalization with unit rows, rescaled by
# 1/√d_o, fixes the sum Σ s² = 1, so it permits far fewer spectral shapes (App. D). The last cell
# checks the WN constraint on a real `snlab` layer.

# %% tags=["parameters"]
n_singular_values = 50
samples = 20
seed = 0
out_dir = "../figures/fig14_permissible_spectra"

# %%
import torch

from snlab import normalizers, plots, spectral

spectra = spectral.permissible_spectra(n_singular_values, samples, seed)
fig = plots.permissible_spectra(spectra)
plots.save(fig, f"{out_dir}/fig14.png")

# %%
layer = normalizers.normalize_(torch.nn.Linear(2 * n_singular_values, n_singular_values), "wn")
s2 = spectral.singular_values(layer)[""] ** 2 / n_singular_values
print(f"WN layer ({n_singular_values} unit rows): Σ s²/d_o = {s2.sum():.6f}, max s²/d_o = {s2.max():.4f}")
