"""One training loop for every method: ``TrainConfig`` → run directory (its format: ``snlab.store``)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from snlab.callbacks import default_callbacks
from snlab.config import TrainConfig, build_run_models
from snlab.cudagraph import GraphedIteration
from snlab.data import dataset_info, load_dataset, to_device
from snlab.files import atomic_write_text, exclusive, load_checkpoint, remove_stale_temporaries
from snlab.losses import get_loss
from snlab.methods import get_method
from snlab.models import generate
from snlab.objectives import d_objective, g_objective
from snlab.spectral import OperatorNorms, normalized_spectra
from snlab.speed import apply_speedup, resolve_device, resolve_speedup
from snlab.store import default_run_dir, machine, run_status


@dataclass
class TrainResult:
    """What ``train`` returns: the run directory, its history, the trained modules, and how it ended."""

    run_dir: Path
    history: pd.DataFrame
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    config: TrainConfig
    status: str = "complete"


def load_run(run_dir: str | Path, device: str = "cpu") -> TrainResult:
    """A finished or partial run from its directory: config, history and the checkpoint's G and D."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").exists():
        raise FileNotFoundError(f"no checkpoint.pt in {run_dir}: not a run directory, or the run never checkpointed")
    cfg = TrainConfig(**json.loads((run_dir / "config.json").read_text()), out_dir=str(run_dir), progress=False)
    G, D = build_run_models(cfg)
    state = load_checkpoint(run_dir / "checkpoint.pt")
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    history = run_dir / "history.csv"
    return TrainResult(run_dir, pd.read_csv(history) if history.exists() else pd.DataFrame(), G.to(device),
                       D.to(device), cfg, run_status(run_dir))


def _load_optimizer(opt: torch.optim.Optimizer, state: dict) -> None:
    """Load ``state`` into ``opt`` but keep ``opt``'s implementation flags (fused, capturable, foreach) and
    put Adam's step counters where they need them: a checkpoint written on another device or with another
    speedup resumes here (``load_state_dict`` alone would bring the writer's flags along)."""
    flags = [{k: g[k] for k in ("fused", "capturable", "foreach") if k in g} for g in opt.param_groups]
    opt.load_state_dict(state)
    for group, kept in zip(opt.param_groups, flags):
        group.update(kept)
        on_device = kept.get("fused") or kept.get("capturable")
        for p in group["params"]:
            if "step" in opt.state.get(p, {}):
                opt.state[p]["step"] = opt.state[p]["step"].to(p.device if on_device else "cpu")


class Trainer:
    """Owns one run's modules, optimizers and RNG; ``fit`` trains to ``cfg.iterations``.

    Update order (as both official repositories, docs/paper.md §4): each iteration does one G step on fresh
    z, then ``n_dis`` D steps, each on a fresh real batch and fresh (detached) fakes. z ~ N(0, I).
    Conditional runs draw real batches with their labels and each fake's class uniformly, after its z.
    Real batches, z, fake labels and the penalty's ε all come from one seeded ``torch.Generator`` (CPU), which
    the checkpoint saves with everything else, so a resumed run is bitwise the uninterrupted one on CPU.
    """

    def __init__(self, cfg: TrainConfig, models: tuple[torch.nn.Module, torch.nn.Module] | None = None):
        self.cfg = cfg
        self.method = get_method(cfg.method)
        self.loss = get_loss(cfg.loss)
        self.device = resolve_device(cfg.device)
        self.data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
        if cfg.eval_every:  # fail now, not at the first evaluation, when no extractor fits
            from snlab.metrics.evaluation import resolve_extractor
            resolve_extractor(cfg.eval_extractor, cfg.dataset, verbose=False)
        G, D = build_run_models(cfg) if models is None else _check_custom(cfg, *models)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.speedup = resolve_speedup(cfg, self.device)
        apply_speedup(self.G, self.D, self.speedup)
        graphed = self.speedup == "cudagraphs"  # never with lr_decay: TrainConfig refuses it
        betas = (cfg.beta1, cfg.beta2)
        # On a GPU, fused Adam (a kernel or two per step; capturable, so a CUDA graph can hold it).
        # The CPU keeps the default implementation the stored runs were trained with.
        cuda = self.device.type == "cuda"
        adam = dict(betas=betas, fused=cuda or None, capturable=graphed and cuda)
        self.opt_g = torch.optim.Adam(self.G.parameters(), cfg.lr, **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), cfg.lr, **adam)
        self._graphed = GraphedIteration(self.draw, self.run_iteration, (self.opt_g, self.opt_d), cuda) \
            if graphed else None
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.n_classes = dataset_info(cfg.dataset).n_classes if cfg.conditional else 0
        # Sample grids: 64 fixed z; conditional runs show 8 per class for the first 10 classes, a class per row.
        self.fixed_y = torch.arange(min(self.n_classes, 10)).repeat_interleave(8) if self.n_classes else None
        self.fixed_z = torch.randn(64 if self.fixed_y is None else len(self.fixed_y), G.z_dim,
                                   generator=torch.Generator().manual_seed(cfg.seed + 10_000))
        self.step, self.seconds, self.rows = 0, 0.0, []
        info = dataset_info(cfg.dataset)
        # Warm-started between log steps; a resumed run restarts the estimate (weights are unaffected).
        self.opnorms = OperatorNorms((info.channels, info.resolution, info.resolution), cfg.seed)
        if cfg.log_heldout_loss:  # fixed batches from their own generator: training's RNG stream is untouched
            fixed = torch.Generator().manual_seed(cfg.seed + 20_000)
            heldout = load_dataset(cfg.dataset, dataset_info(cfg.dataset).heldout_split, cfg.data_dir,
                                   download=cfg.download)
            self._heldout = {"train": self.data.sample(512, fixed, self.device),
                             "heldout": heldout.sample(512, fixed, self.device),
                             "z": torch.randn(512, G.z_dim, generator=fixed).to(self.device)}

    # -- one iteration -------------------------------------------------------------------------
    def _fakes(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z (n, z_dim), y (n,) uniform classes, or None when unconditional), on the device."""
        z = to_device(torch.randn(n, self.G.z_dim, generator=self.rng), self.device)
        y = to_device(torch.randint(self.n_classes, (n,), generator=self.rng), self.device) if self.n_classes else None
        return z, y

    def g_inputs(self) -> tuple:
        """A G step's random inputs (z, y), drawn from the run's generator, on the device."""
        return self._fakes(self.cfg.g_batch_size or self.cfg.batch_size)

    def d_inputs(self) -> tuple:
        """A D step's inputs (real, real labels, z, y, ε), drawn in that order, on the device; labels and y
        are None when unconditional, ε (the penalty's interpolation weights, (B,)) None without a penalty."""
        cfg = self.cfg
        if self.n_classes:
            real, y_real = self.data.sample_labeled(cfg.batch_size, self.rng, self.device)
        else:
            real, y_real = self.data.sample(cfg.batch_size, self.rng, self.device), None
        z, y = self._fakes(cfg.batch_size)
        eps = to_device(torch.rand(cfg.batch_size, generator=self.rng), self.device) if cfg.gradient_penalty else None
        return real, y_real, z, y, eps

    def iteration(self) -> torch.Tensor:
        """One G update, then ``n_dis`` D steps; (mean D loss, G loss) as a (2,) tensor on the device."""
        if self._graphed is not None:
            return self._graphed()
        inputs = self.draw()
        return self.run_iteration(inputs[0], inputs[1:])

    def draw(self) -> list[tuple]:
        """One iteration's inputs, in the order training draws them: ``g_inputs()``, then ``d_inputs()`` per D step."""
        return [self.g_inputs()] + [self.d_inputs() for _ in range(self.cfg.n_dis)]

    def run_iteration(self, g_inputs: tuple, d_inputs: list[tuple]) -> torch.Tensor:
        """``iteration`` on given inputs (``g_inputs()`` and one ``d_inputs()`` per D step)."""
        loss_g = self.g_step(g_inputs)
        loss_d = sum(self.d_step(inputs) for inputs in d_inputs) / len(d_inputs)
        return torch.stack([loss_d, loss_g])

    def _set_lr(self) -> None:
        cfg = self.cfg
        if cfg.lr_decay and self.step >= cfg.lr_decay_start:
            lr = cfg.lr * (1 - (self.step - cfg.lr_decay_start) / (cfg.iterations - cfg.lr_decay_start))
            for opt in (self.opt_g, self.opt_d):
                for group in opt.param_groups:
                    group["lr"] = lr

    def d_step(self, inputs: tuple | None = None) -> torch.Tensor:
        """One D update on ``inputs`` (``d_inputs()``; None draws them); D's loss, detached."""
        cfg, D = self.cfg, self.D
        real, y_real, z, y, eps = inputs or self.d_inputs()
        with torch.no_grad():
            fake = self.G(z) if y is None else self.G(z, y)
        loss = d_objective(D, self.loss, cfg, real, y_real, fake, y, eps)
        if self.method.d_penalty:
            loss = loss + self.method.d_penalty(D, cfg)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.method.after_d_step:
            self.method.after_d_step(D, cfg)
        return loss.detach()

    def g_step(self, inputs: tuple | None = None) -> torch.Tensor:
        """One G update on ``inputs`` (``g_inputs()``; None draws them); G's loss, detached."""
        self.D.requires_grad_(False)  # no D gradients are needed for G's update
        z, y = inputs or self.g_inputs()
        loss = g_objective(self.D, self.loss, self.cfg, self.G(z) if y is None else self.G(z, y), y)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        return loss.detach()

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"step": self.step, "seconds": self.seconds, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": self.rng.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else []}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.seconds = state["step"], state["seconds"]
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        _load_optimizer(self.opt_g, state["opt_g"])
        _load_optimizer(self.opt_d, state["opt_d"])
        self.rng.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    # -- the loop --------------------------------------------------------------------------------
    def fit(self, run_dir: Path, callbacks: list | None = None) -> str:
        """Train from ``self.step`` to ``cfg.iterations`` G updates; returns "complete" or "diverged".

        After every G update (and its D updates) each callback's ``on_step`` runs, in order (default:
        ``callbacks.default_callbacks``: the run directory's check, history rows, samples, TensorBoard,
        checkpoints, progress); a callback that finds the run diverged sets ``self.status`` and the loop
        stops."""
        self.begin(run_dir, callbacks)
        try:
            while not self.done:
                self._set_lr()
                self.advance(self.iteration())
        finally:  # writers closed, bars ended, also when a step or a callback raises
            self._trigger("on_end")
        return self.status

    def begin(self, run_dir: Path, callbacks: list | None = None) -> None:
        """``fit``'s start: the run directory, the loss window, the callbacks (``on_start``)."""
        self.run_dir, self.status = run_dir, "complete"
        self.window, self.count = torch.zeros(2, device=self.device), 0  # D, G loss summed since the last row
        self.logged = False  # whether this step wrote a history row (set by ``callbacks.History``)
        self.callbacks = default_callbacks(self.cfg, run_dir) if callbacks is None else callbacks
        self._trigger("on_start")

    @property
    def done(self) -> bool:
        return self.step >= self.cfg.iterations or self.status != "complete"  # diverged, or removed in a pack

    def advance(self, losses: torch.Tensor) -> None:
        """Count one finished iteration (its (2,) losses, ``iteration``'s) and run the callbacks' ``on_step``."""
        self.window += losses
        self.count += 1
        self.step += 1
        self._trigger("on_step")

    def clock(self) -> float:
        """Seconds on the clock ``callbacks.History`` reads training time from: wall time here; a pack
        (``snlab.pack.Pack.fit``) sets its own while it trains the run, its share of the pack's time."""
        return time.perf_counter()

    def _trigger(self, event: str) -> None:
        for callback in self.callbacks:
            if hasattr(callback, event):
                getattr(callback, event)(self)

    def heldout_losses(self) -> dict:
        """D's loss (no penalty) on the fixed training vs held-out real batches, same fixed fakes; eval mode,
        so SN's u is not advanced and the run is the one it would be without this logging."""
        was_training = self.D.training
        self.D.eval()
        with torch.no_grad():
            fake = self.D(generate(self.G, self._heldout["z"]).to(self.device))
            row = {f"critic_{k}": float(self.loss.d(self.D(self._heldout[k]), fake)) for k in ("train", "heldout")}
        self.D.train(was_training)
        return row

    def evaluate(self) -> dict:
        """IS and FID (not counted in ``seconds``). z comes from the evaluation's own generator; training
        draws only from ``self.rng``, so evaluating does not change the run."""
        from snlab.metrics.evaluation import training_metrics
        cfg = self.cfg
        return training_metrics(self.G, cfg.dataset, cfg.eval_extractor, cfg.eval_samples, cfg.seed, cfg.data_dir,
                                intra_fid=bool(self.n_classes))


def _check_custom(cfg: TrainConfig, G: torch.nn.Module, D: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A user's (G, D), checked: G has ``z_dim`` and makes images of the dataset's shape from z (B, z_dim), D
    scores them (B,) or (B, 1); unconditional only."""
    if cfg.conditional:
        raise ValueError("custom models are unconditional here; conditional runs use snlab's ResNets")
    if not isinstance(getattr(G, "z_dim", None), int):
        raise ValueError("a custom G needs an int attribute z_dim: the size of the z (B, z_dim) it maps to images")
    info = dataset_info(cfg.dataset)
    with torch.no_grad():
        x = generate(G, torch.zeros(2, G.z_dim))
        want = (2, info.channels, info.resolution, info.resolution)
        if tuple(x.shape) != want:
            raise ValueError(f"the custom G makes images of shape {tuple(x.shape)}; {cfg.dataset} needs {want}")
        was_training = D.training
        param = next(D.parameters(), None)
        scores = D.eval()(x if param is None else x.to(param.device)).reshape(-1)
        D.train(was_training)
        if scores.shape != (2,):
            raise ValueError(f"the custom D must give one score per image, (B,) or (B, 1); it gave "
                             f"{tuple(scores.shape)}")
    return G, D


def train(cfg: TrainConfig, G: torch.nn.Module | None = None, D: torch.nn.Module | None = None,
          callbacks=()) -> TrainResult:
    """Train (or resume) the run ``cfg`` describes and return its ``TrainResult``.

    ``callbacks``: yours, called after snlab's own at every G update (``snlab.callbacks`` says how: an
    object with any of ``on_start``, ``on_step``, ``on_end``, each taking the ``Trainer``).

    ``G`` and ``D``: your own models instead of ``cfg.arch``'s (both or neither; ``snlab.normalize`` applies
    a method to D, the loop adds its training-time parts from ``cfg.method``). The run then needs an
    ``out_dir``: a store key describes snlab's own models only. Resume it by passing the same models again.

    ``cfg.resume=True`` continues from ``<run_dir>/checkpoint.pt`` when it exists, and may raise
    ``iterations`` (not under ``lr_decay``). Weights are then bitwise those of the longer run on CPU;
    the history keeps one extra row at the old last step, since every run logs its last step. A run
    directory that already holds a checkpoint is never overwritten silently.
    A non-finite loss ends the run with status "diverged" (a result, not an exception). While it trains,
    the run holds ``<run_dir>/.lock``: a second writer of the same directory gets ``files.Busy`` at once.
    """
    if (G is None) != (D is None):
        raise ValueError("pass both G and D (your own models), or neither (snlab's, from cfg.arch)")
    if G is not None and not cfg.out_dir:
        raise ValueError("a run of your own models needs cfg.out_dir: a store key describes snlab's models only")
    run_dir = Path(cfg.out_dir) if cfg.out_dir else default_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(run_dir / ".lock"):
        return _train_locked(cfg, run_dir, None if G is None else (G, D), list(callbacks))


def _train_locked(cfg: TrainConfig, run_dir: Path, models=None, callbacks=()) -> TrainResult:
    trainer = prepare_run(cfg, run_dir, models)
    return finish_run(trainer, trainer.fit(run_dir, default_callbacks(cfg, run_dir) + list(callbacks)))


def prepare_run(cfg: TrainConfig, run_dir: Path, models=None) -> Trainer:
    """The ``Trainer`` of the run ``cfg`` in ``run_dir`` (whose lock the caller holds), resumed from its
    checkpoint when there is one and ``cfg.resume``; the directory marked in progress, its config written, and
    the temporary files of a writer killed mid-write removed."""
    ckpt = run_dir / "checkpoint.pt"
    for folder in (run_dir, run_dir / "samples"):
        remove_stale_temporaries(folder)
    trainer = Trainer(cfg, models)
    if ckpt.exists():
        if not cfg.resume:
            raise FileExistsError(f"{run_dir} already holds a run (checkpoint.pt); pass resume=True "
                                  "(--resume) to continue it, or choose another out_dir")
        if not (run_dir / "config.json").exists():
            raise ValueError(f"{run_dir} holds a checkpoint but no config.json, so what it trained is unknown: "
                             "put config.json back, or delete the directory to train the run from the start")
        old = json.loads((run_dir / "config.json").read_text())
        new = json.loads(json.dumps(cfg.run_fields()))
        changed = sorted(k for k in new if k in old and old[k] != new[k])
        if changed:
            raise ValueError(f"cannot resume {run_dir}: config differs in {', '.join(changed)}")
        # RNG states must stay on the CPU; load_state_dict moves weights and Adam state to the modules' device.
        trainer.load_state_dict(load_checkpoint(ckpt))
        if cfg.iterations < trainer.step:
            raise ValueError(f"cannot resume {run_dir} with iterations={cfg.iterations}: it has trained "
                             f"{trainer.step} G updates already (a run is extended, never cut short)")
        history = run_dir / "history.csv"
        if history.exists():
            rows = pd.read_csv(history).to_dict("records")
            trainer.rows = [r for r in rows if r["step"] <= trainer.step]
    (run_dir / "status.json").unlink(missing_ok=True)  # the run is in progress again
    atomic_write_text(cfg.to_json(), run_dir / "config.json")
    return trainer


def finish_run(trainer: Trainer, status: str, **facts) -> TrainResult:
    """Write how ``trainer``'s run ended (``status.json``, with ``facts``; a complete run's ``spectra.csv``);
    nothing for a run "removed" (its directory went while it trained in a pack: ``snlab.pack``)."""
    run_dir, cfg = trainer.run_dir, trainer.cfg
    if status == "removed":
        return TrainResult(run_dir, pd.DataFrame(trainer.rows), trainer.G, trainer.D, cfg, status)
    if status == "complete":  # D's final spectra travel with the run's compact record (``results.spectra``)
        atomic_write_text(normalized_spectra(trainer.D).to_csv(index=False), run_dir / "spectra.csv")
    atomic_write_text(json.dumps({"status": status, "step": trainer.step, "seconds": round(trainer.seconds, 3),
                                  "device": str(trainer.device), "speedup": trainer.speedup, "machine": machine(),
                                  **facts}, indent=2), run_dir / "status.json")
    return TrainResult(run_dir, pd.DataFrame(trainer.rows), trainer.G, trainer.D, cfg, status)
