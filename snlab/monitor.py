"""TensorBoard logging of one run (``TrainConfig.tensorboard``), under ``<run_dir>/tb``, so that
``tensorboard --logdir <store>`` shows every run of a sweep side by side. Imported only when on."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter
from torchvision.utils import make_grid

from snlab.store import GRID_PADDING, GRID_PER_ROW


def tag(column: str) -> str:
    """A history column's TensorBoard tag, grouped by its prefix: "sigma_conv0" → "sigma/sigma_conv0"."""
    return f"{column.split('_')[0]}/{column}" if "_" in column else column


class TensorBoard:
    """Writes each history row as scalars (losses, lr, σ per layer, IS/FID …) and sample grids as images."""

    def __init__(self, run_dir: str | Path):
        self.writer = SummaryWriter(str(Path(run_dir) / "tb"))

    def row(self, row: dict) -> None:
        for column, value in row.items():
            if column != "step":
                self.writer.add_scalar(tag(column), value, row["step"])

    def samples(self, images: torch.Tensor, step: int) -> None:
        """Images (B, C, H, W) in [−1, 1] as one grid, 8 per row."""
        self.writer.add_image("samples", make_grid(images, nrow=GRID_PER_ROW, padding=GRID_PADDING, normalize=True,
                                                          value_range=(-1, 1)), step)

    def hparams(self, fields: dict, final: dict) -> None:
        """The run's identity (``TrainConfig.run_fields``: numbers, text and flags) against its final row's
        losses and metrics, for TensorBoard's HParams tab, where a sweep's runs compare side by side."""
        hparams = {k: v for k, v in fields.items() if isinstance(v, (bool, int, float, str))}
        metrics = {f"final/{k}": float(v) for k, v in final.items()
                   if k.split("_")[0] in ("loss", "IS", "FID", "intraFID") and not k.endswith("_std")}
        self.writer.add_hparams(hparams, metrics, run_name=".", global_step=final.get("step"))

    def close(self) -> None:
        self.writer.close()
