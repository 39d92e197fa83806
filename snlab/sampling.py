"""Images from any checkpoint: ``snlab sample --run R --n N --out DIR``."""
from __future__ import annotations

from pathlib import Path

import torch

from snlab.files import atomic_savez


def sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0, fmt: str = "png", label: int | None = None,
           device: str = "cpu", batch_size: int = 500) -> Path:
    """Write ``n`` samples of the run's G (its last checkpoint, eval mode) to ``out``: PNG files
    ``out/sample_00000.png`` … (``fmt="png"``), or one ``out`` .npz holding ``images`` uint8 (n, C, H, W),
    ``labels`` int64 (n,) (−1 when unconditional) and ``seed`` (``fmt="npz"``). z ~ N(0, I) is drawn from
    ``seed`` as ``metrics.evaluate`` draws it, so the same seed gives the samples that were scored; a
    conditional G gets ``label`` for every sample, or classes uniform from their own stream (``seed + 1``).
    Returns the folder or file written."""
    from snlab.metrics.evaluation import _generated
    from snlab.train import load_run

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if fmt not in ("png", "npz"):
        raise ValueError(f"unknown format {fmt!r}; valid: png, npz")
    G = load_run(run_dir, device).generator
    n_classes = getattr(G, "n_classes", 0)
    if label is not None and not 0 <= label < n_classes:
        raise ValueError(f"label {label} is not a class of this generator "
                         + (f"(0 … {n_classes - 1})" if n_classes else "(it is unconditional)"))
    labels = None
    if n_classes:
        labels = (torch.full((n,), label) if label is not None else
                  torch.randint(n_classes, (n,), generator=torch.Generator().manual_seed(seed + 1)))
    images = torch.cat(list(_generated(G, n, seed, batch_size, labels)))
    out = Path(out)
    if fmt == "npz":
        return atomic_savez(out.with_suffix(".npz"), compress=True, images=images.numpy(), seed=seed,
                            labels=(labels if labels is not None else torch.full((n,), -1)).numpy())
    from PIL import Image
    out.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images.permute(0, 2, 3, 1).numpy()):  # (H, W, C); grey images as mode "L"
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(out / f"sample_{i:05d}.png")
    return out
