"""A store of run directories (``runs/`` by default) read back as one tidy table for plotting."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from snlab.store import run_status

#: Config fields copied onto every history row (the config's ``lr`` as ``base_lr``: history has the current lr).
CONFIG_COLUMNS = ("dataset", "method", "setting", "loss", "preset", "arch", "conditional", "iterations", "n_dis",
                  "base_lr", "beta1", "beta2", "batch_size", "width", "final_width", "seed")


def collect(store: str | Path = "runs") -> pd.DataFrame:
    """One row per run × logged step: the run's name, config columns, status, then its history columns
    (step, loss_d, loss_g, seconds, lr, sigma_<layer>, IS_<extractor>, FID_<extractor> …).

    Directories without ``config.json`` or ``history.csv`` are skipped; a run without ``status.json``
    is "partial".
    """
    frames = []
    for config in sorted(Path(store).glob("*/config.json")):
        run = config.parent
        cfg = json.loads(config.read_text())
        history = run / "history.csv"
        if not history.exists():
            continue
        cfg["base_lr"] = cfg.get("lr")
        meta = {"run": run.name, **{k: cfg.get(k) for k in CONFIG_COLUMNS}, "status": run_status(run)}
        frames.append(pd.read_csv(history).assign(**meta))
    if not frames:
        return pd.DataFrame(columns=["run", *CONFIG_COLUMNS, "status", "step"])
    df = pd.concat(frames, ignore_index=True)
    first = ["run", *CONFIG_COLUMNS, "status"]
    return df[first + [c for c in df.columns if c not in first]]


def last_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The last logged row of each run of a ``collect`` table (one row per run, in first-seen run order)."""
    return table.sort_values("step").groupby("run", sort=False).tail(1).reset_index(drop=True)


def best_runs(final: pd.DataFrame, metric: str, by=("method", "loss")) -> pd.DataFrame:
    """Each ``by`` group (a method) at its best setting: the setting with the highest ``metric`` (an IS
    column) averaged over seeds, diverged runs (no value) left out. One row per group: ``setting``,
    the seed-mean of every metric column, its standard deviation across seeds as ``sd_<column>`` (NaN
    for one seed), ``seeds`` and ``run`` (the lowest seed's run at that setting).
    """
    by = list(by)
    metrics = [c for c in final.columns if c.startswith(("IS_", "FID_"))]
    ok = final.dropna(subset=[metric])
    groups = ok.groupby(by + ["setting"])
    means = groups[metrics].mean().join(groups[metrics].std().add_prefix("sd_")).join(groups.size().rename("seeds"))
    best = means.reset_index().sort_values(metric).groupby(by).tail(1)
    first = ok.sort_values("seed").groupby(by + ["setting"])["run"].first().rename("run")
    return best.join(first, on=by + ["setting"]).set_index(by)


def table2_comparison(final: pd.DataFrame, real: dict, is_col: str, fid_col: str) -> pd.DataFrame:
    """Table 2 with our numbers beside the paper's: one row per paper row.

    ``final``: one row per run (arch [default "standard"], method, loss, setting, seed, metric columns),
    the best setting by IS chosen per architecture, method and loss; ``real``: the real-data row's
    metrics. ``our seeds`` counts the runs behind a row and the ``sd`` columns are the std across them
    (the paper's ResNet ± is across seeds too). Rows we did not run (2× updates) keep the paper's
    numbers and empty cells for ours.
    """
    from snlab.paper import table2

    paper = table2().pivot_table(index="row", columns="dataset", values=["IS", "FID"], sort=False)
    best = best_runs(final.assign(arch=final.get("arch", "standard")), is_col, by=("arch", "method", "loss"))
    rows = []
    for (row, method, loss, arch, iterations), _ in table2().groupby(
            ["row", "method", "loss", "arch", "iterations"], dropna=False, sort=False):
        ours = dict.fromkeys(["our setting", "our seeds", f"our {is_col}", f"our {is_col} sd", f"our {fid_col}",
                              f"our {fid_col} sd"])
        if method is None or pd.isna(method):
            ours.update({f"our {is_col}": real.get(is_col), f"our {fid_col}": real.get(fid_col)})
        elif iterations == 100_000 and (arch, method, loss) in best.index:
            run = best.loc[(arch, method, loss)]
            ours.update({"our setting": run["setting"], "our seeds": run["seeds"]})
            for c in (is_col, fid_col):
                ours.update({f"our {c}": run[c], f"our {c} sd": run[f"sd_{c}"]})
        rows.append({"row": row, **ours,
                     **{f"paper {m} {d}": paper.loc[row].get((m, d))
                        for m in ("IS", "FID") for d in ("cifar10", "stl10")}})
    table = pd.DataFrame(rows).set_index("row")
    table["our seeds"] = [None if pd.isna(v) else int(v) for v in table["our seeds"]]  # printed 3, not 3.0
    return table
