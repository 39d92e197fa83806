"""The run directory's format, read and written here: where a run lives (its store key), and how it
ended. A run directory holds ``config.json`` (the resolved config), ``history.csv`` (one row per logged G
update), ``samples/step_XXXXXXX.png`` (fixed-z sample grids), ``checkpoint.pt`` (the latest state, written
atomically), ``status.json`` ("complete" or "diverged", written when the run ends) and, once complete,
``spectra.csv`` (D's normalized squared singular values). Everything but the checkpoint (and
TensorBoard's ``tb/``) is the run's compact record, committed under ``results/``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from snlab.files import atomic_write, atomic_write_text

if TYPE_CHECKING:
    from snlab.config import TrainConfig

#: Sample grids: this many samples a row (conditional runs: one class a row), this many pixels around and
#: between them, as ``torchvision.utils.save_image`` lays them out; ``grid_tile`` reads a grid back by them.
GRID_PER_ROW, GRID_PADDING = 8, 2

#: Fields that say how a run's metrics were measured: part of a store key, not of the resume identity.
EVAL_FIELDS = ("eval_every", "eval_samples", "eval_extractor")


def default_run_dir(cfg: TrainConfig, store: str | Path = "runs") -> Path:
    """``<store>/<dataset>-<method>-<setting>-s<seed>-i<iterations>-<hash>``: one directory per run identity,
    length and evaluation protocol (the hash covers ``run_fields``, ``iterations`` and the eval fields).
    A store entry is a result after that many G updates, measured that way: a 400-update run never
    stands in for a 200-update one, nor a run evaluated on 5,000 samples for one on 10,000. (An explicit
    ``out_dir`` with ``resume=True`` still extends a run.)"""
    fields = {**cfg.run_fields(), **{k: getattr(cfg, k) for k in ("iterations", *EVAL_FIELDS)}}
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
    return Path(store) / f"{_prefix(cfg)}-i{cfg.iterations}-{key}"


def _prefix(cfg: TrainConfig) -> str:
    """A run directory's readable part: dataset (a ``folder:PATH`` dataset by its folder's name; the key
    holds the whole path), method, setting, seed."""
    dataset = cfg.dataset
    if dataset.startswith("folder:"):
        dataset = "folder-" + "".join(c if c.isalnum() or c in "._" else "_" for c in Path(dataset[7:]).name)
    return f"{dataset}-{cfg.method}-{cfg.setting}-s{cfg.seed}"


def run_status(run_dir: str | Path) -> str:
    """"complete" or "diverged" from ``status.json``; "partial" while a run has none (unfinished or running)."""
    status = Path(run_dir) / "status.json"
    return json.loads(status.read_text())["status"] if status.exists() else "partial"


def machine() -> str:
    """What a run's bits depend on beyond its config: the CPU (vendor, family, model, stepping and a hash of
    its feature flags, from /proc/cpuinfo), torch's version and its CPU kernel level; written to
    ``status.json``. On the CPU a config retrained where this is the same gives the same record bit for bit
    (tests/test_results.py); on another kind of CPU its float rounding differs (oneDNN and MKL pick kernels
    per CPU), which training amplifies: the same run to ~1e-4 after 50 G updates, not to the bit."""
    import platform

    import torch

    info: dict[str, str] = {}
    with contextlib.suppress(OSError):  # no /proc off Linux: the CPU is then "?"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    flags = hashlib.sha256(info.get("flags", "").encode()).hexdigest()[:8]
    return (f"{platform.machine()} {info.get('vendor_id', '?')} family {info.get('cpu family', '?')} model "
            f"{info.get('model', '?')} stepping {info.get('stepping', '?')} flags {flags}; torch {torch.__version__}"
            f"; {torch.backends.cpu.get_cpu_capability()}")


def spectra(run_dir: str | Path) -> pd.DataFrame:
    """D's final normalized spectra (layer, index, s2; ``spectral.normalized_spectra``) from the run's
    ``spectra.csv``, written when it completed; a run stored before that file existed is read from its
    checkpoint, and the file written then. A diverged run has no final spectrum (its checkpoint is the last
    one before the divergence): refused, naming it."""
    if run_status(run_dir) == "diverged":
        raise ValueError(f"{run_dir} diverged: it has no final spectrum (its checkpoint predates the divergence)")
    path = Path(run_dir) / "spectra.csv"
    if not path.exists():
        from snlab.spectral import normalized_spectra
        from snlab.train import load_run
        atomic_write_text(normalized_spectra(load_run(run_dir).discriminator).to_csv(index=False), path)
    return pd.read_csv(path)


def sample_grid_path(run_dir: str | Path, step: int) -> Path:
    """Where a run keeps its sample grid after ``step`` G updates."""
    return Path(run_dir) / "samples" / f"step_{step:07d}.png"


def save_samples(x, path: Path) -> None:
    """Samples x (B, C, H, W) in [−1, 1] as a grid of ``GRID_PER_ROW`` a row, or (B, 2) points as a scatter
    plot, to the PNG ``path``, atomically: ``compare`` reads the latest grid of runs still training."""
    if x.dim() == 4:
        from torchvision.utils import save_image
        atomic_write(path, lambda tmp: save_image(x, tmp, format="png", nrow=GRID_PER_ROW, padding=GRID_PADDING,
                                                  normalize=True, value_range=(-1, 1)))
    else:
        from snlab.plots import save_scatter
        atomic_write(path, lambda tmp: save_scatter(x, tmp))


def grid_tile(image) -> int:
    """The side in pixels of one sample and its padding in a grid ``save_samples`` wrote; ``image`` is the
    grid as read back (H, W[, channels])."""
    return (image.shape[1] - GRID_PADDING) // GRID_PER_ROW


def latest_samples(run_dir: str | Path) -> Path | None:
    """The run's last saved sample grid (``samples/step_XXXXXXX.png``), or None when it saved none."""
    return max(Path(run_dir, "samples").glob("step_*.png"), default=None)


#: A finished run's compact record, with its last sample grid (``export``); never its checkpoint or ``tb/``.
RECORD_FILES = ("config.json", "status.json", "history.csv", "spectra.csv")


def export(run_dir: str | Path, dest: str | Path) -> Path | None:
    """Copy a finished run's compact record (``RECORD_FILES`` it has, and ``latest_samples``) to
    ``dest/<run name>`` and return that folder; None when ``dest`` has it already. The copy is assembled
    under ``dest/.export/`` and renamed into place, so a killed export leaves no half record where a run
    is read; a partial copy already there is replaced. A partial run is refused: its record would be read
    as final."""
    run_dir, out = Path(run_dir), Path(dest) / Path(run_dir).name
    if run_status(run_dir) == "partial":
        raise ValueError(f"{run_dir} is not finished (no status.json): resume it before exporting it")
    if out.exists() and run_status(out) != "partial":
        return None
    tmp = Path(dest) / ".export" / out.name  # two levels down: no store reader takes it for a run
    shutil.rmtree(tmp, ignore_errors=True)  # left by a killed export
    shutil.rmtree(out, ignore_errors=True)  # a partial copy, never a finished record
    (tmp / "samples").mkdir(parents=True)
    for name in RECORD_FILES:
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, tmp / name)
    if (grid := latest_samples(run_dir)) is not None:
        shutil.copy2(grid, tmp / "samples" / grid.name)
    tmp.rename(out)
    with contextlib.suppress(OSError):  # not empty: another export is assembling there
        tmp.parent.rmdir()
    return out


def shorter_run(cfg: TrainConfig, store: str | Path) -> Path | None:
    """The longest complete run in ``store`` that ``cfg``'s run would pass through on its way: the same
    identity (``run_fields``; so no ``lr_decay``, whose schedule depends on the length), the same
    evaluation protocol, fewer G updates ending on a logged step, and an evaluation schedule that holds
    every evaluation ``cfg``'s run makes up to there. None when there is none."""
    if cfg.lr_decay:
        return None
    from snlab.config import TrainConfig

    best, best_len = None, 0
    for config in Path(store).glob(f"{_prefix(cfg)}-i*-*/config.json"):
        run = config.parent
        if run_status(run) != "complete" or not (run / "checkpoint.pt").exists():
            continue
        old = TrainConfig(**json.loads(config.read_text()))
        fits = (old.run_fields() == cfg.run_fields() and old.eval_samples == cfg.eval_samples
                and old.eval_extractor == cfg.eval_extractor and best_len < old.iterations < cfg.iterations
                and old.iterations % cfg.log_every == 0
                and (not cfg.eval_every or old.eval_every and cfg.eval_every % old.eval_every == 0))
        if fits:
            best, best_len = run, old.iterations
    return best


def extend_into(shorter: Path, cfg: TrainConfig, run_dir: Path) -> None:
    """Start ``cfg``'s run at ``run_dir`` from the complete ``shorter`` run (``shorter_run``): its checkpoint,
    and its history and samples as a run of ``cfg`` would have logged them (evaluations and sample grids
    only on ``cfg``'s schedule). Resuming it then trains the rest: on the CPU its weights, losses, σ(W̄) and
    evaluations are bitwise those ``cfg`` trained from scratch would leave, at a fraction of the cost (the
    training ``seconds`` differ, and ``opnorm_*`` columns restart their warm start). Call it holding
    ``run_dir``'s lock."""
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(shorter / "checkpoint.pt", run_dir / "checkpoint.pt.extending")
    history = pd.read_csv(shorter / "history.csv")
    off_schedule = history["step"] % cfg.eval_every != 0 if cfg.eval_every else history["step"] >= 0  # 0: none
    metrics = [c for c in history.columns if c.split("_")[0] in ("IS", "FID", "intraFID")]
    history.loc[off_schedule, metrics] = float("nan")
    atomic_write_text(history.to_csv(index=False), run_dir / "history.csv")
    for png in (shorter / "samples").glob("step_*.png"):
        step = int(png.stem.removeprefix("step_"))
        if cfg.sample_every and step % cfg.sample_every == 0:
            (run_dir / "samples").mkdir(exist_ok=True)
            shutil.copy2(png, run_dir / "samples" / png.name)
    atomic_write_text(json.dumps(json.loads((shorter / "config.json").read_text()), indent=2), run_dir / "config.json")
    (run_dir / "checkpoint.pt.extending").rename(run_dir / "checkpoint.pt")  # last: then the run is resumable
