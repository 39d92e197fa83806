"""A store of run directories (``runs/`` by default) read back as one tidy table for plotting."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from snlab.store import run_status

#: Config fields copied onto every history row (the config's ``lr`` as ``base_lr``: history has the current lr).
#: A field a record predates reads as its ``TrainConfig`` default (``joint_d``: False).
CONFIG_COLUMNS = ("dataset", "method", "setting", "loss", "preset", "arch", "conditional", "iterations", "n_dis",
                  "base_lr", "beta1", "beta2", "batch_size", "width", "final_width", "d_width", "seed",
                  "gradient_penalty", "joint_d")


def collect(store: str | Path = "runs", runs: Collection[str] | None = None) -> pd.DataFrame:
    """One row per run × logged step: the run's name, config columns, status, then its history columns
    (step, loss_d, loss_g, seconds, lr, sigma_<layer>, IS_<extractor>, FID_<extractor> …), of every run
    in ``store`` or of the directories named in ``runs`` (so that other runs' columns stay out).

    Directories without ``config.json`` or ``history.csv`` are skipped; a run without ``status.json``
    is "partial".
    """
    from snlab.config import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    frames, runs = [], None if runs is None else set(runs)  # a set: membership by name, never by substring
    for config in sorted(Path(store).glob("*/config.json")):
        run = config.parent
        if runs is not None and run.name not in runs:
            continue
        cfg = json.loads(config.read_text())
        history = run / "history.csv"
        if not history.exists():
            continue
        cfg["base_lr"] = cfg.get("lr")
        meta = {"run": run.name, **{k: cfg.get(k, defaults.get(k)) for k in CONFIG_COLUMNS},
                "status": run_status(run)}
        frames.append(pd.read_csv(history).assign(**meta))
    if not frames:
        return pd.DataFrame(columns=["run", *CONFIG_COLUMNS, "status", "step"])
    df = pd.concat(frames, ignore_index=True)
    first = ["run", *CONFIG_COLUMNS, "status"]
    return df[first + [c for c in df.columns if c not in first]]


def last_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The last logged row of each run of a ``collect`` table (one row per run, in first-seen run order)."""
    return table.sort_values("step").groupby("run", sort=False).tail(1).reset_index(drop=True)


def first_half(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of each run of a ``collect`` table at or before half its last logged step: the runs as they
    stood one doubling earlier. Every run was still going then (a diverged run's last step is where it
    diverged), so its status reads "complete"."""
    half = table[table["step"] <= table.groupby("run")["step"].transform("max") / 2]
    return half.assign(status="complete") if "status" in half else half


def diverged(runs: pd.DataFrame, col: str) -> pd.Series:
    """Which rows of ``runs`` (one per run) diverged: status "diverged"; a frame without a status column
    (synthetic, in tests) takes a missing ``col`` for it."""
    return runs["status"].eq("diverged") if "status" in runs else runs[col].isna()


def scored(runs: pd.DataFrame, col: str, worst: float) -> pd.DataFrame:
    """``runs`` (one per run) with ``col`` of each diverged run set to ``worst``, a rule's worst outcome,
    and the runs that did not diverge but have no ``col`` (never evaluated) left out."""
    out = runs.assign(**{col: runs[col].mask(diverged(runs, col), worst)})
    return out.dropna(subset=[col])
