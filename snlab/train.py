"""One training loop for every method: ``TrainConfig`` → run directory.

A run directory holds ``config.json`` (the resolved config), ``history.csv`` (one row per logged G
update), ``samples/step_XXXXXXX.png`` (fixed-z sample grids), ``checkpoint.pt`` (the latest state,
written atomically), ``status.json`` ("complete" or "diverged", written when the run ends) and, once
complete, ``spectra.csv`` (D's normalized squared singular values, ``spectral.normalized_spectra``).
Everything but the checkpoint (and TensorBoard's ``tb/``) is the run's compact record, committed under
``results/``.
"""
from __future__ import annotations

import dataclasses
import json
import numbers
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from snlab import normalizers
from snlab.cudagraph import GraphedIteration
from snlab.data import dataset_info, load_dataset, to_device
from snlab.files import atomic_save, atomic_write_text, exclusive, load_checkpoint
from snlab.losses import get_loss, gradient_penalty
from snlab.methods import get_method
from snlab.models import ARCHS, build_models, generate
from snlab.settings import get_config, get_preset, get_setting
from snlab.spectral import OperatorNorms, layer_label, normalized_spectra, spectral_norms

#: Fields a preset fills when the config leaves them None (``snlab.settings.PRESETS``).
PRESET_FIELDS = ("iterations", "batch_size", "width", "lr_decay", "log_every", "sample_every", "checkpoint_every",
                 "eval_every", "eval_samples")


@dataclass
class TrainConfig:
    """Everything that defines a run. ``None`` fields come from ``preset``; ``loss=None`` from the method.

    iterations counts generator updates; each is followed by ``n_dis`` D updates.
    lr_decay decays both learning rates linearly to 0 at ``iterations``, from G update ``lr_decay_start``
    (so a decayed run cannot be extended on resume).
    log_every / sample_every / checkpoint_every are in G updates (0 disables samples).
    """

    #: Training data (``snlab.data.DATASETS``).
    dataset: str = "fashion_mnist"
    #: D's normalization or regularization (``snlab.methods.METHODS``).
    method: str = "sn"
    #: Adam's α, β1, β2 and n_dis: Table 1's A–F, or "resnet".
    setting: str = "C"
    #: GAN loss (standard, hinge, wasserstein); None: the method's.
    loss: str | None = None
    #: Add the gradient penalty to D's loss (None: as the method does; App. E adds it to WN, SN-γ, Frobenius).
    gradient_penalty: bool | None = None
    #: Run size (smoke, cpu, paper): fills every size field left unset.
    preset: str = "cpu"
    #: Network: the paper's standard CNN, its ResNet, or an MLP for 2-D points.
    arch: str = "standard"
    #: "" (unconditional), or a class-conditional ResNet with D's head "projection" or "concat" (Table 6c):
    #: G(z, y) with y uniform over classes, D(x, y) on labeled real batches.
    conditional: str = ""
    #: G updates to train (each followed by n_dis D updates).
    iterations: int | None = None
    #: Real and fake images per D update.
    batch_size: int | None = None
    #: Samples per G update (None: ``batch_size``); the official ResNet configs use 128 against D's 64.
    g_batch_size: int | None = None
    #: Multiplier of every channel count (the cpu preset: 1/8).
    width: float | None = None
    #: Width of D's last conv relative to the paper's (Fig 4).
    final_width: float = 1.0
    #: Adam's learning rate α (None: the setting's).
    lr: float | None = None
    #: Adam's β1 (None: the setting's).
    beta1: float | None = None
    #: Adam's β2 (None: the setting's).
    beta2: float | None = None
    #: D updates per G update (None: the setting's; Fig 11 varies it).
    n_dis: int | None = None
    #: Decay both learning rates linearly to 0 at ``iterations``.
    lr_decay: bool | None = None
    #: G update from which ``lr_decay`` decays linearly to 0 at ``iterations`` (ImageNet: 400k of 450k).
    lr_decay_start: int = 0
    #: Seed of the initialization, data order and z draws.
    seed: int = 0
    #: Run directory (default: ``runs/<dataset>-<method>-…-<hash>``).
    out_dir: str | None = None
    #: Where to train: auto (a GPU when there is one), cpu, cuda, cuda:N.
    device: str = "auto"
    #: Continue from the run directory's checkpoint.
    resume: bool = False
    #: Where the datasets are (default: data/, $SNLAB_DATA, then Debian's location).
    data_dir: str | None = None
    #: Allow downloading the dataset.
    download: bool = False
    #: G updates between history rows.
    log_every: int | None = None
    #: G updates between sample grids (0: none).
    sample_every: int | None = None
    #: G updates between checkpoints (a multiple of log_every).
    checkpoint_every: int | None = None
    #: Every ``eval_every`` G updates (0: never), IS and FID of ``eval_samples`` samples against the whole
    #: test split join the history row, named for the extractor (``snlab.metrics.evaluate``).
    eval_every: int | None = None
    #: Generated samples per training-time evaluation.
    eval_samples: int | None = None
    #: Features for IS/FID: auto, inception (the paper's), fmnist (the offline classifier's).
    eval_extractor: str = "auto"
    #: Also log the operator norm of every D conv (``spectral.OperatorNorms``: power iteration,
    #: warm-started, 30 iterations per log step), for Fig 9.
    log_operator_norms: bool = False
    #: Also log D's loss (no penalty) on fixed batches of 512 training and 512 held-out (test) real images
    #: against 512 fixed-z fakes, in eval mode: ``critic_train`` / ``critic_heldout`` (Fig 15a).
    log_heldout_loss: bool = False
    #: SN's power iterations per forward call (Algorithm 1: 1).
    n_power_iterations: int = 1
    #: λ of the gradient penalty.
    gp_lambda: float = 10.0
    #: Weight clipping's bound c: D's parameters are kept in [−c, c].
    clip_value: float = 0.01
    #: β of the orthonormal penalty β·Σ‖WᵀW − I‖²_F. The paper gives none (docs/paper.md §3); our choice.
    ortho_coef: float = 0.1
    #: Negative slope of D's leaky ReLUs.
    lrelu_slope: float = 0.1
    #: Show a progress bar.
    progress: bool = True
    #: Also log history rows and sample grids to TensorBoard under ``<run_dir>/tb`` (``snlab.monitor``).
    tensorboard: bool = False
    #: How G and D execute (``SPEEDUPS``; "auto": ``AUTO_SPEEDUP`` for the device). Speed only: every choice
    #: computes the same updates up to float rounding, so it is not part of a run's identity; bitwise
    #: resume (CPU) holds when a run is resumed with the choice it started with.
    speedup: str = "auto"

    #: Fields that count something: whole numbers only (a 2.5 or a "10" is refused, not rounded).
    WHOLE = ("iterations", "batch_size", "g_batch_size", "n_dis", "lr_decay_start", "seed", "log_every",
             "sample_every", "checkpoint_every", "eval_every", "eval_samples", "n_power_iterations")
    #: Fields that must be > 0, and fields that must be ≥ 0, when set.
    POSITIVE = ("width", "final_width", "lr", "clip_value")
    NON_NEGATIVE = ("gp_lambda", "ortho_coef", "lr_decay_start", "seed")

    def _check_numbers(self) -> None:
        for name in self.WHOLE:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
        for name in (*self.POSITIVE, *self.NON_NEGATIVE, "beta1", "beta2", "lrelu_slope"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
                raise ValueError(f"{name} must be a number, got {value!r}")
        for name in self.POSITIVE:
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in self.NON_NEGATIVE:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("beta1", "beta2"):
            if getattr(self, name) is not None and not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")

    def __post_init__(self):
        get_method(self.method)
        get_setting(self.setting)
        preset = get_preset(self.preset)
        dataset_info(self.dataset)
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; valid: {', '.join(ARCHS)}")
        if self.loss is None:
            self.loss = get_method(self.method).loss
        get_loss(self.loss)
        if self.gradient_penalty is None:
            self.gradient_penalty = get_method(self.method).gradient_penalty
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"unknown device {self.device!r}; valid: auto, cpu, cuda, cuda:N")
        if self.speedup not in ("auto", *SPEEDUPS):
            raise ValueError(f"unknown speedup {self.speedup!r}; valid: auto, {', '.join(SPEEDUPS)}")
        for name in PRESET_FIELDS:
            if getattr(self, name) is None:
                setattr(self, name, preset[name])
        setting = get_setting(self.setting)
        for name in ("lr", "beta1", "beta2", "n_dis"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(setting, name))
        self._check_numbers()
        for f in dataclasses.fields(self):  # 1 and 1.0 are one run (and one run-directory key)
            if f.type in ("float", "float | None") and isinstance(getattr(self, f.name), int):
                setattr(self, f.name, float(getattr(self, f.name)))
        for name in ("iterations", "batch_size", "log_every", "checkpoint_every", "n_dis"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        self._check_conditional()
        if self.g_batch_size is not None and self.g_batch_size < 1:
            raise ValueError(f"g_batch_size must be >= 1 (or None: batch_size), got {self.g_batch_size}")
        if self.g_batch_size == self.batch_size:
            self.g_batch_size = None  # one run, one key
        if not self.lr_decay:
            self.lr_decay_start = 0  # unused without decay
        elif not 0 <= self.lr_decay_start < self.iterations:
            raise ValueError(f"lr_decay_start must be in [0, iterations={self.iterations}), got {self.lr_decay_start}")
        if self.checkpoint_every % self.log_every:
            raise ValueError(f"checkpoint_every ({self.checkpoint_every}) must be a multiple of log_every "
                             f"({self.log_every}), so a resumed run logs the same rows")
        from snlab.metrics.evaluation import EXTRACTORS
        if self.eval_extractor not in EXTRACTORS:
            raise ValueError(f"unknown eval_extractor {self.eval_extractor!r}; valid: {', '.join(EXTRACTORS)}")
        point_data = dataset_info(self.dataset).channels == 0
        if point_data and self.eval_every and preset["eval_every"] == self.eval_every:
            self.eval_every = 0  # the preset's image metrics do not apply to 2-D points
        if point_data and self.eval_every:
            raise ValueError(f"eval_every must be 0 for 2-D point data ({self.dataset}); use snlab.mixture.mode_coverage")
        if self.eval_every < 0 or (self.eval_every and self.eval_samples < 1):
            raise ValueError(f"eval_every must be >= 0 and eval_samples >= 1 when evaluating; got "
                             f"eval_every={self.eval_every}, eval_samples={self.eval_samples}")
        if self.eval_every and self.eval_every % self.log_every:
            raise ValueError(f"eval_every ({self.eval_every}) must be a multiple of log_every ({self.log_every})")
        if self.sample_every < 0:
            raise ValueError(f"sample_every must be >= 0 (0 disables samples), got {self.sample_every}")
        if point_data and self.log_heldout_loss:
            raise ValueError(f"log_heldout_loss needs an image dataset with a test split, not {self.dataset!r}")
        if point_data and self.log_operator_norms:
            raise ValueError("log_operator_norms needs an image dataset: the MLP has no convolutions")
        if point_data and self.arch != "mlp":
            raise ValueError(f"dataset {self.dataset!r} is 2-D point data: use arch='mlp'")
        if not point_data and self.arch == "mlp":
            raise ValueError(f"arch 'mlp' is for the 2-D point datasets (ring8, grid25), not {self.dataset!r}")

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Each field's ``#:`` comment, as one line (the CLI's help text): read from this class's source, so
        the documentation a reader sees beside a field is the one ``--help`` prints."""
        import ast
        import inspect

        lines = inspect.getsource(cls).splitlines()
        docs = {}
        for node in ast.parse("\n".join(lines)).body[0].body:
            if isinstance(node, ast.AnnAssign):
                above, i = [], node.lineno - 2
                while i >= 0 and lines[i].strip().startswith("#:"):
                    above.insert(0, lines[i].strip().removeprefix("#:").strip())
                    i -= 1
                docs[node.target.id] = " ".join(above).replace("``", "")
        return docs

    @classmethod
    def named(cls, name: str, **overrides) -> TrainConfig:
        """One of the paper's named configurations (``snlab.settings.CONFIGS``), ``overrides`` applied."""
        return cls(**{**get_config(name), **overrides})

    def _check_conditional(self) -> None:
        from snlab.models.resnet import HEADS
        if not self.conditional:
            return
        if self.conditional not in HEADS:
            raise ValueError(f"unknown conditional head {self.conditional!r}; valid: '' (unconditional), "
                             f"{', '.join(HEADS)}")
        info = dataset_info(self.dataset)
        if self.arch != "resnet":
            raise ValueError(f"conditional runs need arch='resnet' (conditional BN, projection/concat D), "
                             f"not {self.arch!r}")
        if not info.n_classes or info.splits[0] == "unlabeled":
            raise ValueError(f"dataset {self.dataset!r} trains on unlabeled data: it cannot be conditional")
        if self.gradient_penalty:
            raise ValueError("a gradient penalty with a conditional D is not defined by the paper (it would need "
                             "labels for the interpolates); use an unconditional run or a method without GP")
        if self.log_heldout_loss or self.log_operator_norms:
            raise ValueError("log_heldout_loss and log_operator_norms are for unconditional runs (Figs 15, 9)")

    #: Fields that say where a run goes, how it is shown or measured, or how long it runs: they may
    #: change when a run is resumed, and do not enter its identity.
    NOT_IDENTITY = ("out_dir", "resume", "progress", "tensorboard", "device", "speedup", "data_dir", "download",
                    "iterations", "checkpoint_every", "sample_every", "eval_every", "eval_samples", "eval_extractor")
    #: Fields added after runs were stored (logging options, conditioning, the ResNet configs' extras):
    #: part of the identity when set, left out when off (falsy), so existing run keys never change.
    IDENTITY_WHEN_ON = ("log_heldout_loss", "log_operator_norms", "conditional", "g_batch_size", "lr_decay_start")

    def run_fields(self) -> dict:
        """The fields that determine the run's result: its identity for resuming and for run-directory keys.

        ``iterations`` joins them under ``lr_decay``, whose schedule depends on it.
        """
        skip = set(self.NOT_IDENTITY) - ({"iterations"} if self.lr_decay else set())
        skip |= {k for k in self.IDENTITY_WHEN_ON if not getattr(self, k)}
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in skip}

    def to_json(self) -> str:
        """config.json: every field but those naming places on this machine or the resume flag."""
        skip = {"out_dir", "resume", "progress", "data_dir", "download"}
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if k not in skip}, indent=2)


@dataclass
class TrainResult:
    """What ``train`` returns: the run directory, its history, the trained modules, and how it ended."""

    run_dir: Path
    history: pd.DataFrame
    generator: torch.nn.Module
    discriminator: torch.nn.Module
    config: TrainConfig
    status: str = "complete"


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


#: Ways to execute G and D (``TrainConfig.speedup``): PyTorch eager; channels_last memory format;
#: ``torch.compile`` (Inductor); and each training iteration captured once as a CUDA graph and replayed
#: (``snlab.cudagraph``; on the CPU the same code runs eagerly).
SPEEDUPS = ("eager", "channels_last", "compile", "cudagraphs")
#: What "auto" picks, per device type: the fastest correct choice measured by ``python -m snlab bench
#: throughput`` (README, "Speed"): CUDA graphs on a GPU (3.9× eager on an H100 at paper width; eager
#: when the learning rate decays, which a graph cannot replay). On the CPU channels_last was 1.12–1.16×
#: faster, but eager stays the default: the stored cpu-preset results were trained eager, and a rerun
#: reproduces them bitwise.
AUTO_SPEEDUP = {"cpu": "eager", "cuda": "cudagraphs"}


def resolve_speedup(cfg: TrainConfig, device: torch.device) -> str:
    """``cfg.speedup``, with "auto" resolved for ``device`` (``AUTO_SPEEDUP``)."""
    if cfg.speedup != "auto":
        return cfg.speedup
    speedup = AUTO_SPEEDUP.get(device.type, "eager")
    return "eager" if speedup == "cudagraphs" and cfg.lr_decay else speedup


def apply_speedup(G: torch.nn.Module, D: torch.nn.Module, speedup: str) -> None:
    """Prepare ``G`` and ``D`` in place for ``speedup`` (``SPEEDUPS``; "cudagraphs" needs nothing here).

    ``Module.compile`` keeps the modules' state_dict keys, so checkpoints do not depend on the choice.
    """
    for module in (G, D):
        if speedup == "channels_last":
            module.to(memory_format=torch.channels_last)
        elif speedup == "compile":
            module.compile()


def _save_samples(x: torch.Tensor, path: Path) -> None:
    """Samples as an image grid (8 per row; conditional runs: one class per row), or a scatter plot for
    2-D points."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if x.dim() == 4:
        from torchvision.utils import save_image
        save_image(x, path, nrow=8, normalize=True, value_range=(-1, 1))
    else:
        from snlab.plots import save_scatter
        save_scatter(x, path)


def build_run_models(cfg: TrainConfig):
    """(G, D) for ``cfg``, initialised from ``cfg.seed`` (what a run starts from, before any update)."""
    info = dataset_info(cfg.dataset)
    torch.manual_seed(cfg.seed)
    return build_models(cfg.arch, cfg.method, info.resolution, info.channels, cfg.width,
                        info.n_classes if cfg.conditional else 0, head=cfg.conditional or "projection",
                        final_width=cfg.final_width, lrelu_slope=cfg.lrelu_slope,
                        n_power_iterations=cfg.n_power_iterations, clip_value=cfg.clip_value)


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


def run_status(run_dir: str | Path) -> str:
    """"complete" or "diverged" from ``status.json``; "partial" while a run has none (unfinished or running)."""
    status = Path(run_dir) / "status.json"
    return json.loads(status.read_text())["status"] if status.exists() else "partial"


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

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.method = get_method(cfg.method)
        self.loss = get_loss(cfg.loss)
        self.device = resolve_device(cfg.device)
        self.data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, download=cfg.download)
        if cfg.eval_every:  # fail now, not at the first evaluation, when no extractor fits
            from snlab.metrics.evaluation import resolve_extractor
            resolve_extractor(cfg.eval_extractor, cfg.dataset, verbose=False)
        G, D = build_run_models(cfg)
        self.G, self.D = G.to(self.device), D.to(self.device)
        self.speedup = resolve_speedup(cfg, self.device)
        apply_speedup(self.G, self.D, self.speedup)
        graphed = self.speedup == "cudagraphs"
        if graphed and cfg.lr_decay:
            raise ValueError("speedup 'cudagraphs' replays a fixed learning rate; lr_decay needs 'eager' or 'compile'")
        betas = (cfg.beta1, cfg.beta2)
        # On a GPU, fused Adam (a kernel or two per step; capturable, so a CUDA graph can hold it).
        # The CPU keeps the default implementation the stored runs were trained with.
        cuda = self.device.type == "cuda"
        adam = dict(betas=betas, fused=cuda or None, capturable=graphed and cuda)
        self.opt_g = torch.optim.Adam(self.G.parameters(), cfg.lr, **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), cfg.lr, **adam)
        self._graphed = GraphedIteration(self) if graphed else None
        self.rng = torch.Generator().manual_seed(cfg.seed)
        self.n_classes = dataset_info(cfg.dataset).n_classes if cfg.conditional else 0
        # Sample grids: 64 fixed z; conditional runs show 8 per class for the first 10 classes, a class per row.
        self.fixed_y = torch.arange(min(self.n_classes, 10)).repeat_interleave(8) if self.n_classes else None
        self.fixed_z = torch.randn(64 if self.fixed_y is None else len(self.fixed_y), G.z_dim,
                                   generator=torch.Generator().manual_seed(cfg.seed + 10_000))
        self.step, self.seconds, self.rows = 0, 0.0, []
        info = dataset_info(cfg.dataset)
        # Warm-started between log steps; a resumed run restarts the estimate (weights are unaffected).
        self._opnorms = OperatorNorms((info.channels, info.resolution, info.resolution), cfg.seed)
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
        return self.run_iteration(self.g_inputs(), [self.d_inputs() for _ in range(self.cfg.n_dis)])

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
        loss = self.loss.d(D(real), D(fake)) if y is None else self.loss.d(D(real, y_real), D(fake, y))
        if cfg.gradient_penalty:
            loss = loss + cfg.gp_lambda * gradient_penalty(D, real, fake, eps=eps)
        if self.method.orthonormal:
            loss = loss + cfg.ortho_coef * normalizers.orthonormal_penalty(D)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        if self.method.clip:
            normalizers.clip_(D, cfg.clip_value)
        return loss.detach()

    def g_step(self, inputs: tuple | None = None) -> torch.Tensor:
        """One G update on ``inputs`` (``g_inputs()``; None draws them); G's loss, detached."""
        self.D.requires_grad_(False)  # no D gradients are needed for G's update
        z, y = inputs or self.g_inputs()
        loss = self.loss.g(self.D(self.G(z)) if y is None else self.D(self.G(z, y), y))
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
    def fit(self, run_dir: Path) -> str:
        """Train from ``self.step`` to ``cfg.iterations`` G updates; returns "complete" or "diverged"."""
        cfg = self.cfg
        sums = torch.zeros(2, device=self.device)  # D loss, G loss summed since the last log row
        count, start = 0, time.perf_counter()
        bar = tqdm(total=cfg.iterations, initial=self.step, desc=f"{cfg.method}/{cfg.setting}",
                   unit="G-upd", disable=not cfg.progress, mininterval=2.0, dynamic_ncols=True)
        status = "complete"
        tb = None
        if cfg.tensorboard:
            from snlab.monitor import TensorBoard
            tb = TensorBoard(run_dir)
        while self.step < cfg.iterations:
            self._set_lr()
            sums += self.iteration()
            count += 1
            self.step += 1
            bar.update(1)
            last = self.step == cfg.iterations
            evaluated = False
            if self.step % cfg.log_every == 0 or last:
                finite = bool(torch.isfinite(sums).all())  # waits for the GPU: its work counts as training
                self.seconds += time.perf_counter() - start
                mean_d, mean_g = (sums / count).tolist()
                sums.zero_(); count = 0
                self.rows.append(self._log_row(mean_d, mean_g, with_sigmas=finite))
                evaluated = any(k.startswith("IS_") for k in self.rows[-1])
                if tb:
                    tb.row(self.rows[-1])
                start = time.perf_counter()  # "seconds" excludes logging and evaluation
                bar.set_postfix(loss_d=f"{mean_d:.3f}", loss_g=f"{mean_g:.3f}", refresh=False)
                if not finite:
                    status = "diverged"
                    break
            save = cfg.sample_every and (self.step % cfg.sample_every == 0 or last)
            if save or (tb and evaluated):  # fixed z (and classes), eval mode
                x = generate(self.G, self.fixed_z, self.fixed_y)
                if save:
                    _save_samples(x, run_dir / "samples" / f"step_{self.step:07d}.png")
                if tb and x.dim() == 4:
                    tb.samples(x, self.step)
            if self.step % cfg.checkpoint_every == 0 or last:
                self._checkpoint(run_dir)
        bar.close()
        if tb:
            tb.close()
        if status == "diverged":
            self._write_history(run_dir)
        return status

    def _log_row(self, loss_d: float, loss_g: float, with_sigmas: bool) -> dict:
        """Mean losses over the window, cumulative training seconds, lr, σ(W̄) per D layer (exact), metrics."""
        cfg = self.cfg
        row = {"step": self.step, "loss_d": loss_d, "loss_g": loss_g, "seconds": round(self.seconds, 3),
               "lr": self.opt_g.param_groups[0]["lr"]}
        if with_sigmas:  # a diverged D has non-finite weights, which SVD rejects
            row.update({f"sigma_{layer_label(name)}": s for name, s in spectral_norms(self.D).items()})
            if cfg.log_heldout_loss:
                row.update(self._heldout_losses())
            if cfg.log_operator_norms:
                row.update({f"opnorm_{layer_label(name)}": s for name, s in self._opnorms(self.D).items()})
            if cfg.eval_every and (self.step % cfg.eval_every == 0 or self.step == cfg.iterations):
                row.update(self._evaluate())
        return row

    def _heldout_losses(self) -> dict:
        """D's loss (no penalty) on the fixed training vs held-out real batches, same fixed fakes; eval mode,
        so SN's u is not advanced and the run is the one it would be without this logging."""
        was_training = self.D.training
        self.D.eval()
        with torch.no_grad():
            fake = self.D(generate(self.G, self._heldout["z"]).to(self.device))
            row = {f"critic_{k}": float(self.loss.d(self.D(self._heldout[k]), fake)) for k in ("train", "heldout")}
        self.D.train(was_training)
        return row

    def _evaluate(self) -> dict:
        """IS and FID (not counted in ``seconds``). z comes from the evaluation's own generator; training
        draws only from ``self.rng``, so evaluating does not change the run."""
        from snlab.metrics.evaluation import training_metrics
        cfg = self.cfg
        return training_metrics(self.G, cfg.dataset, cfg.eval_extractor, cfg.eval_samples, cfg.seed, cfg.data_dir,
                                intra_fid=bool(self.n_classes))

    def _write_history(self, run_dir: Path) -> None:
        atomic_write_text(pd.DataFrame(self.rows).to_csv(index=False), run_dir / "history.csv")

    def _checkpoint(self, run_dir: Path) -> None:
        # History first: on resume, rows past the checkpoint's step are dropped.
        self._write_history(run_dir)
        atomic_save(self.state_dict(), run_dir / "checkpoint.pt")


#: Fields that say how a run's metrics were measured: part of a store key, not of the resume identity.
EVAL_FIELDS = ("eval_every", "eval_samples", "eval_extractor")


def default_run_dir(cfg: TrainConfig, store: str | Path = "runs") -> Path:
    """``<store>/<dataset>-<method>-<setting>-s<seed>-i<iterations>-<hash>``: one directory per run identity,
    length and evaluation protocol (the hash covers ``run_fields``, ``iterations`` and the eval fields).
    A store entry is a result after that many G updates, measured that way: a 400-update run never
    stands in for a 200-update one, nor a run evaluated on 5,000 samples for one on 10,000. (An explicit
    ``out_dir`` with ``resume=True`` still extends a run.)"""
    import hashlib
    fields = {**cfg.run_fields(), **{k: getattr(cfg, k) for k in ("iterations", *EVAL_FIELDS)}}
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]
    return Path(store) / f"{cfg.dataset}-{cfg.method}-{cfg.setting}-s{cfg.seed}-i{cfg.iterations}-{key}"


def train(cfg: TrainConfig) -> TrainResult:
    """Train (or resume) the run ``cfg`` describes and return its ``TrainResult``.

    ``cfg.resume=True`` continues from ``<run_dir>/checkpoint.pt`` when it exists, and may raise
    ``iterations`` (not under ``lr_decay``). Weights are then bitwise those of the longer run on CPU;
    the history keeps one extra row at the old last step, since every run logs its last step. A run
    directory that already holds a checkpoint is never overwritten silently.
    A non-finite loss ends the run with status "diverged" (a result, not an exception). While it trains,
    the run holds ``<run_dir>/.lock``: a second writer of the same directory gets ``files.Busy`` at once.
    """
    run_dir = Path(cfg.out_dir) if cfg.out_dir else default_run_dir(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(run_dir / ".lock"):
        return _train_locked(cfg, run_dir)


def _train_locked(cfg: TrainConfig, run_dir: Path) -> TrainResult:
    ckpt = run_dir / "checkpoint.pt"
    trainer = Trainer(cfg)
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
    (run_dir / "config.json").write_text(cfg.to_json())
    status = trainer.fit(run_dir)
    if status == "complete":  # D's final spectra travel with the run's compact record (``results.spectra``)
        atomic_write_text(normalized_spectra(trainer.D).to_csv(index=False), run_dir / "spectra.csv")
    (run_dir / "status.json").write_text(json.dumps({"status": status, "step": trainer.step,
                                                     "seconds": round(trainer.seconds, 3),
                                                     "device": str(trainer.device), "speedup": trainer.speedup},
                                                    indent=2))
    return TrainResult(run_dir, pd.DataFrame(trainer.rows), trainer.G, trainer.D, cfg, status)
