"""The runs behind each figure, as config lists: one definition shared by every notebook that reads them.

Figs 1–3, 6 and Table 2 read the same A–F grid; building it here (not in each notebook) is what
makes the run store hand every notebook the same runs. Run lengths per preset are data below.
"""
from __future__ import annotations

from functools import partial

from snlab.config import TrainConfig
from snlab.settings import CONFIGS, TABLE1, get_preset
from snlab.sweep import default_run_dir, grid

#: Seeds of every figure's runs (the notebooks' ``seeds`` default): the issue's ≥ 3 per point.
SEEDS = (0, 1, 2)
#: Fig 1–2's methods, in the paper's bar order (docs/paper.md §6).
SETTINGS_METHODS = ("clip", "gan-gp", "wgan-gp", "bn", "ln", "wn", "orthonormal", "sn")
#: Fig 3's methods: weight clipping, WN and SN.
SPECTRA_METHODS = ("clip", "wn", "sn")
#: Fig 4's relative widths of D's last layer (docs/paper.md §6).
FINAL_WIDTHS = (0.5, 1, 2, 4, 6, 8)
#: Fig 11's D updates per G update.
N_DIS = (1, 2, 5, 10, 20)
#: Fig 15 / Table 7: WGAN-GP with each reparametrization of D's weights (App. E).
REPARAM_METHODS = ("wgan-gp", "frobenius", "wn", "sn-gamma")

#: G updates per run in the sweeps. paper: 100k (Figs 1–4, 15) and 10k (Fig 11), as the paper. cpu: the
#: laptop protocol, from the convergence study (docs/reproduction.md): at 8,000 G updates (setting C) only
#: WN had settled and at 3,000 (setting D) nothing had, so the A–F grid takes the next doubling of C,
#: 16,000 (Fig 4 too, at first: ``FINAL_WIDTH_ITERATIONS``), and Fig 11 (setting D's Adam) 8,000, our choice
#: above D's next doubling (6,000) since no D run had settled by half of it. Most of these cost tens of
#: core-hours (``snlab sweep <name> --status`` prices them); the committed ``results/`` holds the ones trained
#: so far.
SWEEP_ITERATIONS = {"smoke": 2, "cpu": 16_000, "paper": 100_000}
NDIS_ITERATIONS = {"smoke": 2, "cpu": 8_000, "paper": 10_000}
#: G updates of Fig 4's runs. cpu: 32,000, the next doubling after the A–F grid's 16,000, at which 1 of seed 0's
#: 12 runs had settled; extended to 32,000, 9 of them had (docs/reproduction.md, 2026-12-05).
FINAL_WIDTH_ITERATIONS = {"smoke": 2, "cpu": 32_000, "paper": 100_000}
#: G updates of the conditional runs (Figs 5, 13b; the paper preset takes the named config's, 450k on
#: ImageNet). cpu: 5,000 (n_dis 5, like setting D), our choice: 1,500 left IS still rising, and the
#: ResNet costs about 0.9 s per G update on one core.
CONDITIONAL_ITERATIONS = {"smoke": 2, "cpu": 5000}
#: The conditional smoke runs' eval samples: 50 per class, the least training-time intra-FID is logged at.
CONDITIONAL_SMOKE_SAMPLES = 500
#: Points on the conditional runs' metric curves.
CONDITIONAL_EVALS = 6
#: Samples for the end-of-run IS/FID (the smoke preset evaluates too, small, so tests see the columns).
EVAL_SAMPLES = {"smoke": 64}


#: IS/FID evaluations per sweep run (and checkpoints: a killed sweep loses at most 1/16 of a run). The
#: testability gate reads a run's FID at its end and at half its length, so every run needs both; with
#: the same schedule everywhere, a run that two sweeps share (the convergence study's and the A–F grid's
#: at equal length) is one store entry.
EVALS_PER_RUN = 16


def _base(preset: str, dataset: str, iterations: int | None, table: dict, **fields) -> dict:
    spec = get_preset(preset)  # a clear error for an unknown preset before the tables are indexed
    iterations = table[preset] if iterations is None else iterations  # 0 is refused by TrainConfig, not replaced
    samples = EVAL_SAMPLES.get(preset, spec["eval_samples"])
    log_every = spec["log_every"]
    every = max(1, iterations // EVALS_PER_RUN // log_every) * log_every
    return dict(preset=preset, dataset=dataset, iterations=iterations, eval_every=every,
                eval_samples=samples, sample_every=iterations, checkpoint_every=every, **fields)


def settings_grid(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS, iterations: int | None = None,
                  methods=SETTINGS_METHODS, settings=TABLE1, **fields) -> list[TrainConfig]:
    """Figs 1–3, 6, Table 2: every method × setting × seed, IS/FID at the last step."""
    return grid(_base(preset, dataset, iterations, SWEEP_ITERATIONS, **fields),
                method=methods, setting=settings, seed=seeds)


def final_width_sweep(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS,
                      iterations: int | None = None, widths=FINAL_WIDTHS, methods=("orthonormal", "sn"),
                      **fields) -> list[TrainConfig]:
    """Fig 4: setting C, D's last layer ``final_width`` × its original width, per method and seed."""
    return grid(_base(preset, dataset, iterations, FINAL_WIDTH_ITERATIONS, setting="C", **fields),
                method=methods, final_width=widths, seed=seeds)


def ndis_sweep(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS, iterations: int | None = None,
               n_dis=N_DIS, methods=("wn", "sn"), **fields) -> list[TrainConfig]:
    """Fig 11: setting D's Adam parameters with n_dis varied, a fixed count of G updates."""
    return grid(_base(preset, dataset, iterations, NDIS_ITERATIONS, setting="D", **fields),
                method=methods, n_dis=n_dis, seed=seeds)


#: G updates of Fig 15's runs. cpu: 12,800, 34 passes of D over Fashion-MNIST's 60,000 training images (× n_dis 5
#: × batch 32), above the 10 at which C7's gate admits a held-out gap (``claims.C7_MIN_EPOCHS``). At 3,750 (10
#: passes) and at 6,400 most seeds of WN and WGAN-GP had not settled; at 12,800 FID had fallen by 37–48% since
#: 6,400 in 8 of the 9 runs of the three methods the paper shows learning (WGAN-GP seed 1: 27%), so the gate
#: asks for the next doubling, which prices above a 2-core night (``docs/reproduction.md``, 2026-12-05).
REPARAM_ITERATIONS = {"smoke": 2, "cpu": 12_800, "paper": 100_000}
#: The widened D of Tables 7 and 8's last rows: every D channel count × 1.5.
APPENDIX_E_D_WIDTH = 1.5


def reparam_runs(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS, iterations: int | None = None,
                 methods=REPARAM_METHODS, setting: str = "A", **fields) -> list[TrainConfig]:
    """Fig 15 / Table 7's standard-CNN rows: WGAN-GP (gradient penalty, Wasserstein loss) with D
    reparametrized, setting A; held-out critic loss logged, IS/FID ``EVALS_PER_RUN`` times per run.
    Seed-major: a campaign stopped early holds whole seeds."""
    if "arch" in fields:
        raise ValueError("reparam_runs trains the standard CNN; Tables 7 and 8's ResNet rows are "
                         "appendix_e_resnet_runs(conditional='' or 'ac')")
    base = _base(preset, dataset, iterations, REPARAM_ITERATIONS, setting=setting, loss="wasserstein",
                 gradient_penalty=True, log_heldout_loss=True, **fields)
    return grid(base, seed=seeds, method=methods)


def appendix_e_resnet_runs(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS,
                           iterations: int | None = None, conditional: str = "", **fields) -> list[TrainConfig]:
    """The ResNet rows of Table 7 (``conditional=""``) or of Table 8 (``"ac"``: AC-WGAN-GP, with labels):
    WGAN-GP with D as built ("wgan-gp"), as γ·W̄_SN ("sn-gamma"), and as γ·W̄_SN with D's widths ×1.5
    (``d_width``), per seed. Gulrajani's optimizer (the ResNet setting, G batch twice D's; at the paper
    preset 100k G updates with linear decay) but SN-GAN's ResNet (Table 4: G width 256, sum pooling), not
    Gulrajani's (G width 128, mean pooling). Table 7's log the held-out critic loss (Fig 15's curves)."""
    length = iterations if iterations is not None or preset != "paper" else SWEEP_ITERATIONS["paper"]
    base = _resnet(preset, dataset, length, SWEEP_ITERATIONS, conditional, loss="wasserstein",
                   gradient_penalty=True, log_heldout_loss=not conditional, **fields)  # held-out: unconditional only
    return grid(base, seed=seeds, method=["wgan-gp", "sn-gamma"]) + grid(base, seed=seeds, method=["sn-gamma"],
                                                                         d_width=[APPENDIX_E_D_WIDTH])


def _resnet(preset: str, dataset: str, iterations: int | None, table: dict, conditional: str, **fields) -> dict:
    """The ResNet runs' fields: at the paper preset the named config (``settings.CONFIGS``) for the dataset
    (another ``iterations`` scales its decay start with it); smaller presets keep its setting, hinge loss
    and G batch twice D's, without LR decay (short runs)."""
    if preset == "paper":
        name = {"imagenet": f"imagenet_{conditional or 'unconditional'}", "stl10": "resnet_stl10"}.get(dataset,
                                                                                                   "resnet_cifar10")
        if name not in CONFIGS:
            heads = [n.removeprefix("imagenet_") for n in CONFIGS if n.startswith("imagenet_")]
            raise ValueError(f"the paper trained no {conditional!r} head on {dataset}: its ImageNet runs are "
                             f"{', '.join(heads)} (AC-WGAN-GP, Table 8, is CIFAR-10's)")
        base = {**CONFIGS[name], "dataset": dataset, "conditional": conditional}
        if iterations:
            base["lr_decay_start"] = base.get("lr_decay_start", 0) * iterations // base["iterations"]
            base["iterations"] = iterations
        return {**base, **fields}
    base = _base(preset, dataset, iterations, table,
                 **{"arch": "resnet", "setting": "resnet", "loss": "hinge", "conditional": conditional, **fields})
    return {**base, "g_batch_size": 2 * base.get("batch_size", get_preset(preset)["batch_size"])}


def conditional_runs(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS,
                     iterations: int | None = None, methods=("sn", "orthonormal"), head: str = "projection",
                     **fields) -> list[TrainConfig]:
    """Figs 5 / 13b: a class-conditional ResNet GAN (``head`` "projection" or "concat"), SN vs orthonormal,
    IS, FID and intra-FID logged ``CONDITIONAL_EVALS`` times per run (paper preset: every 10k updates)."""
    base = _resnet(preset, dataset, iterations, CONDITIONAL_ITERATIONS, head, **fields)
    if preset != "paper":
        log_every = get_preset(preset)["log_every"]
        base["eval_every"] = max(1, base["iterations"] // CONDITIONAL_EVALS // log_every) * log_every
    if preset == "smoke":
        base["eval_samples"] = CONDITIONAL_SMOKE_SAMPLES
    return grid(base, method=methods, seed=seeds)


def resnet_rows(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS, iterations: int | None = None,
                methods=("orthonormal", "sn"), **fields) -> list[TrainConfig]:
    """Table 2's ResNet rows: unconditional ResNet, hinge loss, the ResNet setting, per method and seed
    (the paper's ± is across seeds)."""
    return grid(_resnet(preset, dataset, iterations, SWEEP_ITERATIONS, "", **fields), method=methods, seed=seeds)


#: G updates of Fig 9's SN runs. cpu: 6,000, where all 3 seeds have learned (C1 needs them learning, not
#: settled); at 3,000 seed 2 had not (FID 328 against the line at 309; ``docs/reproduction.md``, 2026-12-04).
SIGMA_ITERATIONS = {"smoke": 4, "cpu": 6000, "paper": 100_000}


def sigma_runs(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS, iterations: int | None = None,
               setting: str = "C", **fields) -> list[TrainConfig]:
    """Fig 9: SN at ``setting``, σ(W̄) and the conv operator norms logged."""
    base = _base(preset, dataset, iterations, SIGMA_ITERATIONS, method="sn", setting=setting, log_operator_norms=True,
                 **fields)
    return grid(base, seed=seeds)


#: The convergence study's methods and settings: setting C (DCGAN's Adam, n_dis 1), where every method
#: learns in the paper, and the aggressive D (α = 1e-3, n_dis 5), where it shows WGAN-GP collapsing.
CONVERGENCE_METHODS = ("sn", "wn", "bn", "wgan-gp")
CONVERGENCE_SETTINGS = ("C", "D")
#: G updates of the convergence study per setting: long enough at the cpu width to see where FID
#: flattens (a one-seed probe of SN fell 25% per 1,000 updates at 1–2k, flat from ~9k at C), at ~70
#: core-minutes per seed on 2 cores.
CONVERGENCE_ITERATIONS = {"smoke": {"C": 4, "D": 2}, "cpu": {"C": 8000, "D": 3000},
                          "paper": {"C": 100_000, "D": 100_000}}


def convergence_runs(preset: str = "cpu", dataset: str = "fashion_mnist", seeds=SEEDS,
                     iterations: int | None = None, methods=CONVERGENCE_METHODS, settings=CONVERGENCE_SETTINGS,
                     **fields) -> list[TrainConfig]:
    """The convergence study: IS and FID ``EVALS_PER_RUN`` times per run, per method × setting × seed,
    seed-major (a campaign stopped early holds whole seeds). ``iterations`` overrides every setting's."""
    configs = []
    for seed in seeds:
        for setting in settings:
            length = CONVERGENCE_ITERATIONS[preset][setting] if iterations is None else iterations
            configs += grid(_base(preset, dataset, length, {}, setting=setting, seed=seed, **fields), method=methods)
    return configs


#: The sweeps by figure, for ``python -m snlab sweep <name>``.
SWEEPS = {"convergence": convergence_runs, "fig01": settings_grid, "fig04": final_width_sweep,
          "fig05": conditional_runs, "fig09": sigma_runs, "fig11": ndis_sweep, "fig15": reparam_runs,
          "table2-resnet": resnet_rows, "table7-resnet": appendix_e_resnet_runs,
          "table8": partial(appendix_e_resnet_runs, conditional="ac")}


def epochs(cfg: TrainConfig) -> float:
    """Passes D makes over the training split in ``cfg``'s run: G updates × n_dis × batch / training images."""
    from snlab.data import dataset_info
    return cfg.iterations * cfg.n_dis * cfg.batch_size / dataset_info(cfg.dataset).train_size


def describe(configs: list[TrainConfig], stored=None) -> str:
    """A figure caption's facts: dataset, preset, G updates, seeds (e.g. "fashion_mnist · preset cpu · ...");
    ``stored`` (a sweep's table, one row per run and step): the seeds it holds when fewer than asked, and the
    runs it holds when fewer than ``configs`` (a seed held at some points only), e.g. "3 seeds asked, 1 stored
    (0); 4 of 12 runs stored"."""
    first = configs[0]
    seeds = sorted({c.seed for c in configs})
    held = sorted(set(stored["seed"])) if stored is not None else seeds
    count = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    if held != seeds:
        count += f" asked, {len(held)} stored" + (f" ({', '.join(map(str, held))})" if held else "")
    asked = len({default_run_dir(c) for c in configs})  # a point named twice is one run
    runs = stored["run"].nunique() if stored is not None else asked
    if 0 < runs < asked:
        count += f"; {runs} of {asked} runs stored"
    return (f"{first.dataset} · preset {first.preset} · {first.iterations} G updates · batch {first.batch_size} · "
            + count)
