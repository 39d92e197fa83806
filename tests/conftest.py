"""Shared fixtures: small datasets written in the real on-disk formats, a run store of smoke runs, and timed run
records that give a store its training rate."""
from __future__ import annotations

import dataclasses
import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from snlab.config import TrainConfig


def write_idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, the format Fashion-MNIST ships in."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_fashion_mnist(root, n_train: int = 64, n_test: int = 16, seed: int = 0) -> None:
    """Gzipped IDX files named as Debian's dataset-fashion-mnist ships them, with random pixels."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))


@pytest.fixture(scope="session")
def fmnist_dir(tmp_path_factory):
    """A data_dir holding a tiny Fashion-MNIST in Debian's layout (64 train, 16 test images)."""
    root = tmp_path_factory.mktemp("fmnist")
    write_fashion_mnist(root)
    return root


@pytest.fixture(scope="session")
def fmnist_eval_dir(tmp_path_factory):
    """A tiny Fashion-MNIST large enough for the sweeps' end-of-run IS/FID at the smoke preset (64 samples)."""
    root = tmp_path_factory.mktemp("fmnist-eval")
    write_fashion_mnist(root, n_train=256, n_test=128)
    return root


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory, fmnist_eval_dir):
    """A run store holding the A–F grid's smoke runs of WN and SN at setting D (2 G updates each, with their
    end-of-run IS/FID), trained once per session in this process; what the comparison notebook reads."""
    from snlab import experiments, sweep

    store = tmp_path_factory.mktemp("store")
    configs = experiments.settings_grid("smoke", seeds=[0], methods=["wn", "sn"], settings=["D"],
                                        data_dir=str(fmnist_eval_dir))
    sweep.run_sweep(configs, store, workers=0, tensorboard=False)
    return store


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="session")
def _private_feature_cache(tmp_path_factory):
    """Tests never write real-image feature caches into the repository's data/ folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SNLAB_CACHE", str(tmp_path_factory.mktemp("feature-cache")))
    yield
    mp.undo()


def write_timed_run(store: Path, cfg: TrainConfig, steps: int, seconds: float, run: Path | None = None) -> None:
    """A complete run record in ``store`` (folder ``run``, default named for its method and architecture) that
    trained ``steps`` G updates in ``seconds``."""
    run = run or store / f"{cfg.method}-{cfg.arch}"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(dataclasses.asdict(cfg)))
    pd.DataFrame({"step": [steps], "loss_d": [1.0], "loss_g": [1.0], "seconds": [seconds]}).to_csv(
        run / "history.csv", index=False)
    (run / "status.json").write_text(json.dumps({"status": "complete"}))
