"""``evaluate``: a generator's IS / FID / KID / precision-recall under a stated protocol.

The default protocol is the paper's (docs/paper.md §7): IS on 50,000 samples in 10 splits of 5,000; FID,
KID and precision/recall of the first 5,000 of those samples against 10,000 real images of the
test split. Every result carries the protocol with it, and metric names carry the extractor:
``IS_inception``, ``FID_fmnist`` … Only the Inception path on CIFAR-10 / STL-10 with the paper's
sample counts is marked ``comparable_to_paper``.

``intra_class_fid``: for a conditional generator, the mean over classes of the FID between samples
of class c and the real images of class c (the projection paper's intra-FID, docs/paper.md §7).
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from snlab.data import ImageData, dataset_info, default_data_dir, load_dataset, to_uint8
from snlab.files import (
    atomic_save,
    atomic_savez,
    atomic_write_text,
    json_text,
    load_checkpoint,
    remove_stale_temporaries,
)
from snlab.metrics import inception, scores
from snlab.metrics.classifier import FMNISTExtractor

EXTRACTORS = ("auto", "inception", "fmnist")
#: Human-readable names for figure labels.
EXTRACTOR_LABELS = {"inception": "Inception-v3 (TF port)", "fmnist": "Fashion-MNIST classifier features"}
#: Offline extractors by dataset, used by ``extractor="auto"`` when Inception weights are absent.
OFFLINE = {"fashion_mnist": "fmnist"}
PAPER_PROTOCOL = {"n_samples": 50_000, "is_splits": 10, "fid_samples": 5_000, "n_real": 10_000, "real_split": "test"}
#: Intra-FID as the projection paper: 5,000 samples per class against each class's whole training split
#: (the paper reports it on ImageNet only).
INTRA_FID_PROTOCOL = {"dataset": "imagenet", "n_per_class": 5_000, "real_split": "train", "n_real_per_class": None}
#: Training-time intra-FID is logged only with at least this many samples per class: ImageNet's
#: 5,000 eval samples would give 5 per class (a rank-4 covariance in 2,048 dimensions, a meaningless number).
MIN_TRAINING_PER_CLASS = 50


def resolve_extractor(name: str, dataset: str, inception_weights=None, verbose: bool = True) -> str:
    """"inception" or an offline extractor name; "auto" prefers Inception when its weights are present."""
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; valid: {', '.join(EXTRACTORS)}")
    if name != "auto":
        if name == "fmnist" and dataset != "fashion_mnist":
            raise ValueError(f"extractor 'fmnist' is a Fashion-MNIST classifier; it does not fit dataset {dataset!r}")
        return name
    if inception.find_weights(inception_weights) is not None:
        chosen, why = "inception", "Inception weights found"
    elif dataset in OFFLINE:
        chosen, why = OFFLINE[dataset], "no Inception weights found; numbers are not comparable to the paper's"
    else:
        inception.resolve_weights(inception_weights)  # raises the error that says how to get the weights
    if verbose:
        print(f"metrics: extractor auto -> {chosen} ({why})")
    return chosen


def _load_extractor(name: str, inception_weights=None, download: bool = False):
    return inception.load_inception(inception_weights, download) if name == "inception" else FMNISTExtractor()


@torch.no_grad()
def extract(extractor, batches, total: int, desc: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits (N, K), pool features (N, F)) of uint8 image batches (B, C, H, W), on CPU."""
    device = next(extractor.parameters()).device
    logits, feats = [], []
    # disable=None: no bar where the output is not a terminal (logs).
    with tqdm(total=total, desc=desc, unit="img", leave=False, mininterval=2.0, disable=None) as bar:
        for x in batches:
            if x.shape[1] == 1 and extractor.get_name() == "inception-v3-compat":
                x = x.expand(-1, 3, -1, -1)  # gray → RGB for Inception
            lg, ft = extractor(x.to(device))
            logits.append(lg.float().cpu())
            feats.append(ft.float().cpu())
            bar.update(len(x))
    return torch.cat(logits), torch.cat(feats)


def default_cache_dir() -> Path:
    """Where real-image features are cached: ``$SNLAB_CACHE``, else ``<data dir>/cache``."""
    return Path(os.environ.get("SNLAB_CACHE", default_data_dir() / "cache"))


def _setup(generator, dataset: str, extractor: str, real_split: str, inception_weights, download_weights: bool,
           verbose: bool):
    """(extractor name, extractor on ``generator``'s device), once ``real_split`` is known to exist."""
    info = dataset_info(dataset)
    if real_split not in info.splits:
        raise ValueError(f"unknown split {real_split!r} for {dataset}; valid: {', '.join(info.splits)}")
    name = resolve_extractor(extractor, dataset, inception_weights, verbose)
    device = next(generator.parameters()).device if isinstance(generator, torch.nn.Module) else torch.device("cpu")
    return name, _load_extractor(name, inception_weights, download_weights).to(device)


def _real_features(data: ImageData, extractor_name: str, extractor, n: int | None, cache_dir: Path,
                   batch_size: int) -> torch.Tensor:
    """Pool features (n, F) of the first ``n`` images of a dataset split (all when None), cached on disk.

    The cache key holds (dataset, split, extractor, n), a SHA-256 of the images themselves (of their
    file paths for ImageNet, whose images are decoded only batch by batch) and of the extractor's
    weights, so another copy of a dataset (a test fixture, a different download) or rebuilt weights
    never reuse these features.
    """
    dataset, split = data.name, data.split
    if n is not None and len(data) < n:
        raise ValueError(f"{dataset} split {split!r} has {len(data)} images, fewer than n_real={n}")
    n = len(data) if n is None else n
    images = data.images
    content = images[:n].contiguous().numpy().tobytes() if isinstance(images, torch.Tensor) else \
        "\n".join(images.paths[:n]).encode()
    digest = hashlib.sha256(content).hexdigest()[:12]
    weights = extractor.weights_sha256[:8]
    path = cache_dir / f"real-{dataset}-{split}-{extractor_name}-{n}-{digest}-w{weights}.pt"
    if path.exists():
        try:
            return load_checkpoint(path)
        except ValueError as e:  # a cache is rebuilt, never trusted half-read
            print(f"{e} Rebuilding the feature cache.")
    batches = (images[i:min(i + batch_size, n)] for i in range(0, n, batch_size))
    _, feats = extract(extractor, batches, n, f"real {dataset}/{split}")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, older_than=3600)  # shared by workers, maybe by other hosts
    atomic_save(feats, path)
    return feats


@torch.no_grad()
def _generated(generator, n: int, seed: int, batch_size: int, labels: torch.Tensor | None = None):
    """Batches of uint8 samples (B, C, R, R) from ``generator`` in eval mode, z ~ N(0, I) from ``seed``.

    A conditional generator (``n_classes > 0``) gets class ``labels`` (n,), by default uniform over its
    classes from a generator of their own (seeded ``seed + 1``), so z does not depend on them and an
    unconditional generator's samples are those of ``generate(G, z)``.
    """
    from snlab.models import generate

    n_classes = getattr(generator, "n_classes", 0)
    if n_classes and labels is None:
        labels = torch.randint(n_classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), generator.z_dim, generator=gen)
        yield to_uint8(generate(generator, z, None if labels is None else labels[start:start + len(z)]))


def _write(result: dict, out: str | Path | None) -> dict:
    if out is not None:
        atomic_write_text(json_text(result, indent=2), out)
    return result


#: Fewer generated samples than this give no usable FID (a covariance of a handful of points); refused.
MIN_FID_SAMPLES = 10
#: IS averages per-split scores; a split needs at least this many samples for its marginal to mean anything.
MIN_IS_SPLIT = 2


def _check_sizes(generator, dataset: str, n_samples: int, is_splits: int, fid_samples: int) -> None:
    """ValueError, naming the value, for sizes that cannot give a number, and for a generator whose images
    are not the dataset's shape (a 3-channel or 48 px G is not silently averaged or resized)."""
    if is_splits < 1 or n_samples // is_splits < MIN_IS_SPLIT:
        raise ValueError(f"IS needs at least {MIN_IS_SPLIT} samples per split: n_samples={n_samples} in "
                         f"is_splits={is_splits} splits gives {n_samples // max(is_splits, 1)}")
    if fid_samples < MIN_FID_SAMPLES:
        raise ValueError(f"FID needs at least {MIN_FID_SAMPLES} generated samples, got fid_samples={fid_samples}")
    if fid_samples > n_samples:
        raise ValueError(f"fid_samples ({fid_samples}) cannot exceed n_samples ({n_samples})")
    if isinstance(generator, torch.nn.Module):
        from snlab.models import generate
        info = dataset_info(dataset)
        labels = torch.zeros(1, dtype=torch.long) if getattr(generator, "n_classes", 0) else None
        shape = tuple(generate(generator, torch.zeros(1, generator.z_dim), labels).shape[1:])
        if shape != (info.channels, info.resolution, info.resolution):
            raise ValueError(f"the generator makes {shape} images (C, H, W), but {dataset} images are "
                             f"{(info.channels, info.resolution, info.resolution)}")


def evaluate(generator, dataset: str = "fashion_mnist", extractor: str = "auto", n_samples: int = 50_000,
             seed: int = 0, *, is_splits: int = 10, fid_samples: int | None = None, n_real: int | None = 10_000,
             real_split: str | None = None, kid: bool = True, prc: bool = True, batch_size: int = 500,
             data_dir=None, cache_dir=None, inception_weights=None, download_weights: bool = False,
             reference_stats: str | Path | None = None, save_stats: str | Path | None = None,
             out: str | Path | None = None, verbose: bool = True) -> dict:
    """Metrics of ``generator`` against ``dataset``.

    ``generator`` maps z (B, 128) [, y (B,) uniform random labels when conditional] to images
    (B, C, R, R) in [−1, 1]; it may also be real images
    (``ImageData``, of which the first ``n_samples`` are used: the "real data" rows of Table 2).
    IS over all ``n_samples`` images in ``is_splits`` chunks; FID, KID and precision /
    recall of the first ``fid_samples`` (default: the paper's 5,000, or ``n_samples`` when fewer; the
    protocol records it) against the first ``n_real`` images of ``real_split`` (all
    of them when None; the split defaults to the held-out one: test, or ImageNet's val). Real
    features are cached under ``cache_dir`` (default ``default_cache_dir()``). ``reference_stats``: an .npz
    of ``mu``, ``sigma`` (the format pytorch-fid and torch-fidelity users exchange) to take FID against
    instead of the dataset's images (KID and precision/recall, which need the features, are then left
    out); ``save_stats``: write the scored images' ``mu``, ``sigma`` there.
    Returns a flat dict of metrics (suffixed with the extractor) and the protocol; writes it as
    JSON to ``out`` when given.
    """
    if fid_samples is None:
        fid_samples = min(PAPER_PROTOCOL["fid_samples"], n_samples)
    _check_sizes(generator, dataset, n_samples, is_splits, fid_samples)
    real_split = real_split or dataset_info(dataset).heldout_split
    start = time.perf_counter()
    name, net = _setup(generator, dataset, extractor, real_split, inception_weights, download_weights, verbose)
    if reference_stats is not None:
        kid = prc = False  # they need the real features, which statistics do not carry
        real, real_stats = None, _load_stats(reference_stats)
    else:
        real = _real_features(load_dataset(dataset, real_split, data_dir), name, net, n_real,
                              Path(cache_dir) if cache_dir is not None else default_cache_dir(), batch_size)
        real_stats = scores.gaussian_stats(real)
    batches, origin = _scored_batches(generator, n_samples, seed, batch_size)
    logits, feats = extract(net, batches, n_samples, origin)
    is_mean, is_std = scores.inception_score_of_logits(logits, is_splits)
    gen_stats = scores.gaussian_stats(feats[:fid_samples])
    if save_stats is not None:
        _save_stats(gen_stats, save_stats)
    result = {f"IS_{name}": is_mean, f"IS_{name}_std": is_std,
              f"FID_{name}": scores.frechet_distance(gen_stats["mu"], gen_stats["sigma"],
                                                      real_stats["mu"], real_stats["sigma"])}
    result.update(_feature_metrics(name, feats[:fid_samples], real, kid, prc, seed))
    result.update(_protocol(origin, dataset, name, n_samples, is_splits, fid_samples,
                            None if real is None else len(real), str(reference_stats or ""), real_split, seed),
                  seconds=round(time.perf_counter() - start, 3))
    return _write(result, out)


def _protocol(source: str, dataset: str, extractor: str, n_samples: int, is_splits: int, fid_samples: int,
              n_real: int | None, reference_stats: str, real_split: str, seed: int) -> dict:
    """How the metrics were measured, as ``evaluate`` records it, with whether that is the paper's protocol."""
    protocol = {"source": source, "dataset": dataset, "extractor": extractor,
                "extractor_label": EXTRACTOR_LABELS[extractor], "n_samples": n_samples, "is_splits": is_splits,
                "fid_samples": fid_samples, "n_real": n_real, "reference_stats": reference_stats,
                "real_split": real_split, "seed": seed}
    protocol["comparable_to_paper"] = bool(extractor == "inception" and dataset in ("cifar10", "stl10") and all(
        protocol[k] == v for k, v in PAPER_PROTOCOL.items()))
    return protocol


def _feature_metrics(name: str, fake: torch.Tensor, real: torch.Tensor | None, kid: bool, prc: bool, seed: int) -> dict:
    """KID (with its std) and precision / recall of generated features ``fake`` against ``real``, as asked."""
    out = {}
    if kid:
        out[f"KID_{name}"], out[f"KID_{name}_std"] = scores.kernel_distance(fake, real, seed=seed)
    if prc:
        out[f"precision_{name}"], out[f"recall_{name}"] = scores.precision_recall(fake, real)
    return out


def _save_stats(stats: dict[str, np.ndarray], path: str | Path) -> None:
    """FID statistics ``mu``, ``sigma`` as an .npz (``_load_stats`` reads them back)."""
    atomic_savez(path, mu=stats["mu"], sigma=stats["sigma"])


def _load_stats(path: str | Path) -> dict[str, np.ndarray]:
    """FID reference statistics ``mu`` (F,), ``sigma`` (F, F) from an .npz, in float64."""
    with np.load(path) as f:
        if not {"mu", "sigma"} <= set(f.files):
            raise ValueError(f"{path} holds {', '.join(f.files) or 'nothing'}; reference statistics "
                             "need mu (F,) and sigma (F, F)")
        return {"mu": f["mu"].astype(np.float64), "sigma": f["sigma"].astype(np.float64)}


def _scored_batches(source, n_samples: int, seed: int, batch_size: int):
    """(batches of the ``n_samples`` images to score, their origin for the protocol): a generator's samples
    from evaluate's seeded z stream, or the first images of real ``ImageData``."""
    if isinstance(source, ImageData):
        if len(source) < n_samples:
            raise ValueError(f"{source.name} has {len(source)} images, fewer than n_samples={n_samples}")
        return source.images[:n_samples].split(batch_size), f"real:{source.name}/{source.split}"
    return _generated(source, n_samples, seed, batch_size), "generator"


def intra_class_fid(generator, dataset: str = "fashion_mnist", extractor: str = "auto", n_per_class: int = 5_000,
                    seed: int = 0, *, real_split: str = "train", n_real_per_class: int | None = None,
                    batch_size: int = 500, data_dir=None, cache_dir=None, inception_weights=None,
                    download_weights: bool = False, out: str | Path | None = None, verbose: bool = True) -> dict:
    """Intra-FID of a conditional ``generator`` (``n_classes > 0``): mean over classes c of the FID
    between ``n_per_class`` samples G(z, c) and the real images of class c (docs/paper.md §7).

    The real images of class c are those labelled c in ``real_split``, by default the *training*
    split, as the projection paper (per-class training statistics); the first ``n_real_per_class``
    of them when given. z ~ N(0, I) from ``seed``, one stream for all classes (class 0's samples
    first). Returns ``intraFID_<extractor>`` (the mean), ``intraFID_<extractor>_per_class`` (a list
    of n_classes FIDs) and the protocol (``n_real``: real images used per class); writes it as JSON
    to ``out`` when given.
    """
    n_classes = getattr(generator, "n_classes", 0) if isinstance(generator, torch.nn.Module) else 0
    if not n_classes:
        raise ValueError("intra-FID needs a conditional generator (n_classes > 0)")
    if n_classes != dataset_info(dataset).n_classes:
        raise ValueError(f"the generator has {n_classes} classes; {dataset} has {dataset_info(dataset).n_classes}")
    if n_per_class < 2:
        raise ValueError(f"n_per_class must be at least 2 for a covariance, got {n_per_class}")
    start = time.perf_counter()
    name, net = _setup(generator, dataset, extractor, real_split, inception_weights, download_weights, verbose)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    data = load_dataset(dataset, real_split, data_dir)
    real_all = _real_features(data, name, net, None, cache_dir, batch_size)
    rows = [(data.labels == c).nonzero().squeeze(1)[:n_real_per_class] for c in range(n_classes)]
    short = {c: len(r) for c, r in enumerate(rows) if len(r) < max(2, n_real_per_class or 0)}
    if short:
        raise ValueError(f"{dataset} split {real_split!r} has too few images of classes {short} (class: count) "
                         f"for n_real_per_class={n_real_per_class} (FID needs at least 2 per class)")
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    _, feats = extract(net, _generated(generator, len(labels), seed, batch_size, labels), len(labels), "generator")
    mean, per_class = scores.intra_fid(feats.split(n_per_class), [real_all[r] for r in rows])
    protocol = {"source": "generator", "dataset": dataset, "extractor": name, "extractor_label": EXTRACTOR_LABELS[name],
                "n_classes": n_classes, "n_per_class": n_per_class, "real_split": real_split,
                "n_real_per_class": n_real_per_class, "n_real": [len(r) for r in rows], "seed": seed}
    protocol["comparable_to_paper"] = bool(name == "inception" and all(
        protocol[k] == v for k, v in INTRA_FID_PROTOCOL.items()))
    result = {f"intraFID_{name}": mean, f"intraFID_{name}_per_class": per_class, **protocol,
              "seconds": round(time.perf_counter() - start, 3)}
    return _write(result, out)


def training_metrics(source, dataset: str, extractor: str, n_samples: int, seed: int, data_dir=None,
                     intra_fid: bool = False) -> dict:
    """The protocol of the IS/FID logged during training (and of the "real data" row beside it): IS over
    ``n_samples`` in up to 10 splits, FID of the same samples against the whole held-out split; with
    ``intra_fid`` (a conditional generator), ``intraFID_*`` of ``n_samples // n_classes`` samples per class
    against the training split, when that is at least ``MIN_TRAINING_PER_CLASS`` (else left out: run
    ``intra_class_fid`` on the final G). Returns only the ``IS_*`` / ``FID_*`` (/ ``intraFID_*``) entries."""
    m = evaluate(source, dataset, extractor, n_samples, seed=seed, is_splits=min(10, n_samples // MIN_IS_SPLIT),
                 fid_samples=n_samples, n_real=None, kid=False, prc=False, data_dir=data_dir, verbose=False)
    result = {k: v for k, v in m.items() if k.startswith(("IS_", "FID_"))}
    n_per_class = n_samples // max(getattr(source, "n_classes", 0), 1)  # no classes: intra_class_fid raises
    if intra_fid and n_per_class >= MIN_TRAINING_PER_CLASS:
        intra = intra_class_fid(source, dataset, m["extractor"], n_per_class, seed, data_dir=data_dir, verbose=False)
        result[f"intraFID_{intra['extractor']}"] = intra[f"intraFID_{intra['extractor']}"]
    return result
