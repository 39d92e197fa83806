"""Datasets as in-memory uint8 tensors, sampled into float batches in [−1, 1].

Image datasets are read with torchvision's own dataset classes and kept whole in memory as uint8
(N, C, R, R): at these sizes random batches from one tensor are far cheaper on 2 cores than a
DataLoader. Batches are drawn with replacement from a ``torch.Generator`` whose state is saved in
checkpoints, so training resumes exactly.

Fashion-MNIST is found, in order, in ``data_dir``, the repository's ``data/`` (or ``$SNLAB_DATA``),
Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``), and only then
downloaded (``download=True``). Its 28×28 images are zero-padded by 2 pixels to 32×32 (padding keeps
every pixel; resizing would blur the garments).
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from snlab import mixture

REPO_DATA = Path(__file__).resolve().parent.parent / "data"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about a dataset: image resolution and channels (0 for point data), classes."""

    name: str
    resolution: int
    channels: int
    n_classes: int
    splits: tuple[str, ...]


DATASETS = {d.name: d for d in (
    DatasetInfo("fashion_mnist", 32, 1, 10, ("train", "test")),
    DatasetInfo("cifar10", 32, 3, 10, ("train", "test")),
    # The paper does not say which STL-10 split it trained on (SPEC §4); we use the 100k unlabeled images.
    DatasetInfo("stl10", 48, 3, 10, ("unlabeled", "train", "test", "train+unlabeled")),
    DatasetInfo("ring8", 0, 0, 0, ("train",)),
    DatasetInfo("grid25", 0, 0, 0, ("train",)),
)}


def dataset_info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}") from None


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] → float32 in [−1, 1] (x / 127.5 − 1, as chainer-gan-lib)."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [−1, 1] → uint8 in [0, 255], rounded as when saved to an image file."""
    return ((images + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


@dataclass(frozen=True)
class ImageData:
    """``images`` uint8 (N, C, R, R); ``labels`` int64 (N,)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    n_classes: int
    split: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, n: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu") -> torch.Tensor:
        """``n`` images drawn with replacement, float (n, C, R, R) in [−1, 1] on ``device``."""
        idx = torch.randint(len(self.images), (n,), generator=generator)
        return to_float(self.images[idx].to(device, non_blocking=True))


def default_data_dir() -> Path:
    return Path(os.environ.get("SNLAB_DATA", REPO_DATA))


def load_dataset(name: str, split: str | None = None, data_dir: str | os.PathLike | None = None,
                 download: bool = False):
    """The dataset ``name`` as ``ImageData`` (or a ``mixture.Mixture`` for 2-D point data).

    ``split`` defaults to the training split. Missing files raise ``FileNotFoundError`` naming
    the files and how to get them.
    """
    info = dataset_info(name)
    split = split or info.splits[0]
    if split not in info.splits:
        raise ValueError(f"unknown split {split!r} for {name}; valid: {', '.join(info.splits)}")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if name in ("ring8", "grid25"):
        return getattr(mixture, name)()
    if name == "fashion_mnist":
        return _fashion_mnist(root, split, download, explicit=data_dir is not None)
    if name == "cifar10":
        return _cifar10(root, split, download)
    return _stl10(root, split, download)


def _missing(what: str, paths: list[Path], fetch: str) -> FileNotFoundError:
    listed = "\n  ".join(str(p) for p in paths)
    return FileNotFoundError(f"{what} not found. Looked for:\n  {listed}\nTo get it: {fetch}")


def _fashion_mnist(root: Path, split: str, download: bool, explicit: bool) -> ImageData:
    from torchvision.datasets import FashionMNIST

    raw = root / "FashionMNIST" / "raw"
    if not all((raw / f).exists() for f in FASHION_MNIST_FILES):
        # Gzipped IDX files as Debian ships them, in data_dir itself or the Debian location.
        sources = [root, root / "fashion-mnist"] + ([] if explicit else [REPO_DATA, DEBIAN_FASHION_MNIST])
        source = next((s for s in sources if all((s / f"{f}.gz").exists() for f in FASHION_MNIST_FILES)), None)
        if source is not None:
            raw.mkdir(parents=True, exist_ok=True)
            for f in FASHION_MNIST_FILES:  # decompress to a temporary name, then rename: a kill leaves no half file
                (raw / f"{f}.tmp").write_bytes(gzip.decompress((source / f"{f}.gz").read_bytes()))
                os.replace(raw / f"{f}.tmp", raw / f)
        elif not download:
            raise _missing("Fashion-MNIST", [raw / f for f in FASHION_MNIST_FILES]
                           + [s / f"{FASHION_MNIST_FILES[0]}.gz" for s in sources],
                           "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
                           f"`python -m snlab download fashion_mnist --data-dir {root}` (needs internet).")
    ds = FashionMNIST(str(root), train=split == "train", download=download)
    images = F.pad(ds.data, (2, 2, 2, 2)).unsqueeze(1)  # (N, 1, 32, 32), black border
    return ImageData("fashion_mnist", images.contiguous(), ds.targets.long(), 10, split)


def _cifar10(root: Path, split: str, download: bool) -> ImageData:
    from torchvision.datasets import CIFAR10

    folder = root / "cifar-10-batches-py"
    files = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch", folder / "batches.meta"]
    if not download and not all(f.exists() for f in files):
        raise _missing("CIFAR-10", [f for f in files if not f.exists()],
                       f"`python -m snlab download cifar10 --data-dir {root}` (needs internet), or extract "
                       f"cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into {root}.")
    ds = CIFAR10(str(root), train=split == "train", download=download)
    images = torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    return ImageData("cifar10", images, torch.tensor(ds.targets, dtype=torch.long), 10, split)


def _stl10(root: Path, split: str, download: bool) -> ImageData:
    from torchvision.datasets import STL10

    folder = root / "stl10_binary"
    parts = split.split("+")
    files = [folder / f"{p}_X.bin" for p in parts]
    if not download and not all(f.exists() for f in files):
        raise _missing("STL-10", [f for f in files if not f.exists()],
                       f"`python -m snlab download stl10 --data-dir {root}` (needs internet, 2.6 GB), or extract "
                       f"stl10_binary.tar.gz from https://cs.stanford.edu/~acoates/stl10/ into {root}.")
    ds = STL10(str(root), split=split, download=download)
    images = torch.from_numpy(ds.data)  # (N, 3, 96, 96)
    # 96 → 48 as the paper (SPEC §4): area averaging of 2×2 blocks, in chunks to bound memory.
    small = torch.cat([F.interpolate(c.float(), size=48, mode="area").round_().to(torch.uint8)
                       for c in images.split(10_000)])
    return ImageData("stl10", small, torch.from_numpy(ds.labels).long(), 10, split)


def download(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Make ``name`` available under ``data_dir`` (default: ``data/``), fetching with torchvision only
    what the search order (module docstring) does not already find."""
    info = dataset_info(name)
    for split in info.splits[:2] if info.channels else ():
        load_dataset(name, split, data_dir, download=True)
    return Path(data_dir) if data_dir is not None else default_data_dir()
