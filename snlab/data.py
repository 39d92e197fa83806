"""Datasets as in-memory uint8 tensors, sampled into float batches in [−1, 1].

Image datasets are read with torchvision's own dataset classes and kept whole in memory as uint8
(N, C, R, R): at these sizes random batches from one tensor are far cheaper on 2 cores than a
DataLoader. Batches are drawn with replacement from a ``torch.Generator`` whose state is saved in
checkpoints, so training resumes exactly. ImageNet (1.28M images, 49 KB each at 128 px) does not
fit in memory: its ``images`` is a ``LazyImages`` that decodes the files a batch draws.

Fashion-MNIST is found, in order, in ``data_dir``, the repository's ``data/`` (or ``$SNLAB_DATA``),
Debian's ``dataset-fashion-mnist`` package (``/usr/share/datasets/fashion-mnist``), and only then
downloaded (``download=True``). Its 28×28 images are zero-padded by 2 pixels to 32×32 (padding keeps
every pixel; resizing would blur the garments).

ImageNet (ILSVRC2012) cannot be downloaded by torchvision: it is read from ``<data_dir>/imagenet/{train,val}/
<wnid>/*.JPEG`` (ImageFolder layout), preprocessed as docs/paper.md §4 (see ``LazyImages``).
"""
from __future__ import annotations

import gzip
import json
import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from snlab import mixture
from snlab.files import atomic_write_bytes, atomic_write_text

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
    #: Images in the split training draws from (0 for point data, sampled fresh).
    train_size: int = 0

    @property
    def heldout_split(self) -> str:
        """The split FID is measured against: "test", ImageNet's "val", or a folder's own images (it has no other)."""
        return next((s for s in ("val", "test") if s in self.splits), self.splits[0])


DATASETS = {d.name: d for d in (
    DatasetInfo("fashion_mnist", 32, 1, 10, ("train", "test"), 60_000),
    DatasetInfo("cifar10", 32, 3, 10, ("train", "test"), 50_000),
    # The paper does not say which STL-10 split it trained on (docs/paper.md §4); we use the 100k unlabeled images.
    DatasetInfo("stl10", 48, 3, 10, ("unlabeled", "train", "test", "train+unlabeled"), 100_000),
    DatasetInfo("ring8", 0, 0, 0, ("train",)),
    DatasetInfo("grid25", 0, 0, 0, ("train",)),
    DatasetInfo("imagenet", 128, 3, 1000, ("train", "val"), 1_281_167),
)}
#: docs/paper.md §4: keep images with both sides ≥ 256, resize the short side to 256, centre-crop 256.
IMAGENET_SIDE = 256
IMAGENET_FETCH = (
    "snlab and torchvision cannot download ImageNet (download=True and `python -m snlab download imagenet` "
    "do not fetch it). Register at https://image-net.org, download ILSVRC2012_img_train.tar and "
    "ILSVRC2012_img_val.tar by hand, extract each class tar of the train tarball into {root}/train/<wnid>/ and "
    "the val images into {root}/val/, then sort val into <wnid>/ class folders (e.g. with valprep.sh from "
    "https://github.com/soumith/imagenetloader.torch).")


#: Class names in label order, for sample grids (others are shown by label index).
CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    "stl10": ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"),
}


#: ``dataset="folder:PATH"``: your own images (``snlab.folders``).
FOLDER_PREFIX = "folder:"


def dataset_info(name: str) -> DatasetInfo:
    """The facts of a built-in dataset, or of ``folder:PATH``: images (any size, any format PIL reads) in
    PATH, or in class subfolders of PATH (then conditional runs may use them), at 32×32 RGB."""
    if name.startswith(FOLDER_PREFIX):
        from snlab.folders import folder_info
        return folder_info(name)
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}, or folder:PATH") from None


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] → floats in [−1, 1] (x / 127.5 − 1, as chainer-gan-lib), of torch's default
    dtype: float32, unless a caller (a float64 test) sets another."""
    return images.to(torch.get_default_dtype()).div_(127.5).sub_(1.0)


def to_device(x: torch.Tensor, device: str | torch.device) -> torch.Tensor:
    """``x`` (on the CPU) moved to ``device``. To a GPU it goes through pinned memory without blocking
    the host, so the Python loop keeps queueing kernels instead of waiting for the GPU to drain."""
    device = torch.device(device)
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True)
    return x.to(device)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float images in [−1, 1] → uint8 in [0, 255], rounded as when saved to an image file."""
    return ((images + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


class LazyImages:
    """Image files that index like a uint8 (N, 3, R, R) tensor, decoded on access: ``images[i]`` is
    (3, R, R); ``images[:n]`` and ``images[idx]`` (int64 tensor or list) are (n, 3, R, R).

    Each file is preprocessed as docs/paper.md §4 for ImageNet: short side bilinearly resized to 256, centre
    crop 256×256, bilinear resize to R×R; resizes are antialiased, as PIL's bilinear downscaling is.
    """

    def __init__(self, folder: Path, paths: list[str], resolution: int):
        self.folder, self.paths, self.resolution = folder, paths, resolution  # paths relative to folder

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), 3, self.resolution, self.resolution)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key) -> torch.Tensor:
        idx = range(len(self.paths))[key] if isinstance(key, slice) else torch.as_tensor(key).tolist()
        if isinstance(idx, int):
            return self._decode(self.paths[idx])
        with ThreadPoolExecutor(os.cpu_count()) as pool:  # PIL decoding and torch resizing release the GIL
            return torch.stack(list(pool.map(self._decode, [self.paths[i] for i in idx])))

    def _decode(self, path: str) -> torch.Tensor:
        from PIL import Image
        from torchvision.transforms.v2 import functional as TF

        with Image.open(self.folder / path) as im:
            x = TF.pil_to_tensor(im.convert("RGB"))  # ImageNet holds some grey and CMYK JPEGs
        x = TF.center_crop(TF.resize(x, IMAGENET_SIDE, antialias=True), IMAGENET_SIDE)
        return TF.resize(x, [self.resolution, self.resolution], antialias=True)


@dataclass(frozen=True)
class ImageData:
    """``images`` uint8 (N, C, R, R), a tensor or (ImageNet) a ``LazyImages``; ``labels`` int64 (N,)."""

    name: str
    images: torch.Tensor | LazyImages
    labels: torch.Tensor
    n_classes: int
    split: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, n: int, generator: torch.Generator | None = None,
               device: str | torch.device = "cpu") -> torch.Tensor:
        """``n`` images drawn with replacement, float (n, C, R, R) in [−1, 1] on ``device``."""
        return self.sample_labeled(n, generator, device)[0]

    def sample_labeled(self, n: int, generator: torch.Generator | None = None,
                       device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """As ``sample`` (the same draws from ``generator``), with the images' labels: int64 (n,) on ``device``."""
        idx = torch.randint(len(self.images), (n,), generator=generator)
        return to_float(to_device(self.images[idx], device)), to_device(self.labels[idx], device)


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
    if name.startswith(FOLDER_PREFIX):
        from snlab.folders import folder_dataset
        return folder_dataset(name, info)
    if name == "fashion_mnist":
        return _fashion_mnist(root, split, download, explicit=data_dir is not None)
    if name == "cifar10":
        return _cifar10(root, split, download)
    if name == "imagenet":
        return _imagenet(root, split)
    return _stl10(root, split, download)


def _missing(what: str, paths: list[Path], fetch: str) -> FileNotFoundError:
    listed = "\n  ".join(str(p) for p in paths)
    return FileNotFoundError(f"{what} not found. Looked for:\n  {listed}\nTo get it: {fetch}")


#: How to get good Fashion-MNIST files, for the errors that find bad ones.
FASHION_MNIST_FETCH = ("`apt-get install --reinstall dataset-fashion-mnist` (Debian/Ubuntu), or "
                       "`python -m snlab download fashion_mnist` (needs internet)")


def _check_idx(path: Path) -> None:
    """An IDX file (0x00 0x00 0x08 NDIM, NDIM big-endian uint32 sizes, then the uint8 data) must be exactly
    as long as its header says: a truncated or foreign copy is refused by name, never half-loaded."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        ndim = head[3] if len(head) == 4 and head[:3] == b"\x00\x00\x08" else None
        dims = struct.unpack(f">{ndim}I", f.read(4 * ndim)) if ndim else ()
    expected = 4 + 4 * ndim + math.prod(dims) if ndim and len(dims) == ndim else None
    if expected != size:
        raise ValueError(f"{path} is corrupt or truncated ({size} bytes; its IDX header "
                         + (f"says {expected})" if expected else "is not valid)")
                         + f": delete it, and get good files with {FASHION_MNIST_FETCH}.")


def _fashion_mnist(root: Path, split: str, download: bool, explicit: bool) -> ImageData:
    from torchvision.datasets import FashionMNIST

    raw = root / "FashionMNIST" / "raw"
    if not all((raw / f).exists() for f in FASHION_MNIST_FILES):
        # Gzipped IDX files as Debian ships them, in data_dir itself or the Debian location.
        sources = [root, root / "fashion-mnist"] + ([] if explicit else [REPO_DATA, DEBIAN_FASHION_MNIST])
        source = next((s for s in sources if all((s / f"{f}.gz").exists() for f in FASHION_MNIST_FILES)), None)
        if source is not None:
            for f in FASHION_MNIST_FILES:  # decompress to a temporary name, then rename: a kill leaves no half file
                try:
                    data = gzip.decompress((source / f"{f}.gz").read_bytes())
                except (EOFError, OSError) as e:  # gzip.BadGzipFile is an OSError
                    raise ValueError(f"{source / f}.gz is corrupt or truncated ({type(e).__name__}: {e}); get a good "
                                     f"copy with {FASHION_MNIST_FETCH}.") from None
                atomic_write_bytes(data, raw / f)
        elif not download:
            raise _missing("Fashion-MNIST", [raw / f for f in FASHION_MNIST_FILES]
                           + [s / f"{FASHION_MNIST_FILES[0]}.gz" for s in sources],
                           "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
                           f"`python -m snlab download fashion_mnist --data-dir {root}` (needs internet).")
    for f in FASHION_MNIST_FILES:
        if (raw / f).exists():
            _check_idx(raw / f)
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
    # 96 → 48 as the paper (docs/paper.md §4): area averaging of 2×2 blocks, in chunks to bound memory.
    small = torch.cat([F.interpolate(c.float(), size=48, mode="area").round_().to(torch.uint8)
                       for c in images.split(10_000)])
    return ImageData("stl10", small, torch.from_numpy(ds.labels).long(), 10, split)


def _imagenet(root: Path, split: str) -> ImageData:
    """ImageNet from ``root/imagenet/<split>/<wnid>/*`` (val sorted into class folders, e.g. by valprep.sh),
    labels in sorted-wnid order as ``ImageFolder``. The size filter reads every header once (PIL reads
    sizes without decoding) and is cached in ``root/imagenet/index-<split>.json``; delete it to rescan."""
    folder = root / "imagenet" / split
    if not folder.is_dir() or not any(folder.iterdir()):
        raise _missing(f"ImageNet {split} split", [folder / "<wnid>" / "*.JPEG"],
                       IMAGENET_FETCH.format(root=folder.parent))
    cache = folder.parent / f"index-{split}.json"
    if cache.exists():
        index = json.loads(cache.read_text())
    else:
        index = _index_image_folder(folder)
        atomic_write_text(json.dumps(index), cache)
    info = DATASETS["imagenet"]
    # A fixed shuffle: the index is in class order, so the first n images (an FID reference, the real-data
    # row) would otherwise cover only the first classes.
    order = torch.randperm(len(index["paths"]), generator=torch.Generator().manual_seed(0)).tolist()
    images = LazyImages(folder, [index["paths"][i] for i in order], info.resolution)
    labels = torch.tensor(index["labels"], dtype=torch.long)[order]
    return ImageData("imagenet", images, labels, info.n_classes, split)


def _index_image_folder(folder: Path) -> dict:
    """The images of an ImageFolder tree with both sides ≥ 256 (docs/paper.md §4): ``{"classes": sorted wnids,
    "paths": relative to folder, "labels": class indices}``. Classes are the training split's when it
    is there, so a val tree lacking a class does not shift the labels of the others."""
    from PIL import Image
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    train = folder.parent / "train"
    classes, class_to_idx = find_classes(train if train.is_dir() else folder)
    index = {"classes": classes, "paths": [], "labels": []}
    files = make_dataset(folder, class_to_idx, IMG_EXTENSIONS, allow_empty=True)
    for path, label in tqdm(files, desc=f"indexing {folder}",
                            unit="img", mininterval=5.0):
        with Image.open(path) as im:
            if min(im.size) >= IMAGENET_SIDE:
                index["paths"].append(Path(path).relative_to(folder).as_posix())
                index["labels"].append(label)
    return index


def download(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Make ``name`` available under ``data_dir`` (default: ``data/``), fetching with torchvision only
    what the search order (module docstring) does not already find."""
    info = dataset_info(name)
    for split in info.splits[:2] if info.channels else ():
        load_dataset(name, split, data_dir, download=True)
    return Path(data_dir) if data_dir is not None else default_data_dir()
