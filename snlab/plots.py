"""Figures from run directories and history tables. Plots never train."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch


def save(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG and PDF next to each other; returns the PNG path."""
    path = Path(path).with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    fig.savefig(path.with_suffix(".pdf"), bbox_inches="tight", metadata={"CreationDate": None})  # reproducible bytes
    return path


def save_scatter(points: torch.Tensor, path: str | Path) -> None:
    """Scatter plot of 2-D points (N, 2) to ``path``."""
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5)
    ax.set_aspect("equal")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def losses(history: pd.DataFrame, title: str = ""):
    """D and G losses against G updates."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    long = history.melt("step", ["loss_d", "loss_g"], var_name="loss", value_name="value")
    sns.lineplot(long, x="step", y="value", hue="loss", ax=ax)
    ax.set(xlabel="generator updates", ylabel="loss (mean over logging window)", title=title)
    return fig


def sigmas(history: pd.DataFrame, title: str = ""):
    """σ(W̄) of every D layer (exact, by SVD of the normalized weight) against G updates (cf. Fig 9)."""
    cols = [c for c in history.columns if c.startswith("sigma_")]
    long = history.melt("step", cols, var_name="layer", value_name="sigma")
    long["layer"] = long["layer"].str.removeprefix("sigma_")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    sns.lineplot(long, x="step", y="sigma", hue="layer", ax=ax)
    ax.set(xlabel="generator updates", ylabel="σ(W̄), exact (SVD)", title=title)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1))
    return fig


def samples(generator, n: int = 64, seed: int = 0, title: str = ""):
    """A grid of ``n`` samples from ``generator`` in eval mode, z ~ N(0, I) from ``seed``."""
    from torchvision.utils import make_grid

    from snlab.models import generate

    x = generate(generator, torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(seed)))
    grid = make_grid(x, nrow=int(n**0.5), normalize=True, value_range=(-1, 1))
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return fig


def metric_curves(history: pd.DataFrame, title: str = ""):
    """IS and FID against G updates, from the ``IS_<extractor>`` / ``FID_<extractor>`` history columns.

    Axis labels name the feature extractor, e.g. "FID (Fashion-MNIST classifier features)".
    """
    from snlab.metrics import EXTRACTOR_LABELS

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, metric in zip(axes, ("IS", "FID")):
        cols = [c for c in history.columns if c.startswith(f"{metric}_") and not c.endswith("_std")]
        if not cols:
            raise ValueError(f"history has no {metric}_* column: train with eval_every > 0")
        extractor = cols[0].removeprefix(f"{metric}_")
        rows = history.dropna(subset=[cols[0]])
        ax.plot(rows["step"], rows[cols[0]], marker="o")
        ax.set(xlabel="generator updates", ylabel=f"{metric} ({EXTRACTOR_LABELS.get(extractor, extractor)})")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def permissible_spectra(spectra: dict, title: str = "Squared singular values permitted (theory, no training)"):
    """Fig 14: sampled members of SN's (red) and WN's (blue) permitted sets of s², increasing order."""
    n = spectra["sn"].shape[1]
    idx = range(n)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(idx, 0, 1, color="tab:red", alpha=0.08, label="SN: any s² ≤ 1 with max s² = 1")
    for i, (sn, wn) in enumerate(zip(spectra["sn"], spectra["wn"])):
        ax.plot(idx, sn, color="tab:red", alpha=0.35, lw=1, label="SN samples" if i == 0 else None)
        ax.plot(idx, wn, color="tab:blue", alpha=0.6, lw=1, label="WN (÷√d_o) samples: Σ s² = 1" if i == 0 else None)
    ax.set(xlabel="index of singular value (increasing order)", ylabel="s²", ylim=(0, 1.05), title=title)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def timing_bars(df: pd.DataFrame, title: str = ""):
    """Fig 10: seconds per 100 G updates per method (bars: median over rounds; points: each round)."""
    from snlab.methods import METHOD_SPECS

    d = df.assign(label=df["method"].map(lambda m: METHOD_SPECS[m].label))
    fig, ax = plt.subplots(figsize=(7, 3.8))
    sns.barplot(d, x="label", y="seconds_per_100_g_updates", estimator="median", errorbar=None, ax=ax,
                color="tab:blue", alpha=0.7)
    sns.stripplot(d, x="label", y="seconds_per_100_g_updates", color="black", size=3, ax=ax)
    ax.set(xlabel="", ylabel=f"seconds per 100 G updates (n_dis = {d['n_dis'].iloc[0]})")
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelrotation=20)
    return fig


def sigma_and_operator_norms(history: pd.DataFrame, title: str = ""):
    """Fig 9 and its complement: per D conv, σ(W̄) of the reshaped matrix (what SN normalizes; left)
    and the operator norm of the convolution at its input size (right; power iteration), against G updates."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for ax, prefix, ylabel in ((axes[0], "sigma_conv", "σ(W̄), reshaped d_out × (d_in·k·k) matrix"),
                               (axes[1], "opnorm_conv", "operator norm of the conv (power iteration)")):
        cols = [c for c in history.columns if c.startswith(prefix)]
        if not cols:
            raise ValueError(f"history has no {prefix}* columns (train with log_operator_norms=True)")
        long = history.melt("step", cols, var_name="layer", value_name="value")
        long["layer"] = long["layer"].str.replace(prefix, "conv", regex=False)
        sns.lineplot(long, x="step", y="value", hue="layer", ax=ax, legend=ax is axes[1])
        ax.set(xlabel="generator updates", ylabel=ylabel)
    sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
