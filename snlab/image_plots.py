"""Figures of images: a generator's samples, stored sample grids in a table (Figs 6/12), and class-conditional
grids side by side (Fig 5 / 13b). ``snlab.plots.save`` writes them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch


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


def image_table(images: dict, crop: int | None = None, title: str = ""):
    """Figs 6/12: image files in a grid; ``images`` maps (row label, column label) → PNG path (or None).

    ``crop``: keep the top-left crop × crop samples of each file, a grid as ``store.save_samples`` writes it.
    """
    import matplotlib.image as mpimg

    from snlab.store import GRID_PADDING, grid_tile

    rows = list(dict.fromkeys(r for r, _ in images))
    cols = list(dict.fromkeys(c for _, c in images))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.6 * len(cols), 1.6 * len(rows)), squeeze=False)
    for (i, r), (j, c) in ((ri, cj) for ri in enumerate(rows) for cj in enumerate(cols)):
        ax, path = axes[i][j], images.get((r, c))
        if path is not None:
            img = mpimg.imread(path)
            if crop:
                tile = grid_tile(img)
                img = img[: GRID_PADDING + crop * tile, : GRID_PADDING + crop * tile]
            ax.imshow(img, cmap="gray")
        ax.set_xticks([]), ax.set_yticks([])
        if i == 0:
            ax.set_title(c, fontsize=9)
        if j == 0:
            ax.set_ylabel(r, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def class_grids(grids: dict, class_names, title: str = ""):
    """Class-conditional sample grids side by side: ``grids`` maps a panel title (a method) → a PNG as the
    training loop writes it for conditional runs (``store.save_samples``: one class a row); rows are
    labelled with ``class_names``."""
    import matplotlib.image as mpimg

    from snlab.store import GRID_PADDING, grid_tile

    fig, axes = plt.subplots(1, len(grids), figsize=(3.2 * len(grids), 4.2), squeeze=False)
    for ax, (label, path) in zip(axes[0], grids.items()):
        img = mpimg.imread(path)
        tile = grid_tile(img)
        n_rows = (img.shape[0] - GRID_PADDING) // tile
        ax.imshow(img, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([GRID_PADDING + tile * (r + 0.5) for r in range(n_rows)], list(class_names)[:n_rows], fontsize=7)
        ax.set_title(label, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
