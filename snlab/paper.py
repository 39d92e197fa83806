"""The paper's reported numbers, as data (camera-ready Table 2 and Tables 7–8; docs/paper.md §5–6).

One source of truth: notebooks, tests and docs read these, never retype them. ``None`` marks a
cell the paper leaves empty. IS is mean ± std; ResNet FIDs carry a std across seeds, others none.
The paper's protocol (docs/paper.md §7): Inception (TF) features; IS on 10 × 5,000 samples; FID "over 10000
and 5000 samples", read (an inference) as 5,000 generated against 10,000 real images.
"""
from __future__ import annotations

import pandas as pd

#: (row label, snlab method or None, loss, architecture, IS C10, IS STL, FID C10, FID STL); IS and
#: ResNet FID as (mean, std) pairs.
_TABLE2 = (
    ("Real data", None, None, None, (11.24, .12), (26.08, .26), 7.8, 7.9),
    ("Weight clipping", "clip", "standard", "standard", (6.41, .11), (7.57, .10), 42.6, 64.2),
    ("GAN-GP", "gan-gp", "standard", "standard", (6.93, .08), None, 37.7, None),
    ("WGAN-GP", "wgan-gp", "wasserstein", "standard", (6.68, .06), (8.42, .13), 40.2, 55.1),
    ("Batch Norm.", "bn", "standard", "standard", (6.27, .10), None, 56.3, None),
    ("Layer Norm.", "ln", "standard", "standard", (7.19, .12), (7.61, .12), 33.9, 75.6),
    ("Weight Norm.", "wn", "standard", "standard", (6.84, .07), (7.16, .10), 34.7, 73.4),
    ("Orthonormal", "orthonormal", "standard", "standard", (7.40, .12), (8.56, .07), 29.0, 46.7),
    ("SN-GANs", "sn", "standard", "standard", (7.42, .08), (8.28, .09), 29.3, 53.1),
    ("Orthonormal (2x updates)", "orthonormal", "standard", "standard", None, (8.67, .08), None, 44.2),
    ("SN-GANs (2x updates)", "sn", "standard", "standard", None, (8.69, .09), None, 47.5),
    ("SN-GANs, hinge Eq.(17)", "sn", "hinge", "standard", (7.58, .12), None, 25.5, None),
    ("SN-GANs, hinge (2x updates)", "sn", "hinge", "standard", None, (8.79, .14), None, 43.2),
    ("Orthonormal, hinge", "orthonormal", "hinge", "resnet", (7.92, .04), (8.72, .06), (23.8, .58), (42.4, .99)),
    ("SN-GANs, hinge", "sn", "hinge", "resnet", (8.22, .05), (9.10, .04), (21.7, .21), (40.1, .50)),
)


def _split(value):
    """(mean, std) from a pair, a bare number (std None) or None."""
    if value is None:
        return None, None
    return value if isinstance(value, tuple) else (value, None)


def table2() -> pd.DataFrame:
    """Table 2 as a tidy frame: one row per (row, dataset) with IS, IS_std, FID, FID_std as reported.

    Columns: row, method, loss, arch, iterations (G updates: 200,000 for the "2x updates" rows, else
    100,000), dataset ("cifar10" / "stl10"), IS, IS_std, FID, FID_std.
    """
    rows = []
    for label, method, loss, arch, is_c10, is_stl, fid_c10, fid_stl in _TABLE2:
        for dataset, is_, fid in (("cifar10", is_c10, fid_c10), ("stl10", is_stl, fid_stl)):
            (is_mean, is_std), (fid_mean, fid_std) = _split(is_), _split(fid)
            if is_mean is None and fid_mean is None:
                continue
            iterations = 200_000 if "2x updates" in label else 100_000
            rows.append({"row": label, "method": method, "loss": loss, "arch": arch, "iterations": iterations,
                         "dataset": dataset,
                         "IS": is_mean, "IS_std": is_std, "FID": fid_mean, "FID_std": fid_std})
    return pd.DataFrame(rows)


#: Table 7 (App. E; reparametrizations inside WGAN-GP on CIFAR-10): variant → (IS mean, IS std, FID).
#: "+ Frobenius" collapsed in the paper (no numbers).
TABLE7 = {
    "CNN baseline": (6.68, .06, 40.1),
    "+ Frobenius": (None, None, None),
    "+ WN": (6.36, .04, 42.4),
    "+ SN": (7.20, .08, 32.0),
    "Gulrajani ResNet (reported)": (7.86, .08, None),
    "ResNet baseline": (7.80, .11, 24.5),
    "ResNet + SN": (7.85, .06, 23.6),
    "ResNet + SN, D widths x1.5": (7.96, .06, 22.5),
}

#: Table 8 (AC-WGAN-GP, ResNet, with labels): variant → (IS mean, IS std, FID).
TABLE8 = {
    "Gulrajani (reported)": (8.42, .10, None),
    "Baseline": (8.29, .12, 19.5),
    "+ SN": (8.59, .12, 18.6),
    "+ SN, D widths x1.5": (8.60, .08, 17.5),
}

#: Conditional ImageNet 128 px, SN-GAN at 450k G updates (README_paper of sngan_projection, docs/paper.md §6,
#: Figs 5/7/13):
#: D head → (IS, intra-FID), Inception features. The paper gives orthonormal only as curves (Figs 5, 13).
CONDITIONAL_IMAGENET = {"concat": (21.1, 141.2), "projection": (29.7, 103.1)}
