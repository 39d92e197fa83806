"""The paper's tables with our numbers beside its own: Table 2 (each method at its best setting), Table 7
(reparametrizations inside WGAN-GP) and Table 8 (the same inside AC-WGAN-GP, with labels). Our columns are seed
means with the seed standard deviation; the paper's come from ``snlab.paper``, with its ± as a column of their own
(an IS std over 10 sets of 5,000 samples of one model; a ResNet FID's across seeds). A column ``X`` beside
an ``X sd`` is printed "mean ± sd" (``to_markdown``)."""
from __future__ import annotations

import numbers

import pandas as pd

from snlab import paper, results


def best_runs(final: pd.DataFrame, metric: str, by=("method", "loss")) -> pd.DataFrame:
    """Each ``by`` group (a method) at its best setting: the setting with the highest ``metric`` (an IS
    column) averaged over seeds, a diverged run counting as IS 1 (the floor), so that a setting where
    seeds diverged cannot win on its survivors alone. One row per group: ``setting``, the mean of every
    metric column over that setting's evaluated runs, its standard deviation across them as
    ``sd_<column>`` (NaN for one), ``seeds`` (evaluated runs), ``diverged`` and ``run`` (the lowest
    seed's evaluated run at that setting). Only settings with an evaluated run are chosen; a group with
    none has no row.
    """
    by, keys = list(by), [*by, "setting"]
    metrics = [c for c in final.columns if c.startswith(("IS_", "FID_"))]
    gone = results.diverged(final, metric)
    ok = final[~gone].dropna(subset=[metric])
    groups = ok.groupby(keys)
    means = groups[metrics].mean().join(groups[metrics].std().add_prefix("sd_")).join(groups.size().rename("seeds"))
    means = means.join(final[gone].groupby(keys).size().rename("diverged")).fillna({"diverged": 0})
    means["diverged"] = means["diverged"].astype(int)
    scores = results.scored(final, metric, 1.0).groupby(keys)[metric].mean().reindex(means.index)  # evaluated
    choice = scores.rename("score").reset_index().sort_values("score", kind="stable").groupby(by).tail(1)[keys]
    first = ok.sort_values("seed").groupby(keys)["run"].first().rename("run")
    return choice.join(means, on=keys).join(first, on=keys).set_index(by)


def table2_comparison(final: pd.DataFrame, real: dict, is_col: str, fid_col: str) -> pd.DataFrame:
    """Table 2 with our numbers beside the paper's: one row per paper row.

    ``final``: one row per run (arch [default "standard"], method, loss, setting, seed, metric columns),
    the best setting by IS chosen per architecture, method and loss; ``real``: the real-data row's
    metrics. ``our seeds`` counts the evaluated runs behind a row and the ``sd`` columns are the std
    across them (the paper's ResNet ± is across seeds too); ``our diverged`` counts the row's diverged
    runs at that setting, left out of its means (a method every run of which diverged: all of them, with
    no setting, 0 seeds and empty means). Rows we did not run (2× updates) keep the paper's numbers and
    empty cells for ours.
    """
    theirs = paper.table2().pivot_table(index="row", columns="dataset", values=["IS", "IS_std", "FID", "FID_std"],
                                        sort=False)
    final = final.assign(arch=final.get("arch", "standard"))
    best = best_runs(final, is_col, by=("arch", "method", "loss"))
    every_run_diverged = final[results.diverged(final, is_col)].groupby(["arch", "method", "loss"]).size().drop(
        best.index, errors="ignore")
    rows = []
    for (row, method, loss, arch, iterations), _ in paper.table2().groupby(
            ["row", "method", "loss", "arch", "iterations"], dropna=False, sort=False):
        ours = dict.fromkeys(["our setting", "our seeds", "our diverged", f"our {is_col}", f"our {is_col} sd",
                              f"our {fid_col}", f"our {fid_col} sd"])
        if method is None or pd.isna(method):
            ours.update({f"our {is_col}": real.get(is_col), f"our {fid_col}": real.get(fid_col)})
        elif iterations == 100_000 and (arch, method, loss) in best.index:
            run = best.loc[(arch, method, loss)]
            ours.update({"our setting": run["setting"], "our seeds": run["seeds"], "our diverged": run["diverged"]})
            for c in (is_col, fid_col):
                ours.update({f"our {c}": run[c], f"our {c} sd": run[f"sd_{c}"]})
        elif iterations == 100_000 and (arch, method, loss) in every_run_diverged.index:
            ours.update({"our seeds": 0, "our diverged": every_run_diverged[(arch, method, loss)]})
        rows.append({"row": row, **ours,
                     **{f"paper {m} {d}{sd}": theirs.loc[row].get((m + std, d)) for m in ("IS", "FID")
                        for d in ("cifar10", "stl10") for sd, std in (("", ""), (" sd", "_std"))}})
    table = pd.DataFrame(rows).set_index("row")
    for count in ("our seeds", "our diverged"):
        table[count] = _counts(table[count])
    return table


#: App. E's runs → (table, the paper's row label), by (architecture, conditional head, method, D width
#: relative to G's). Table 8's are AC-WGAN-GP (``conditional="ac"``).
APPENDIX_E_ROWS = {
    ("standard", "", "wgan-gp", 1.0): (7, "CNN baseline"), ("standard", "", "frobenius", 1.0): (7, "+ Frobenius"),
    ("standard", "", "wn", 1.0): (7, "+ WN"), ("standard", "", "sn-gamma", 1.0): (7, "+ SN"),
    ("resnet", "", "wgan-gp", 1.0): (7, "ResNet baseline"), ("resnet", "", "sn-gamma", 1.0): (7, "ResNet + SN"),
    ("resnet", "", "sn-gamma", 1.5): (7, "ResNet + SN, D widths x1.5"),
    ("resnet", "ac", "wgan-gp", 1.0): (8, "Baseline"), ("resnet", "ac", "sn-gamma", 1.0): (8, "+ SN"),
    ("resnet", "ac", "sn-gamma", 1.5): (8, "+ SN, D widths x1.5")}
#: The paper's columns of Tables 7 and 8.
PAPER_COLUMNS = ["paper IS (CIFAR-10, Inception)", "paper IS (CIFAR-10, Inception) sd", "paper FID"]


def appendix_e_table(final: pd.DataFrame, number: int, is_col: str, fid_col: str) -> pd.DataFrame:
    """Table 7 or 8 (``number``): one row per paper row; ours (seed mean, seed sd, seed count) beside the
    paper's. ``final``: one row per run (arch, method, status, metric columns; optional conditional and
    d_width, read as "" and 1 where missing), the runs of rows of the other table ignored; a diverged run
    (``results.diverged``) is left out of the means and counted in ``our diverged``. Rows we did not run
    keep the paper's numbers only."""
    final = final.assign(conditional=final["conditional"].fillna("") if "conditional" in final else "",
                         d_width=final["d_width"].fillna(1.0) if "d_width" in final else 1.0)
    row = [APPENDIX_E_ROWS.get(key, (None, None)) for key in
           zip(final["arch"], final["conditional"], final["method"], final["d_width"])]
    final = final.assign(table=[t for t, _ in row], row=[r for _, r in row])
    final = final[final["table"] == number]
    gone = results.diverged(final, is_col)
    masked = {c: final[c].mask(gone) for c in (is_col, fid_col)}
    ours = final.assign(diverged=gone, **masked).groupby("row")
    table = pd.DataFrame({f"our {is_col}": ours[is_col].mean(), f"our {is_col} sd": ours[is_col].std(),
                          f"our {fid_col}": ours[fid_col].mean(), f"our {fid_col} sd": ours[fid_col].std(),
                          "our seeds": ours.size(), "our diverged": ours["diverged"].sum()})
    paper_table = {7: paper.TABLE7, 8: paper.TABLE8}[number]
    table = table.join(pd.DataFrame(paper_table, index=PAPER_COLUMNS).T, how="right")
    for count in ("our seeds", "our diverged"):
        table[count] = _counts(table[count])
    return table


def _counts(column: pd.Series) -> pd.Series:
    """A count column as Python ints, None where a row was not run (printed 2, not 2.0)."""
    return pd.Series([None if pd.isna(v) else int(v) for v in column], index=column.index, dtype=object)


def to_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """``table`` as a Markdown table, numbers rounded to ``digits``, each column ``X`` that has an ``X sd``
    beside it printed "mean ± sd" (the mean alone where the sd is missing: one seed, or none reported), and
    missing values left blank."""
    def cell(value, sd=None) -> str:
        if pd.isna(value):
            return ""
        if not isinstance(value, numbers.Real) or isinstance(value, (bool, numbers.Integral)):
            return str(value)
        return f"{value:.{digits}f}" + ("" if sd is None or pd.isna(sd) else f" ± {sd:.{digits}f}")
    shown = {c: [cell(v, table[f"{c} sd"].iloc[i] if f"{c} sd" in table else None) for i, v in enumerate(table[c])]
             for c in table.columns if not (c.endswith(" sd") and c[:-3] in table)}
    return pd.DataFrame(shown, index=table.index).to_markdown()
