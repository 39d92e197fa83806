"""An offline feature extractor: a small CNN classifier trained by snlab on Fashion-MNIST.

Inception weights cannot be fetched everywhere, and Inception features of 32×32 grayscale garments
are a poor fit anyway. This classifier gives IS from its softmax and FID / KID / precision-recall
from its 128-d penultimate features. Its numbers are *not* comparable with the paper's
(``comparable_to_paper: false``) and are always named ``*_fmnist``.

Weights: ``data/fmnist_classifier.pt`` (committed), verified by SHA-256 on load. Rebuild with
``python -m snlab train-classifier``, which prints the test accuracy and the new hash.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor
from tqdm import tqdm

from snlab.data import REPO_DATA, load_dataset, to_float
from snlab.files import atomic_save

WEIGHTS = REPO_DATA / "fmnist_classifier.pt"
WEIGHTS_SHA256 = "266345eff5d80b55976bb53c9d3635f2c41ef6d390b8ac982cf9d776f6f8957e"
FEATURES = ("logits", "penultimate")


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Classifier(nn.Module):
    """Images (B, 1, 32, 32) in [−1, 1] → (logits (B, 10), penultimate features (B, 128))."""

    def __init__(self):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.features = nn.Sequential(*block(1, 16), *block(16, 16), nn.MaxPool2d(2),
                                      *block(16, 32), *block(32, 32), nn.MaxPool2d(2),
                                      *block(32, 64), nn.MaxPool2d(2), nn.Flatten(),
                                      nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 128), nn.ReLU())
        self.head = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.head(h), h


class FMNISTExtractor(FeatureExtractorBase):
    """torch-fidelity feature extractor around ``Classifier``: uint8 images (B, 1 or 3, H, W) → features.

    Three-channel input is averaged to gray; other sizes are resized bilinearly to 32×32.
    """

    NAME = "snlab-fmnist-classifier"

    def __init__(self, name: str = NAME, features_list=FEATURES, weights_path: str | Path | None = None,
                 expected_sha256: str | None = None, **kwargs):
        super().__init__(name, list(features_list))
        self.net = load_classifier(weights_path, expected_sha256)
        self.weights_sha256 = expected_sha256 or WEIGHTS_SHA256  # verified by load_classifier

    @staticmethod
    def get_provided_features_list():
        return FEATURES

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "penultimate", "kid": "penultimate", "prc": "penultimate"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 32, 32, dtype=torch.uint8)

    @torch.no_grad()
    def forward(self, x: torch.Tensor):
        x = to_float(x)
        if x.shape[1] == 3:
            x = x.mean(1, keepdim=True)
        if x.shape[-2:] != (32, 32):
            x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
        logits, feats = self.net(x)
        out = {"logits": logits, "penultimate": feats}
        return tuple(out[name] for name in self.features_list)


# Registered with torch-fidelity, so `torch_fidelity.calculate_metrics(..., feature_extractor=NAME)` works too.
if FMNISTExtractor.NAME not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(FMNISTExtractor.NAME, FMNISTExtractor)


def load_classifier(path: str | Path | None = None, expected_sha256: str | None = None) -> Classifier:
    """The trained classifier in eval mode; raises if the file is missing or its SHA-256 differs."""
    path = Path(path) if path is not None else WEIGHTS
    expected = expected_sha256 or WEIGHTS_SHA256
    if not path.exists():
        raise FileNotFoundError(f"Fashion-MNIST classifier weights not found at {path}. They are committed in "
                                "the repository (data/fmnist_classifier.pt); rebuild them with "
                                "`python -m snlab train-classifier`.")
    actual = sha256(path)
    if actual != expected:
        raise ValueError(f"{path} has SHA-256 {actual}, expected {expected}: the file is corrupted or was "
                         "replaced. Restore it from git (`git checkout data/fmnist_classifier.pt`) or rebuild it "
                         "with `python -m snlab train-classifier` and update WEIGHTS_SHA256.")
    net = Classifier()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(net: Classifier, data, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``net`` on an ``ImageData``."""
    net.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        x = to_float(data.images[start:start + batch_size])
        correct += int((net(x)[0].argmax(1) == data.labels[start:start + batch_size]).sum())
    return correct / len(data)


def train_classifier(out: str | Path = WEIGHTS, epochs: int = 4, batch_size: int = 128, seed: int = 0,
                     data_dir: str | None = None) -> dict:
    """Train on the Fashion-MNIST train split (Adam 1e-3, random horizontal flips), report test accuracy.

    Writes the state dict to ``out`` and returns ``{"test_accuracy", "sha256", "path"}``.
    """
    torch.manual_seed(seed)
    train, test = load_dataset("fashion_mnist", "train", data_dir), load_dataset("fashion_mnist", "test", data_dir)
    net = Classifier()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=epochs * (len(train) // batch_size))
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(train), generator=gen)
        for start in tqdm(range(0, len(train) - batch_size + 1, batch_size), desc=f"epoch {epoch + 1}/{epochs}"):
            idx = order[start:start + batch_size]
            x = to_float(train.images[idx])
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x[flip] = x[flip].flip(-1)
            loss = F.cross_entropy(net(x)[0], train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: test accuracy {accuracy(net, test):.4f}")
    out = Path(out)
    atomic_save(net.state_dict(), out)
    return {"test_accuracy": accuracy(net, test), "sha256": sha256(out), "path": str(out)}
