"""Side-by-side views of stored runs for the ``10_compare_normalizers`` notebook; nothing here trains.

``figure`` draws, for the chosen methods at one setting (and n_dis): the last sample grid of each
run, σ(W̄) of one D layer over training, that layer's squared singular values from the checkpoint (none
for a diverged run: its checkpoint predates the divergence; its title says so), and the methods' FID across
every stored setting, each setting's runs at one length (``at_common_length``). Checkpoints are read once and
cached.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from snlab.methods import METHOD_SPECS
from snlab.plots import method_palette, metric_column, metric_label
from snlab.settings import SETTINGS, get_setting
from snlab.store import latest_samples, spectra


@lru_cache(maxsize=256)
def _spectra(run_dir: str) -> pd.DataFrame:
    return spectra(run_dir)


def stored_runs(sweeps, store: str | Path) -> pd.DataFrame:
    """The stored runs of ``sweeps`` (lists of ``TrainConfig``), complete or partial, in order of preference:
    a run is left out when an earlier sweep has a stored run of its method, setting and n_dis (e.g. the A–F
    grid's, then the convergence study's at another run length), so each such cell's runs (one per seed)
    come from one sweep; nothing is trained."""
    from snlab.sweep import stored

    tables, held = [], set()
    for configs in sweeps:
        table = stored(configs, store)
        cell = list(zip(table["method"], table["setting"], table["n_dis"]))
        tables.append(table[[c not in held for c in cell]])
        held |= set(cell)
    return pd.concat(tables, ignore_index=True)


def options(table: pd.DataFrame) -> dict:
    """Widget choices from a stored table: methods, (setting, n_dis) pairs, D layers."""
    layers = [c.removeprefix("sigma_") for c in table.columns if c.startswith("sigma_")]
    pairs = sorted({(s, int(n)) for s, n in zip(table["setting"], table["n_dis"])})
    return {"methods": list(dict.fromkeys(table["method"])), "conditions": pairs, "layers": layers}


def figure(table: pd.DataFrame, store: str | Path, methods, setting: str, n_dis: int, layer: str):
    """The comparison figure for ``methods`` at ``setting`` with ``n_dis``; ``table`` is ``sweep.stored`` output."""
    runs = table[table["method"].isin(methods) & (table["setting"] == setting) & (table["n_dis"] == n_dis)]
    names = list(dict.fromkeys(runs["run"]))
    if not names:
        raise ValueError(f"no stored run of {', '.join(methods)} at setting {setting} with n_dis={n_dis}")
    labels = {m: METHOD_SPECS[m].label for m in methods}
    label_of = runs.drop_duplicates("run").set_index("run")["method"].map(labels)  # run → method label
    diverged = set(runs.loc[runs["status"] == "diverged", "run"])
    palette = method_palette(methods)
    fig = plt.figure(figsize=(max(12, 2 * len(names)), 7.5))
    grid = fig.add_gridspec(2, max(3, len(names)))
    for i, name in enumerate(names):
        ax = fig.add_subplot(grid[0, i])
        if samples := latest_samples(Path(store, name)):
            ax.imshow(mpimg.imread(samples), cmap="gray")
        ax.set_axis_off()
        ax.set_title(f"{label_of[name]} · {int(runs.loc[runs['run'] == name, 'step'].max()):,} G updates"
                     + (" · diverged" if name in diverged else ""), fontsize=9)
    ax = fig.add_subplot(grid[1, 0])
    sns.lineplot(runs.assign(method=runs["method"].map(labels)), x="step", y=f"sigma_{layer}", hue="method",
                 palette=palette, ax=ax)
    ax.set(xlabel="generator updates", ylabel=f"σ(W̄) of {layer}, exact")
    ax = fig.add_subplot(grid[1, 1])
    for name in (n for n in names if n not in diverged):
        s = _spectra(str(Path(store, name)))
        s = s[s["layer"] == layer]
        ax.plot(s["index"], s["s2"], label=label_of[name], color=palette[label_of[name]])
    ax.set(xlabel="index of singular value", ylabel=f"s² / max s² of {layer}")
    ax = fig.add_subplot(grid[1, 2:])
    chosen = table[table["method"].isin(methods)]
    chosen = chosen[chosen["n_dis"] == chosen["setting"].map(lambda s: SETTINGS[s].n_dis)]  # the A–F grid only
    fid = metric_column(chosen, "FID")
    at = at_common_length(chosen, fid)
    order = sorted(at["setting"].unique())
    sns.barplot(at.assign(method=at["method"].map(labels)), x="setting", y=fid, hue="method", order=order,
                palette=palette, errorbar=None, ax=ax, legend=False)
    lengths = at.groupby("setting")["length"].first()
    ax.set_xticks(range(len(order)), [f"{s}\n{lengths[s]:,}" for s in order])
    ax.set(yscale="log", ylabel=metric_label(fid), xlabel="setting, and the G updates its runs are compared at")
    fig.suptitle(f"setting {setting}, n_dis = {n_dis}", fontsize=10)
    fig.tight_layout()
    return fig


def at_common_length(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per setting, each run's ``metric`` at one G update: the last one at which every evaluated, non-diverged run
    of that setting has it (else the earliest of their last evaluations, each run read at its last evaluation
    before it), so that methods trained for different lengths (the A–F grid's, the convergence study's) are
    compared at equal G updates. A diverged run, or one not evaluated yet, does not move that point. ``table``:
    history rows (run, setting, step, status, ``metric``); one row per run, with the setting's ``length``,
    ``metric`` NaN (no bar) for a diverged run and one with no evaluation by then."""
    status = table.groupby("run")["status"].last()
    alive = table.dropna(subset=[metric])
    alive = alive[alive["run"].map(status) != "diverged"]

    def common(runs: pd.DataFrame) -> int:
        steps = [set(g["step"]) for _, g in runs.groupby("run")]
        return max(set.intersection(*steps), default=min(max(s) for s in steps))
    ends = table.groupby(["setting", "run"])["step"].max().groupby("setting").min()  # nothing evaluated: its end
    length = pd.Series({s: common(g) for s, g in alive.groupby("setting")}, dtype=float).combine_first(ends)
    rows = alive.assign(length=alive["setting"].map(length))
    picked = rows[rows["step"] <= rows["length"]].sort_values("step").groupby("run").tail(1)
    rest = table[~table["run"].isin(picked["run"])].groupby("run").tail(1)
    rest = rest.assign(**{metric: float("nan"), "length": rest["setting"].map(length)})
    return pd.concat([picked, rest], ignore_index=True).astype({"length": int})


def widget(table: pd.DataFrame, store: str | Path, methods, setting: str, layer: str):
    """An ``ipywidgets.interactive``: methods (multi-select), setting with its n_dis, layer → ``figure``.

    Show it with ``display``; not under papermill, whose execution hangs on interactive output
    widgets (nteract/papermill#723), which is why the notebook takes ``interactive=False`` there.
    """
    import ipywidgets as w

    choices = options(table)
    pick = w.SelectMultiple(options=choices["methods"], value=tuple(methods), description="methods", rows=8)
    cond = w.Dropdown(options=[(f"{s} (n_dis {n})", (s, n)) for s, n in choices["conditions"]],
                      value=(setting, get_setting(setting).n_dis), description="setting")
    lay = w.Dropdown(options=choices["layers"], value=layer, description="layer")

    def show(methods, condition, layer):
        try:
            figure(table, store, list(methods), *condition, layer)
            plt.show()
        except ValueError as e:  # a combination with no stored run
            print(e)

    return w.interactive(show, methods=pick, condition=cond, layer=lay)
