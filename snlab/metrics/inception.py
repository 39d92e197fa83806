"""The paper-comparable path: torch-fidelity's port of the TF Inception graph (``inception-2015-12-05``).

Weights are looked up in order: an explicit path → ``$SNLAB_INCEPTION_WEIGHTS`` → torch.hub's cache
(where torch-fidelity downloads them). They are downloaded only when asked (``download=True``);
otherwise a missing file raises an error naming the file, its hash and where to put it.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from snlab.metrics.classifier import sha256

WEIGHTS_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]  # weights-inception-2015-12-05-6726825d.pth
#: torch.hub's convention: the file name ends with the first 8 hex digits of the file's SHA-256.
SHA256_PREFIX = WEIGHTS_FILE.rsplit("-", 1)[-1].split(".")[0]
ENV_VAR = "SNLAB_INCEPTION_WEIGHTS"
FEATURES = ("logits_unbiased", "2048")


def hub_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def _candidates(path: str | Path | None) -> list[Path]:
    if path is not None:
        return [Path(path)]  # an explicit path is the only place looked at
    env = os.environ.get(ENV_VAR)
    return ([Path(env)] if env else []) + [hub_cache_path()]


def find_weights(path: str | Path | None = None) -> Path | None:
    """The first existing candidate weights file, or None."""
    return next((p for p in _candidates(path) if p.is_file()), None)


def resolve_weights(path: str | Path | None = None, download: bool = False,
                    sha256_prefix: str = SHA256_PREFIX) -> Path:
    """Path of verified Inception weights; downloads to torch.hub's cache only when ``download``."""
    found = find_weights(path)
    if found is None and download:
        found = hub_cache_path()
        found.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(found), hash_prefix=sha256_prefix)
    if found is None:
        looked = "\n  ".join(str(p) for p in _candidates(path))
        raise FileNotFoundError(
            f"Inception weights {WEIGHTS_FILE} (SHA-256 starting {sha256_prefix}) not found. Looked for:\n  {looked}\n"
            f"Download {URL_INCEPTION_V3} and put it at {hub_cache_path()}, or point ${ENV_VAR} (or the "
            "`inception_weights` argument) at it; or pass download=True (CLI: --download-weights) to fetch it.")
    actual = sha256(found)
    if not actual.startswith(sha256_prefix):
        raise ValueError(f"{found} has SHA-256 {actual}, expected one starting {sha256_prefix} ({WEIGHTS_FILE}): "
                         "the file is corrupted or is not the TF-ported Inception; delete it and fetch it again.")
    return found


def load_inception(path: str | Path | None = None, download: bool = False,
                   sha256_prefix: str = SHA256_PREFIX) -> FeatureExtractorInceptionV3:
    """torch-fidelity's InceptionV3 extractor giving 1008 unbiased logits (IS) and 2048-d pool features (FID)."""
    weights = resolve_weights(path, download, sha256_prefix)
    net = FeatureExtractorInceptionV3("inception-v3-compat", list(FEATURES), feature_extractor_weights_path=str(weights))
    net.weights_sha256 = sha256(weights)
    return net
