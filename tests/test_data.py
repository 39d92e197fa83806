"""Dataset loaders on the real Debian files when present, and on small files in the real formats."""
from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import datasets
from torchvision.transforms.v2 import functional as TF

import snlab
from snlab import data, mixture
from tests.conftest import write_fashion_mnist


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists(), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "REPO_DATA", tmp_path / "empty")  # force the Debian location
    train = data.load_dataset("fashion_mnist", data_dir=None)
    test = data.load_dataset("fashion_mnist", "test")
    assert len(train) == 60_000 and len(test) == 10_000
    assert train.shape == (1, 32, 32) and train.images.dtype == torch.uint8
    assert train.images[:, :, :2].max() == 0 and train.images[:, :, :, -2:].max() == 0  # padded border
    assert torch.bincount(train.labels).tolist() == [6000] * 10


@pytest.mark.skipif(not data.DEBIAN_FASHION_MNIST.exists(), reason="dataset-fashion-mnist is not installed")
def test_download_uses_the_debian_files_before_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "REPO_DATA", tmp_path)
    monkeypatch.delenv("SNLAB_DATA", raising=False)
    monkeypatch.setattr(datasets.mnist, "download_and_extract_archive", lambda *a, **k: pytest.fail("downloaded"))
    assert data.download("fashion_mnist") == tmp_path
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").stat().st_size == 47_040_016


def test_fashion_mnist_from_gz_fixture(tmp_path):
    write_fashion_mnist(tmp_path, n_train=10, n_test=4)
    ds = data.load_dataset("fashion_mnist", "test", data_dir=tmp_path)
    assert ds.images.shape == (4, 1, 32, 32)
    assert (tmp_path / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").exists()  # extracted for torchvision


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as e:
        data.load_dataset("fashion_mnist", data_dir=tmp_path)
    assert str(tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte") in str(e.value)


def test_batches_are_in_range_and_reproducible(fmnist_dir):
    ds = data.load_dataset("fashion_mnist", data_dir=fmnist_dir)
    a = ds.sample(16, torch.Generator().manual_seed(3))
    b = ds.sample(16, torch.Generator().manual_seed(3))
    assert a.shape == (16, 1, 32, 32) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1 and torch.equal(a, b)


def _write_cifar(root, n=6):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, n))}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return batch


def test_cifar10_loads_the_python_pickle_format(tmp_path, monkeypatch):
    last = _write_cifar(tmp_path)
    # Our fixture cannot match torchvision's MD5 list for the real archive; everything else is real.
    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(datasets.CIFAR10, "_load_meta", lambda self: None)
    train = data.load_dataset("cifar10", data_dir=tmp_path)
    test = data.load_dataset("cifar10", "test", data_dir=tmp_path)
    assert train.images.shape == (30, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    # The pickle stores each image as 1024 R, then G, then B values, row-major.
    assert torch.equal(test.images[2], torch.from_numpy(last["data"][2].reshape(3, 32, 32)))


def test_stl10_binary_is_read_and_resized_to_48(tmp_path, monkeypatch):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    x = np.random.default_rng(0).integers(0, 256, (4, 3, 96, 96), dtype=np.uint8)
    x[:, :, :, :48] = 200  # left half of every image (STL stores columns first)
    x.transpose(0, 1, 3, 2).tofile(folder / "unlabeled_X.bin")
    monkeypatch.setattr(datasets.STL10, "_check_integrity", lambda self: True)
    ds = data.load_dataset("stl10", data_dir=tmp_path)
    assert ds.images.shape == (4, 3, 48, 48)
    assert (ds.images[:, :, :, :24] == 200).all()


@pytest.mark.parametrize("name,missing,command", [
    ("cifar10", "cifar-10-batches-py/data_batch_1", "python -m snlab download cifar10"),
    ("stl10", "stl10_binary/unlabeled_X.bin", "python -m snlab download stl10"),
])
def test_missing_cifar_stl_name_file_and_command(tmp_path, name, missing, command):
    with pytest.raises(FileNotFoundError) as e:
        data.load_dataset(name, data_dir=tmp_path)
    assert str(tmp_path / missing) in str(e.value) and command in str(e.value)


# (w, h) of each file, written in unsorted class order; the "small" ones have a side < 256 and are dropped.
IMAGENET_FILES = {"n03/a.JPEG": (300, 280), "n03/small.JPEG": (200, 200), "n01/wide.png": (512, 300),
                  "n01/small.JPEG": (255, 400), "n02/tall.JPEG": (256, 400), "n02/b.png": (260, 256)}
IMAGENET_KEPT = ["n01/wide.png", "n02/b.png", "n02/tall.JPEG", "n03/a.JPEG"]  # ImageFolder order


@pytest.fixture
def imagenet_dir(tmp_path):
    rng = np.random.default_rng(0)
    for rel, (w, h) in IMAGENET_FILES.items():
        path = tmp_path / "imagenet" / "train" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, "PNG" if rel.endswith("png") else "JPEG")
    return tmp_path


def test_imagenet_folder_is_filtered_labeled_and_indexed_once(imagenet_dir, monkeypatch):
    ds = data.load_dataset("imagenet", data_dir=imagenet_dir)
    assert len(ds) == 4 and ds.shape == (3, 128, 128) and ds.n_classes == 1000 and ds.split == "train"
    assert ds.labels.dtype == torch.long
    # Sorted wnids n01, n02, n03 → labels 0, 1, 2; the dataset's order is a fixed shuffle of the index's.
    assert sorted(zip(ds.images.paths, ds.labels.tolist())) == list(zip(IMAGENET_KEPT, [0, 1, 1, 2]))
    index = json.loads((imagenet_dir / "imagenet" / "index-train.json").read_text())
    assert index == {"classes": ["n01", "n02", "n03"], "paths": IMAGENET_KEPT, "labels": [0, 1, 1, 2]}
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("rescanned the image headers"))
    again = data.load_dataset("imagenet", data_dir=imagenet_dir)
    assert again.images.paths == ds.images.paths and torch.equal(again.labels, ds.labels)


def test_imagenet_preprocessing_matches_torchvision_by_hand(imagenet_dir):
    ds = data.load_dataset("imagenet", data_dir=imagenet_dir)
    # wide.png is 512×300: short side 300 → 256 makes it 436 wide; the centre 256 columns start at 90.
    x = torch.from_numpy(np.array(Image.open(imagenet_dir / "imagenet/train/n01/wide.png"))).permute(2, 0, 1)
    crop = TF.resize(x, [256, 436], antialias=True)[:, :, 90:346]
    assert torch.equal(ds.images[ds.images.paths.index("n01/wide.png")], TF.resize(crop, [128, 128], antialias=True))
    batch = ds.images[:2]
    assert batch.shape == (2, 3, 128, 128) and batch.dtype == torch.uint8 and len(ds.images) == 4
    assert torch.equal(ds.images[torch.tensor([3, 0])], torch.stack([ds.images[3], batch[0]]))


def test_imagenet_batches_draw_once_and_match_labels(imagenet_dir):
    ds = data.load_dataset("imagenet", data_dir=imagenet_dir)
    x = ds.sample(6, torch.Generator().manual_seed(1))
    xl, y = ds.sample_labeled(6, torch.Generator().manual_seed(1))
    idx = torch.randint(4, (6,), generator=torch.Generator().manual_seed(1))
    assert x.shape == (6, 3, 128, 128) and x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, xl) and torch.equal(x, data.to_float(ds.images[idx])) and torch.equal(y, ds.labels[idx])


@pytest.mark.parametrize("split,make_empty", [("train", False), ("train", True), ("val", False)])
def test_missing_imagenet_names_the_folder_and_how_to_get_it(tmp_path, imagenet_dir, split, make_empty):
    root = tmp_path if split == "val" else tmp_path / "other"
    if make_empty:
        (root / "imagenet" / split).mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as e:
        data.load_dataset("imagenet", split, data_dir=root)
    assert str(root / "imagenet" / split / "<wnid>") in str(e.value) and "https://image-net.org" in str(e.value)


def test_imagenet_cannot_be_downloaded(tmp_path):
    for fetch in (lambda: data.load_dataset("imagenet", data_dir=tmp_path, download=True),
                  lambda: data.download("imagenet", tmp_path)):
        with pytest.raises(FileNotFoundError, match="torchvision cannot download ImageNet"):
            fetch()


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="valid: fashion_mnist, cifar10, stl10, ring8, grid25, imagenet"):
        data.load_dataset("mnist")
    with pytest.raises(ValueError, match="valid: train, test"):
        data.load_dataset("cifar10", "unlabeled")


@pytest.mark.parametrize("make,k", [(mixture.ring8, 8), (mixture.grid25, 25)])
def test_mixture_coverage(make, k):
    mix = make()
    full = mixture.mode_coverage(mix.sample(5000, torch.Generator().manual_seed(0)), mix)
    assert full["modes_covered"] == k and full["high_quality"] > 0.98
    collapsed = mix.means[:1] + mix.std * torch.randn(500, 2)
    assert mixture.mode_coverage(collapsed, mix)["modes_covered"] == 1


def test_ring8_geometry():
    means = mixture.ring8().means
    torch.testing.assert_close(means.norm(dim=1), torch.full((8,), 2.0))


def test_imagenet_val_labels_follow_the_training_classes(imagenet_dir):
    """A val tree lacking class n02 keeps n03 at label 2, as in train."""
    val = imagenet_dir / "imagenet" / "val" / "n03"
    val.mkdir(parents=True)
    Image.fromarray(np.zeros((256, 256, 3), np.uint8)).save(val / "v.JPEG")
    ds = data.load_dataset("imagenet", "val", data_dir=imagenet_dir)
    assert ds.labels.tolist() == [2] and data.dataset_info("imagenet").heldout_split == "val"


def test_an_imagenet_run_trains_on_labeled_batches(imagenet_dir, tmp_path):
    r = snlab.train(snlab.TrainConfig(dataset="imagenet", preset="smoke", arch="resnet", setting="resnet", loss="hinge",
                                      conditional="projection", width=1 / 16, iterations=1, batch_size=4,
                                      data_dir=str(imagenet_dir), out_dir=str(tmp_path / "run"), progress=False))
    assert r.status == "complete" and r.generator.n_classes == 1000


def _write_images(folder, sizes, mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        channels = 3 if mode == "RGB" else 1
        Image.fromarray(rng.integers(0, 256, (h, w, channels), dtype=np.uint8).squeeze(), mode).save(
            folder / f"{i}.png")


def test_your_own_image_folder_is_a_dataset(tmp_path):
    """folder:PATH: images of any size resized (short side) and centre-cropped to 32×32 RGB, as the
    ImageNet pipeline; class subfolders give labels; a run trains on it and lands under a readable name."""
    from torchvision.transforms.functional import center_crop, resize

    _write_images(tmp_path / "flat", [(64, 48), (40, 40), (33, 90)])
    _write_images(tmp_path / "flat", [(50, 50)], mode="L")  # overwrites 0.png with a grey image
    info = snlab.data.dataset_info(f"folder:{tmp_path / 'flat'}")
    assert (info.resolution, info.channels, info.n_classes, info.splits) == (32, 3, 0, ("train",))
    data = snlab.data.load_dataset(f"folder:{tmp_path / 'flat'}")
    assert data.images.shape == (3, 3, 32, 32) and data.images.dtype == torch.uint8
    x = torch.from_numpy(np.array(Image.open(tmp_path / "flat" / "1.png"))).permute(2, 0, 1)
    assert torch.equal(data.images[1], center_crop(resize(x, 32, antialias=True), [32, 32]))
    for c, name in enumerate(("cats", "dogs")):
        _write_images(tmp_path / "classes" / name, [(32, 32)] * (c + 2))
    labelled = snlab.data.load_dataset(f"folder:{tmp_path / 'classes'}")
    assert labelled.n_classes == 2 and labelled.labels.tolist() == [0, 0, 1, 1, 1]
    cfg = snlab.TrainConfig(preset="smoke", dataset=f"folder:{tmp_path / 'flat'}", eval_every=0, progress=False)
    from snlab.store import default_run_dir
    assert default_run_dir(cfg, tmp_path / "runs").name.startswith("folder-flat-sn-C-s0-i4-")
    run = snlab.train(dataclasses.replace(cfg, out_dir=str(default_run_dir(cfg, tmp_path / "runs"))))
    assert run.status == "complete"


def test_a_bad_image_folder_is_refused_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        snlab.TrainConfig(dataset=f"folder:{tmp_path / 'absent'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        snlab.data.load_dataset(f"folder:{tmp_path / 'empty'}")
    _write_images(tmp_path / "broken", [(32, 32)])
    (tmp_path / "broken" / "x.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match=f"cannot read {tmp_path / 'broken' / 'x.png'}"):
        snlab.data.load_dataset(f"folder:{tmp_path / 'broken'}")


def test_a_folder_dataset_ignores_hidden_folders_and_labels_nested_files_by_class(tmp_path):
    _write_images(tmp_path / "d" / "cats" / "more", [(32, 32)])
    _write_images(tmp_path / "d" / "dogs", [(32, 32)] * 2)
    _write_images(tmp_path / "d" / ".ipynb_checkpoints", [(32, 32)] * 3)
    data = snlab.data.load_dataset(f"folder:{tmp_path / 'd'}")
    assert data.n_classes == 2 and data.labels.tolist() == [0, 1, 1]
    assert snlab.data.dataset_info(f"folder:{tmp_path / 'd'}").train_size == 3
