"""The paper-comparable path: torch-fidelity's port of the TF Inception graph (``inception-2015-12-05``).

Weights are looked up in order: an explicit path → ``$SNLAB_INCEPTION_WEIGHTS`` → torch.hub's cache
(where torch-fidelity downloads them). They are downloaded only when asked (``download=True``);
otherwise a missing file raises an error naming the file, its hash and where to put it.

Trust: a weights file is code to pickle, so it is trusted only when its bytes match the full pinned
SHA-256 (``WEIGHTS_SHA256``), and even then it is unpickled only by ``torch.load(weights_only=True)``,
which builds tensors and refuses anything else. torch-fidelity itself unpickles with
``weights_only=False``; it is handed a copy of the state dict written by us, never the found file.
"""
from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

WEIGHTS_FILE = URL_INCEPTION_V3.rsplit("/", 1)[-1]  # weights-inception-2015-12-05-6726825d.pth
#: The full SHA-256 of that file (95,628,359 bytes; its name carries the first 8 hex digits, torch.hub's
#: convention, which is no protection: a crafted file matches 8 digits in about 2³² tries).
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
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


def resolve_weights(path: str | Path | None = None, download: bool = False) -> Path:
    """Path of the Inception weights file (not yet verified: ``load_inception`` reads and checks its bytes);
    downloads to torch.hub's cache only when ``download``, checked by torch.hub against the name's prefix
    and then by ``load_inception`` against the full hash."""
    found = find_weights(path)
    if found is None and download:
        found = hub_cache_path()
        found.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(found), hash_prefix=WEIGHTS_SHA256[:8])
    if found is None:
        looked = "\n  ".join(str(p) for p in _candidates(path))
        raise FileNotFoundError(
            f"Inception weights {WEIGHTS_FILE} (SHA-256 {WEIGHTS_SHA256}) not found. Looked for:\n  {looked}\n"
            f"Download {URL_INCEPTION_V3} and put it at {hub_cache_path()}, or point ${ENV_VAR} (or the "
            "`inception_weights` argument) at it; or pass download=True (CLI: --download-weights) to fetch it.")
    return found


def verified_state_dict(path: str | Path, sha256: str = WEIGHTS_SHA256) -> dict:
    """The state dict in ``path``, read once: its bytes must hash to ``sha256`` (ValueError naming the
    file and both hashes otherwise), and are unpickled with ``weights_only=True`` (ValueError when they
    hold anything but tensors and plain containers). Nothing in the file runs."""
    blob = Path(path).read_bytes()
    actual = hashlib.sha256(blob).hexdigest()
    if actual != sha256:
        raise ValueError(f"{path} has SHA-256 {actual}, expected {sha256} ({WEIGHTS_FILE}): the file is corrupted "
                         "or is not the TF-ported Inception; delete it and fetch it again.")
    try:
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any refusal by the safe unpickler means: not plain weights
        raise ValueError(f"{path} is not a plain state dict of tensors (refused without running it: "
                         f"{type(e).__name__}); delete it and fetch {URL_INCEPTION_V3} again.") from None


def load_inception(path: str | Path | None = None, download: bool = False,
                   sha256: str = WEIGHTS_SHA256) -> FeatureExtractorInceptionV3:
    """torch-fidelity's InceptionV3 extractor giving 1008 unbiased logits (IS) and 2048-d pool features (FID),
    from weights checked by ``verified_state_dict``."""
    weights = resolve_weights(path, download)
    state = verified_state_dict(weights, sha256)
    with tempfile.TemporaryDirectory() as private:  # torch-fidelity loads a path; give it our own tensors only
        copy = Path(private) / WEIGHTS_FILE
        torch.save(state, copy)
        net = FeatureExtractorInceptionV3("inception-v3-compat", list(FEATURES),
                                          feature_extractor_weights_path=str(copy))
    net.weights_sha256 = sha256
    return net
