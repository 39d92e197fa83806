"""What defines a run: ``TrainConfig`` (the fields, their checks, their documentation, which of them
make a run's identity) and the models a config starts from."""
from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass

import torch

from snlab.data import dataset_info
from snlab.losses import get_loss
from snlab.methods import get_method
from snlab.models import ARCHS, build_models
from snlab.settings import get_config, get_preset, get_setting
from snlab.speed import SPEEDUPS


def _identity(kind: str, default):
    """A field whose place in a run's identity (``TrainConfig.run_fields``) is not the default "always" (it
    changes the result): "never" (where or how fast the run goes, how it is logged or measured; ``iterations``
    only while ``lr_decay`` is off), or "when set" (added after runs were stored: part of the identity only
    when truthy, so no stored run's key changes). tests/test_results.py pins the keys of every stored run,
    so a field added with the wrong kind shows up as a failing test, not as sweeps that silently retrain."""
    if kind not in ("never", "when set"):
        raise ValueError(f"unknown identity kind {kind!r}; valid: never, when set (none: always)")
    return dataclasses.field(default=default, metadata={"identity": kind})


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

    #: Training data: a built-in dataset (``snlab.data.DATASETS``) or folder:PATH (your images, 32×32 RGB).
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
    #: G(z, y) with y uniform over classes, D(x, y) on labeled real batches; or "ac": D(x) scores without
    #: labels and an auxiliary classifier predicts them (AC-WGAN-GP, Table 8).
    conditional: str = _identity("when set", "")
    #: G updates to train (each followed by n_dis D updates).
    iterations: int | None = _identity("never", None)
    #: Real and fake images per D update.
    batch_size: int | None = None
    #: Samples per G update (None: ``batch_size``); the official ResNet configs use 128 against D's 64.
    g_batch_size: int | None = _identity("when set", None)
    #: Multiplier of every channel count (the cpu preset: 1/8).
    width: float | None = None
    #: Width of D's last conv relative to the paper's (Fig 4).
    final_width: float = 1.0
    #: D's channel counts relative to ``width`` (None: 1; the "D widths ×1.5" rows of Tables 7 and 8: 1.5).
    d_width: float | None = _identity("when set", None)
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
    lr_decay_start: int = _identity("when set", 0)
    #: Seed of the initialization, data order and z draws.
    seed: int = 0
    #: Run directory (default: ``runs/<dataset>-<method>-…-<hash>``).
    out_dir: str | None = _identity("never", None)
    #: Where to train: auto (a GPU when there is one), cpu, cuda, cuda:N.
    device: str = _identity("never", "auto")
    #: Continue from the run directory's checkpoint.
    resume: bool = _identity("never", False)
    #: Where the datasets are (default: data/, $SNLAB_DATA, then Debian's location).
    data_dir: str | None = _identity("never", None)
    #: Allow downloading the dataset.
    download: bool = _identity("never", False)
    #: G updates between history rows.
    log_every: int | None = None
    #: G updates between sample grids (0: none).
    sample_every: int | None = _identity("never", None)
    #: G updates between checkpoints (a multiple of log_every).
    checkpoint_every: int | None = _identity("never", None)
    #: Every ``eval_every`` G updates (0: never), IS and FID of ``eval_samples`` samples against the whole
    #: test split join the history row, named for the extractor (``snlab.metrics.evaluate``).
    eval_every: int | None = _identity("never", None)
    #: Generated samples per training-time evaluation.
    eval_samples: int | None = _identity("never", None)
    #: Features for IS/FID: auto, inception (the paper's), fmnist (the offline classifier's).
    eval_extractor: str = _identity("never", "auto")
    #: Also log the operator norm of every D conv (``spectral.OperatorNorms``: power iteration,
    #: warm-started, 30 iterations per log step), for Fig 9.
    log_operator_norms: bool = _identity("when set", False)
    #: Also log D's loss (no penalty) on fixed batches of 512 training and 512 held-out (test) real images
    #: against 512 fixed-z fakes, in eval mode: ``critic_train`` / ``critic_heldout`` (Fig 15a).
    log_heldout_loss: bool = _identity("when set", False)
    #: Real and fake through D in one call per D loss (one batch of both): SN's power iteration runs once for
    #: them instead of twice (the gradient penalty's and G's calls of D still make their own). Changes the
    #: numbers, so part of the identity when on; refused for BN, whose batch statistics would mix them.
    joint_d: bool = _identity("when set", False)
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
    progress: bool = _identity("never", True)
    #: Also log history rows and sample grids to TensorBoard under ``<run_dir>/tb`` (``snlab.monitor``).
    tensorboard: bool = _identity("never", False)
    #: How G and D execute (``SPEEDUPS``; "auto": ``AUTO_SPEEDUP`` for the device). Speed only: every choice
    #: computes the same updates up to float rounding, so it is not part of a run's identity; bitwise
    #: resume (CPU) holds when a run is resumed with the choice it started with.
    speedup: str = _identity("never", "auto")

    #: Fields that count something: whole numbers only (a 2.5 or a "10" is refused, not rounded).
    WHOLE = ("iterations", "batch_size", "g_batch_size", "n_dis", "lr_decay_start", "seed", "log_every",
             "sample_every", "checkpoint_every", "eval_every", "eval_samples", "n_power_iterations")
    #: Fields that must be > 0, and fields that must be ≥ 0, when set.
    POSITIVE = ("width", "final_width", "d_width", "lr", "clip_value")
    NON_NEGATIVE = ("gp_lambda", "ortho_coef", "lr_decay_start", "seed")
    #: Switches: True or False only (joint_d=1 would otherwise train the same run under another key).
    FLAGS = ("lr_decay", "gradient_penalty", "log_operator_norms", "log_heldout_loss", "joint_d", "progress",
             "tensorboard")

    def _check_numbers(self) -> None:
        for name in self.FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
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
        self._check_names()
        self._fill_defaults()
        self._check_numbers()
        self._check_counts()
        self._check_conditional()
        self._check_evaluation()
        self._check_data_kind()

    def _check_names(self) -> None:
        """Every name field is one of its valid values; ``loss`` and ``gradient_penalty`` from the method."""
        method = get_method(self.method)
        get_setting(self.setting)
        get_preset(self.preset)
        dataset_info(self.dataset)
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; valid: {', '.join(ARCHS)}")
        if self.loss is None:
            self.loss = method.loss
        get_loss(self.loss)
        if self.gradient_penalty is None:
            self.gradient_penalty = method.gradient_penalty
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"unknown device {self.device!r}; valid: auto, cpu, cuda, cuda:N")
        if self.speedup not in ("auto", *SPEEDUPS):
            raise ValueError(f"unknown speedup {self.speedup!r}; valid: auto, {', '.join(SPEEDUPS)}")
        if self.joint_d and method.batch_statistics:
            raise ValueError(f"joint_d would mix real and fake in {self.method}'s batch statistics; valid with every "
                             "method whose D has no batch normalization (not bn)")
        from snlab.metrics.evaluation import EXTRACTORS
        if self.eval_extractor not in EXTRACTORS:
            raise ValueError(f"unknown eval_extractor {self.eval_extractor!r}; valid: {', '.join(EXTRACTORS)}")

    def _fill_defaults(self) -> None:
        """None fields from the preset and the setting (Table 1)."""
        preset, setting = get_preset(self.preset), get_setting(self.setting)
        for name in PRESET_FIELDS:
            if getattr(self, name) is None:
                setattr(self, name, preset[name])
        for name in ("lr", "beta1", "beta2", "n_dis"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(setting, name))

    def _check_counts(self) -> None:
        """Counts of updates and samples are ≥ 1 and fit each other; equivalent values made one (one run, one key)."""
        for f in dataclasses.fields(self):  # 1 and 1.0 are one run (and one run-directory key)
            if f.type in ("float", "float | None") and isinstance(getattr(self, f.name), int):
                setattr(self, f.name, float(getattr(self, f.name)))
        for name in ("iterations", "batch_size", "log_every", "checkpoint_every", "n_dis"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.g_batch_size is not None and self.g_batch_size < 1:
            raise ValueError(f"g_batch_size must be >= 1 (or None: batch_size), got {self.g_batch_size}")
        if self.g_batch_size == self.batch_size:
            self.g_batch_size = None
        if self.d_width == 1.0:
            self.d_width = None
        if not self.lr_decay:
            self.lr_decay_start = 0  # unused without decay
        elif self.speedup == "cudagraphs":
            raise ValueError("speedup 'cudagraphs' replays a fixed learning rate; lr_decay needs 'eager' or 'compile'")
        elif not 0 <= self.lr_decay_start < self.iterations:
            raise ValueError(f"lr_decay_start must be in [0, iterations={self.iterations}), got {self.lr_decay_start}")
        if self.checkpoint_every % self.log_every:
            raise ValueError(f"checkpoint_every ({self.checkpoint_every}) must be a multiple of log_every "
                             f"({self.log_every}), so a resumed run logs the same rows")
        if self.sample_every < 0:
            raise ValueError(f"sample_every must be >= 0 (0 disables samples), got {self.sample_every}")

    def _check_evaluation(self) -> None:
        from snlab.metrics.evaluation import MIN_FID_SAMPLES
        if dataset_info(self.dataset).channels == 0 and self.eval_every == get_preset(self.preset)["eval_every"]:
            self.eval_every = 0  # the preset's image metrics do not apply to 2-D points
        if dataset_info(self.dataset).channels == 0 and self.eval_every:
            raise ValueError(f"eval_every must be 0 for 2-D point data ({self.dataset}); "
                             "use snlab.mixture.mode_coverage")
        if self.eval_every < 0 or (self.eval_every and self.eval_samples < MIN_FID_SAMPLES):
            raise ValueError(f"eval_every must be >= 0, and eval_samples >= {MIN_FID_SAMPLES} when evaluating; got "
                             f"eval_every={self.eval_every}, eval_samples={self.eval_samples}")
        if self.eval_every and self.eval_every % self.log_every:
            raise ValueError(f"eval_every ({self.eval_every}) must be a multiple of log_every ({self.log_every})")

    def _check_data_kind(self) -> None:
        """2-D point data goes with the MLP and no image-only logging; images with the CNNs."""
        point_data = dataset_info(self.dataset).channels == 0
        if point_data and self.log_heldout_loss:
            raise ValueError(f"log_heldout_loss needs an image dataset with a test split, not {self.dataset!r}")
        if point_data and self.log_operator_norms:
            raise ValueError("log_operator_norms needs an image dataset: the MLP has no convolutions")
        if point_data and self.arch != "mlp":
            raise ValueError(f"dataset {self.dataset!r} is 2-D point data: use arch='mlp'")
        if not point_data and self.arch == "mlp":
            raise ValueError(f"arch 'mlp' is for the 2-D point datasets (ring8, grid25), not {self.dataset!r}")
        if self.arch == "mlp" and self.d_width:
            raise ValueError(f"d_width scales D's channels; arch 'mlp' has fixed widths (got d_width={self.d_width})")

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
        if self.gradient_penalty and self.conditional != "ac":
            raise ValueError(f"a gradient penalty with D's {self.conditional!r} head is not defined by the paper (it "
                             "would need labels for the interpolates); use conditional 'ac' (AC-WGAN-GP, whose "
                             "score takes no labels), an unconditional run, or a method without GP")
        if self.log_heldout_loss or self.log_operator_norms:
            raise ValueError("log_heldout_loss and log_operator_norms are for unconditional runs (Figs 15, 9)")

    def run_fields(self) -> dict:
        """The fields that determine the run's result: its identity for resuming and for run-directory keys.

        ``iterations`` joins them under ``lr_decay``, whose schedule depends on it.
        """
        fields = {}
        for f in dataclasses.fields(self):
            kind, value = f.metadata.get("identity", "always"), getattr(self, f.name)
            if kind == "never" and not (f.name == "iterations" and self.lr_decay) or kind == "when set" and not value:
                continue
            fields[f.name] = value
        return fields

    def to_json(self) -> str:
        """config.json: every field but those naming places on this machine or the resume flag."""
        skip = {"out_dir", "resume", "progress", "data_dir", "download"}
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if k not in skip}, indent=2)


def build_run_models(cfg: TrainConfig):
    """(G, D) for ``cfg``, initialised from ``cfg.seed`` (what a run starts from, before any update)."""
    info = dataset_info(cfg.dataset)
    torch.manual_seed(cfg.seed)
    return build_models(cfg.arch, cfg.method, info.resolution, info.channels, cfg.width,
                        info.n_classes if cfg.conditional else 0, head=cfg.conditional or "projection",
                        final_width=cfg.final_width, d_width=cfg.d_width or 1.0, lrelu_slope=cfg.lrelu_slope,
                        n_power_iterations=cfg.n_power_iterations, clip_value=cfg.clip_value)
