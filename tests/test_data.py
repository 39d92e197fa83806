"""Dataset loaders on the real Debian files when present, and on small files in the real formats."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torchvision import datasets

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


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="valid: fashion_mnist, cifar10, stl10, ring8, grid25"):
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
