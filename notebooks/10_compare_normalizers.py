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
# # Compare normalizers on stored runs
# Pick methods, a setting (with its n_dis) and a D layer: sample grids, σ(W̄) of that layer over
# training, its squared singular values, and FID across settings. Everything is read from the run
# store written by `fig01_fig02_settings` (then `fig11_ndis`, then the convergence study, where the
# earlier has no run of a method at a setting and n_dis; each sample grid says its run's length);
# moving a widget never trains. With `interactive = False` (papermill) the static figure for `methods`,
# `setting` and `layer` is written to `out_dir`.

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seed = 0
iterations = None
methods = ["wn", "sn"]
setting = "C"
layer = "conv6"
interactive = True
store = "../results"
out_dir = "../figures/10_compare_normalizers"

# %%
from snlab import compare, experiments, plots, sweep
from snlab.settings import get_setting

table = compare.stored_runs([experiments.settings_grid(preset, dataset, [seed], iterations),
                             experiments.ndis_sweep(preset, dataset, [seed], iterations),
                             experiments.convergence_runs(preset, dataset, [seed], iterations)], store)
if table.empty:
    raise sweep.NotInStore(f"no stored runs for preset {preset!r}, dataset {dataset!r} in {store}: run "
                            "`make reproduce TRAIN=1 ONLY=fig01` (and fig11, convergence) first")
choices = compare.options(table)
unknown = sorted(set(methods) - set(choices["methods"])) + ([layer] if layer not in choices["layers"] else [])
if unknown:
    raise ValueError(f"not in the stored runs: {', '.join(unknown)}; methods: {', '.join(choices['methods'])}; "
                     f"layers: {', '.join(choices['layers'])}")
n_dis = get_setting(setting).n_dis

# %%
try:
    fig = compare.figure(table, store, methods, setting, n_dis, layer)
except ValueError as e:  # no stored run of these methods there: no figure (make reproduce says why)
    raise sweep.NotInStore(f"{e} in {store}; stored: "
                           f"{', '.join(f'{s} (n_dis {n})' for s, n in choices['conditions'])}") from e
plots.save(fig, f"{out_dir}/compare_{setting}_{layer}.png", dpi=90)

# %% [markdown]
# Move the widgets (in JupyterLab; papermill runs this notebook with `interactive = False`).

# %%
if interactive:
    from IPython.display import display

    display(compare.widget(table, store, methods, setting, layer))
