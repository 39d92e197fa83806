"""Your own images: ``dataset="folder:PATH"`` for training, and a folder of image files to score."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from snlab.data import FOLDER_PREFIX, DatasetInfo, ImageData

#: Your own images are trained at this resolution (the paper's CIFAR-10 size), RGB.
FOLDER_RESOLUTION = 32


def folder_info(name: str) -> DatasetInfo:
    """``folder:PATH``'s facts: images in PATH, or in class subfolders of PATH (then conditional runs may use
    them), at ``FOLDER_RESOLUTION`` RGB; its only split, "train", is also what FID is taken against."""
    classes, files = _folder_files(name)
    return DatasetInfo(name, FOLDER_RESOLUTION, 3, len(classes), ("train",), len(files))


#: Image files ``load_image_folder`` reads.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def load_image_folder(folder: str | os.PathLike) -> ImageData:
    """Every image file directly in ``folder`` (sorted by name) as ``ImageData`` uint8 (N, C, H, W): grey
    images as C = 1, others as RGB. All must share one size; an empty folder, an unreadable file or a
    second size raises ValueError naming it. For scoring a folder (``evaluate``), not for training."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
    arrays = []
    for path in files:
        arrays.append(_read_image(path))
        if arrays[-1].shape != arrays[0].shape:
            raise ValueError(f"{path} is {arrays[-1].shape[:2]} pixels, but {files[0].name} is {arrays[0].shape[:2]}: "
                             "the images of a folder must share one size")
    images = torch.from_numpy(np.stack(arrays))
    images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
    return ImageData(f"folder:{folder}", images.contiguous(), torch.zeros(len(files), dtype=torch.long), 0, "images")


def _folder_files(name: str) -> tuple[list[str], list[tuple[Path, int]]]:
    """``folder:PATH``'s classes (its visible subfolders, sorted; none: one unlabelled set) and its image files
    with their labels: with classes, each file under a class subfolder (at any depth) is labelled by it and
    files directly in PATH are left out; without, the files directly in PATH."""
    folder = Path(name.removeprefix(FOLDER_PREFIX)).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"dataset {name!r}: no folder {folder}")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = (sorted(p for c in classes for p in (folder / c).rglob("*")) if classes else sorted(folder.iterdir()))
    visible = [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES
               and not any(part.startswith(".") for part in p.relative_to(folder).parts)]
    files = [(p, classes.index(p.relative_to(folder).parts[0]) if classes else 0) for p in visible]
    return classes, files


def _read_image(path: Path, mode: str | None = None) -> np.ndarray:
    """An image file as uint8 (H, W[, C]): ``mode`` "RGB" or "L", or (None) grey images grey and the rest RGB;
    an unreadable file raises ValueError naming it."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return np.array(im.convert(mode or ("L" if im.mode in ("L", "1", "I;16") else "RGB")))
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read {path} as an image ({type(e).__name__}); remove or replace it") from None


def folder_dataset(name: str, info: DatasetInfo) -> ImageData:
    """``folder:PATH``'s images (``_folder_files``), decoded once: each resized (short side) and centre-cropped
    to the resolution, as the paper's ImageNet pipeline does (docs/paper.md §4), RGB. An empty folder or an
    unreadable file is refused by name."""
    from torchvision.transforms.functional import center_crop, resize

    classes, files = _folder_files(name)
    if not files:
        raise ValueError(f"dataset {name!r}: no image files ({', '.join(IMAGE_SUFFIXES)}) in it"
                         + (" or its class subfolders" if classes else ""))
    side, images = info.resolution, []
    for path, _ in tqdm(files, desc=f"decoding {name}", unit="img", leave=False, disable=None):
        x = torch.from_numpy(_read_image(path, "RGB")).permute(2, 0, 1)
        images.append(center_crop(resize(x, side, antialias=True), [side, side]))
    labels = torch.tensor([label for _, label in files], dtype=torch.long)
    return ImageData(name, torch.stack(images).contiguous(), labels, info.n_classes, "train")
