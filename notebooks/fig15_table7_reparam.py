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
# # Fig 15 and Table 7 (App. E): reparametrizing D inside WGAN-GP
# WGAN-GP (Wasserstein loss, gradient penalty, setting A) with D's weights left alone, written as
# Frobenius-normalized, WN-reparametrized (our WN: unit rows) or γ·W̄_SN. Top, a panel per method: D's loss
# on a fixed batch of training images and on held-out (test) images, against the same fixed fakes: a widening
# gap is overfitting. Bottom: that gap relative to the train loss, over windows of logged steps (the ratio
# C7 judges over the last half), and IS during training. The table puts our final IS/FID beside the paper's
# Table 7.
# The ResNet rows of Table 7 (WGAN-GP ResNet, with γ·W̄_SN, and with γ·W̄_SN and D's widths ×1.5) and of
# Table 8 (the same three inside AC-WGAN-GP: G conditional, D's auxiliary classifier predicts the class) run
# when `resnet` is true, by default only at the paper preset: a GP ResNet is the costliest run here (hours
# on a GPU; too slow for the cpu preset).

# %% tags=["parameters"]
preset = "cpu"
dataset = "fashion_mnist"
seeds = [0, 1, 2]
iterations = None  # the standard-CNN runs' G updates; None: the preset's
resnet = None  # Table 7's ResNet rows; None: only at preset "paper"
resnet_iterations = None  # G updates of the ResNet rows, Tables 7 and 8; None: the preset's, at paper 100k with decay
store = "../results"
train = True  # False: only the runs complete in store, nothing trained, as make reproduce
workers = None
device = "auto"
data_dir = None
out_dir = "../figures/fig15_table7_reparam"

# %%
from functools import partial
from pathlib import Path

from snlab import claims, experiments, gate, plots, prices, sweep, tables

runs_at = partial(experiments.reparam_runs, preset, dataset, seeds, data_dir=data_dir,
                  device=device)  # the standard-CNN runs by length
configs = runs_at(iterations)
resnet = preset == "paper" if resnet is None else resnet
resnet_configs, ac_configs = (experiments.appendix_e_resnet_runs(preset, dataset, seeds, resnet_iterations, head,
                                                                data_dir=data_dir, device=device)
                               for head in ("", "ac"))


def not_run(rows: list) -> str:
    """A caption for ResNet rows left out (``resnet`` false): what training them here would cost."""
    return (f"not run at preset {preset} (`resnet=True` trains them, {prices.price(sweep.todo(rows, store), store)}; "
            f"the paper's scale: {prices.gpu_command('fig15_table7_reparam')})")


# %%
result = sweep.run_sweep(configs + (resnet_configs + ac_configs if resnet else []), store, workers, train=train)
stored = result.table
table = stored[stored["arch"] == "standard"]
resnet_table = stored[(stored["arch"] == "resnet") & (stored["conditional"] != "ac")]
resnet_caption = ("WGAN-GP with SN-GAN's ResNet (Table 4), not Gulrajani's · "
                  f"{experiments.describe(resnet_configs, resnet_table)}" if resnet else not_run(resnet_configs))
caption = f"WGAN-GP, setting A · {experiments.describe(configs, table)}"
curves = {"fig15": (table, caption)}
if resnet:  # the curves of D as built and as γ·W̄_SN (the widened D's runs are in Table 7 only)
    curves["fig15_resnet"] = (resnet_table[resnet_table["d_width"].isna()], resnet_caption)
for name, (runs, title) in curves.items():
    if runs.empty:  # none stored: no figure, and none left from an earlier call
        Path(out_dir, f"{name}.png").unlink(missing_ok=True)
        continue
    plots.save(plots.heldout_curves(runs, title=title), f"{out_dir}/{name}.png")

# %%
final = result.final
IS, FID = plots.metric_column(final, "IS"), plots.metric_column(final, "FID")
table7 = tables.appendix_e_table(final, 7, IS, FID)
table7.to_csv(f"{out_dir}/table7.csv")
with open(f"{out_dir}/table7.md", "w") as f:
    f.write(f"Table 7 — ours: {caption}; ResNet rows: {resnet_caption}; {plots.metric_label(IS)}, "
            f"{plots.metric_label(FID)}; ours ±: sd across seeds. Paper: CIFAR-10, Inception features, 100k G "
            "updates; its IS ±: std over 10 sets of 5,000 samples of one model. Empty cells: "
            "ours, not run here; the paper's, none reported (its Frobenius run collapsed).\n\n"
            + tables.to_markdown(table7) + "\n")
table8 = tables.appendix_e_table(final, 8, IS, FID)
table8.to_csv(f"{out_dir}/table8.csv")
ac_runs = stored[stored["conditional"] == "ac"]
ac_caption = ("AC-WGAN-GP (D's auxiliary classifier; CE weights 1 in D, 0.1 in G) with SN-GAN's ResNet · "
              f"{experiments.describe(ac_configs, ac_runs)}" if resnet else not_run(ac_configs))
with open(f"{out_dir}/table8.md", "w") as f:
    f.write(f"Table 8 — ours: {ac_caption}; {plots.metric_label(IS)}, {plots.metric_label(FID)}; ours ±: sd "
            "across seeds. Paper: CIFAR-10, Inception features, 100k G updates; its IS ±: std over 10 sets of "
            "5,000 samples of one model. Empty cells: ours, not run here; the paper's, none reported.\n\n"
            + tables.to_markdown(table8) + "\n")
table7

# %%
# The paper shows the baseline, WN and SN-γ learning (its Frobenius run collapsed): those must settle. The
# held-out gap can only show overfitting after D has seen the training data many times.
epochs = experiments.epochs(configs[0])
seen = (epochs >= claims.C7_MIN_EPOCHS, f"≥ {claims.C7_MIN_EPOCHS} passes of D over the training data ({epochs:.1f})")
judge = dict(reference="method != 'frobenius'", store=store, notebook="fig15_table7_reparam", iterations=iterations,
             runs_at=runs_at)
phases, learned = gate.assess(table, configs, ["method"], **judge)
_, overfit_testable = gate.assess(table, configs, ["method"], extra=[seen], **judge)
final.to_csv(f"{out_dir}/results.csv", index=False)
phases.to_csv(f"{out_dir}/phases.csv", index=False)
seeds_text = f"per method ({caption})"
records = [claims.with_half(claims.c7_overfit(table, seeds_text, overfit_testable), claims.c7_overfit, table,
                            seeds_text),
           claims.with_half(claims.t7_order(final[final["arch"] == "standard"], IS, seeds_text, learned),
                            claims.t7_order, table, IS, seeds_text, metric=IS)]

# %%
# Table 8 (T8): AC-WGAN-GP with D as built against γ·W̄_SN, both of which the paper shows learning; the widened
# D is its own row. Not run at this preset (`resnet` false): not testable here, with what running it costs.
t8_configs, t8_runs = [c for c in ac_configs if not c.d_width], ac_runs[ac_runs["d_width"].isna()]
if resnet:  # unpriced: their length is resnet_iterations, which the priced commands do not set
    _, ac_gate = gate.assess(t8_runs, t8_configs, ["method"])
else:
    left = sweep.todo(t8_configs, store).query("state != 'done'")
    what = f"its {len(left)} runs, not run at preset {preset} (resnet=True runs them)"
    ac_gate = gate.not_run(prices.next_step(left, store, "fig15_table7_reparam", preset, what)[1])
ac_final = final[final["conditional"] == "ac"]
records.append(claims.t8_ac(ac_final, IS, FID, f"per method (AC-WGAN-GP · {experiments.describe(t8_configs, t8_runs)})",
                            ac_gate))
claims.record(out_dir, records, runs=result.counts(), caption=caption, resnet_caption=resnet_caption,
              ac_caption=ac_caption)
records
