"""Benchmarks, never timed tests: ``python -m snlab bench NAME`` (one of ``BENCHES``) writes a CSV and prints
a table.

The machine is shared and noisy, so variants run interleaved in one process (A B C, then B C A, …),
each round timing a few steps of every variant, and we report medians of per-round ratios.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pandas as pd
import torch
from torch.nn.utils import parametrizations, parametrize

from snlab.data import dataset_info
from snlab.losses import get_loss
from snlab.models import build_models
from snlab.normalizers import weight_layers
from snlab.settings import get_preset
from snlab.speed import SPEEDUPS

BENCHES = ("sn-overhead", "metrics", "methods", "sweep", "throughput", "pack", "pack-layers")
#: Throughput variants of the standard-CNN SN-GAN's training step: each ``TrainConfig.speedup``, and bf16
#: autocast (CUDA only; not a training option: it changes the arithmetic, not just the speed).
THROUGHPUT_VARIANTS = (*SPEEDUPS, "bf16")
#: Fig 10's methods (vanilla, WN, SN, WGAN-GP) plus orthonormal and LN.
TIMED_METHODS = ("none", "wn", "sn", "wgan-gp", "orthonormal", "ln")
#: Updates every variant or method makes before timing (from identical weights and batches in ``throughput``,
#: where the last one's losses are compared with eager's): the CUDA graph's three warm-up calls, its
#: capture and a replay.
WARMUP_UPDATES = 5


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="benchmarks writing CSV (see snlab/bench.py)")
    p.add_argument("which", choices=BENCHES)
    p.add_argument("--preset", default="cpu")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    p.add_argument("--width", type=float, default=None, help="sn-overhead, pack, pack-layers: default: the preset's")
    p.add_argument("--rounds", type=int, default=None,
                   help="default: 30 (sn-overhead), 3 (metrics, sweep, pack), 5 (methods, throughput, pack-layers)")
    p.add_argument("--steps", type=int, default=None, help="sn-overhead: D steps per variant per round (default 5); "
                   "pack-layers: forward+backward calls per layout per round (3)")
    p.add_argument("--samples", type=int, default=10_000, help="metrics: generated samples")
    p.add_argument("--updates", type=int, default=None, help="methods: G updates per method per round "
                   "(default 20); sweep: G updates per run (20); pack: G updates per run per round (2)")
    p.add_argument("--device", default="auto", help="methods, throughput, pack: auto, cpu or cuda")
    p.add_argument("--speedup", default="auto", choices=("auto", *SPEEDUPS), help="methods: how G and D execute")
    p.add_argument("--methods", nargs="+", default=None,
                   help=f"methods: which to time (default: {' '.join(TIMED_METHODS)}); pack: the method (default: sn)")
    p.add_argument("--sizes", nargs="+", type=int, default=None,
                   help="pack: pack sizes K (default: 1 2 4 8 16 48); pack-layers: (4 8 16)")
    p.add_argument("--joint-d", action="store_true", help="methods: also time each method with real and fake "
                   "through D in one call (TrainConfig.joint_d; not bn), interleaved with its two-call twin")
    p.add_argument("--out", default=None, help="CSV path (default: bench/<which>.csv)")
    p.add_argument("--data-dir", default=None)


def _d_variants(dataset: str, width: float) -> dict[str, torch.nn.Module]:
    """D without normalization, with snlab's SN (twice: "sn-once" is timed computing its weights once per D
    step), and with PyTorch's builtin SN; identical raw weights."""
    info = dataset_info(dataset)
    out = {}
    for name, method in (("none", "none"), ("sn", "sn"), ("sn-once", "sn"), ("torch-sn", "none")):
        torch.manual_seed(0)
        _, D = build_models("standard", method, info.resolution, info.channels, width)
        if name == "torch-sn":
            for layer in weight_layers(D).values():
                parametrizations.spectral_norm(layer)
        out[name] = D
    return out


def interleaved(work: dict, rounds: int, cuda: bool = False) -> list[dict]:
    """Time each variant's ``work[name]()`` once per round, the variants' order rotating from round to round
    (drift in the machine's speed then falls on every variant alike; compare per-round ratios): rows
    {round, variant, seconds}. ``cuda``: the GPU is synchronized around each timing."""
    rows, names = [], list(work)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            work[name]()
            if cuda:
                torch.cuda.synchronize()
            rows.append({"round": r, "variant": name, "seconds": time.perf_counter() - start})
    return rows


def _time_d_steps(D, real, fake, opt, loss, steps: int, once: bool = False) -> float:
    """Seconds per D step; ``once``: D's parametrized weights computed once per step for both calls
    (``parametrize.cached``), so SN makes one power iteration per D update, as Algorithm 1."""
    start = time.perf_counter()
    for _ in range(steps):
        with parametrize.cached() if once else contextlib.nullcontext():
            value = loss.d(D(real), D(fake))
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def sn_overhead(preset: str = "cpu", dataset: str = "fashion_mnist", rounds: int = 30, steps: int = 5,
                batch_size: int | None = None, width: float | None = None) -> pd.DataFrame:
    """Seconds per D step (real + fake forward, standard loss, backward, Adam) per variant and round.

    ``batch_size`` and ``width`` default to the preset's.
    """
    info = dataset_info(dataset)
    batch = batch_size or get_preset(preset)["batch_size"]
    width = width or get_preset(preset)["width"]
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(batch, info.channels, info.resolution, info.resolution, generator=gen) * 2 - 1
    fake = torch.rand(batch, info.channels, info.resolution, info.resolution, generator=gen) * 2 - 1
    variants = _d_variants(dataset, width)
    opts = {k: torch.optim.Adam(D.parameters(), 2e-4, (0.5, 0.999)) for k, D in variants.items()}
    loss = get_loss("standard")
    for k in variants:  # warm-up
        _time_d_steps(variants[k], real, fake, opts[k], loss, 2, once=k == "sn-once")
    work = {k: (lambda k=k: _time_d_steps(variants[k], real, fake, opts[k], loss, steps, once=k == "sn-once"))
            for k in variants}
    df = pd.DataFrame(interleaved(work, rounds))
    return df.assign(seconds_per_d_step=df.pop("seconds") / steps)


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Median seconds per variant and the median / quartiles of per-round paired ratios."""
    wide = df.pivot(index="round", columns="variant", values="seconds_per_d_step")
    ratios = pd.DataFrame({"sn / none": wide["sn"] / wide["none"], "sn / torch-sn": wide["sn"] / wide["torch-sn"],
                           "torch-sn / none": wide["torch-sn"] / wide["none"],
                           "sn-once / none": wide["sn-once"] / wide["none"]})
    return ratios.quantile([0.25, 0.5, 0.75]).T.rename(columns={0.25: "q25", 0.5: "median", 0.75: "q75"})


def metrics_time(dataset: str = "fashion_mnist", n_samples: int = 10_000, rounds: int = 3, *,
                 n_real: int = 10_000, data_dir=None) -> pd.DataFrame:
    """Seconds for IS + FID of ``n_samples`` from a cpu-preset G with the Fashion-MNIST classifier extractor.

    "cold" includes extracting the 10,000 real test images (a fresh cache); "warm" reuses them.
    Timing does not depend on G's training, so an initialised G is used.
    """
    import tempfile

    from snlab.config import TrainConfig, build_run_models
    from snlab.metrics import evaluate

    G = build_run_models(TrainConfig(dataset=dataset))[0]
    rows = []
    for r in range(rounds):
        with tempfile.TemporaryDirectory() as cache:
            for kind in ("cold", "warm"):
                start = time.perf_counter()
                evaluate(G, dataset, "fmnist", n_samples, seed=r, is_splits=min(10, n_samples // 2),
                         fid_samples=n_samples, n_real=n_real, kid=False,
                         prc=False, data_dir=data_dir, cache_dir=cache, verbose=False)
                rows.append({"round": r, "kind": kind, "n_samples": n_samples,
                             "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def device_label(device: torch.device) -> str:
    """A human-readable name of the device timings ran on, for figure titles."""
    import platform

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or "CPU"
    if Path("/proc/cpuinfo").exists():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), cpu)
    return f"CPU: {cpu}, {torch.get_num_threads()} threads"


#: How ``methods_time`` labels a method's joint-D twin ("sn" → "sn+joint").
JOINT = "+joint"


def methods_time(preset: str = "cpu", dataset: str = "fashion_mnist", methods=TIMED_METHODS, updates: int = 20,
                 rounds: int = 5, n_dis: int = 5, data_dir=None, device: str = "auto",
                 speedup: str = "auto", joint_d: bool = False) -> pd.DataFrame:
    """Seconds per 100 G updates (each followed by ``n_dis`` D steps) per method and round (Fig 10).

    Methods run interleaved, the order rotating each round; each round times ``updates`` G updates
    of every method after ``WARMUP_UPDATES`` warm-up updates. Setting A's Adam (the Fig 10 runs use n_dis = 5).
    ``joint_d``: each method but BN also as "<method>+joint", real and fake through D in one call.
    """
    from snlab.config import TrainConfig
    from snlab.methods import get_method
    from snlab.train import Trainer

    variants = {m: {} for m in methods}
    if joint_d:
        variants |= {m + JOINT: {"joint_d": True} for m in methods if not get_method(m).batch_statistics}
    trainers = {v: Trainer(TrainConfig(preset=preset, dataset=dataset, method=v.removesuffix(JOINT), setting="A",
                                       n_dis=n_dis, eval_every=0, data_dir=data_dir, device=device, progress=False,
                                       speedup=speedup, **fields))
                for v, fields in variants.items()}

    for t in trainers.values():
        for _ in range(WARMUP_UPDATES):
            t.iteration()
    first = next(iter(trainers.values()))
    work = {m: (lambda t=t: [t.iteration() for _ in range(updates)]) for m, t in trainers.items()}
    df = pd.DataFrame(interleaved(work, rounds, cuda=first.device.type == "cuda")).rename(columns={"variant": "method"})
    return df.assign(seconds_per_100_g_updates=df.pop("seconds") * 100 / updates, device=device_label(first.device),
                     preset=preset, dataset=dataset, n_dis=n_dis, speedup=first.speedup)


def _throughput_trainer(variant: str, preset: str, dataset: str, device: str, data_dir=None):
    """A setting-C SN trainer (n_dis = 1, as the 10-minute goal) executing as ``variant`` asks."""
    from snlab.config import TrainConfig
    from snlab.train import Trainer

    return Trainer(TrainConfig(preset=preset, dataset=dataset, method="sn", setting="C", eval_every=0,
                               data_dir=data_dir, device=device, progress=False,
                               speedup="eager" if variant == "bf16" else variant))


def _update(t, variant: str) -> torch.Tensor:
    """One G update and its D step; (D loss, G loss) left on the device (reading them would synchronize)."""
    if variant == "bf16":
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return t.iteration()
    return t.iteration()


#: A variant is correct when its losses after ``WARMUP_UPDATES`` are within this relative error of eager's.
CORRECT_REL_ERR = 1e-3


def throughput(preset: str = "cpu", dataset: str = "fashion_mnist", updates: int = 20, rounds: int = 5,
               device: str = "auto", variants=THROUGHPUT_VARIANTS, data_dir=None) -> pd.DataFrame:
    """G updates per second of the standard-CNN SN-GAN (setting C, n_dis = 1) per variant and round.

    Variants run interleaved, the order rotating each round, after ``WARMUP_UPDATES`` warm-up updates
    (which include torch.compile's compilation and CUDA-graph recording). ``loss_rel_err``: the largest
    relative difference between the variant's and eager's G and D losses at the last warm-up update;
    ``correct`` when it is ≤ ``CORRECT_REL_ERR``. bf16 (autocast) runs on CUDA only. A variant that
    raises is left out of the timings and reported in ``error``.
    """
    from snlab.speed import resolve_device

    dev = resolve_device(device)
    trainers, losses, errors = {}, {}, {}
    for v in (v for v in variants if v != "bf16" or dev.type == "cuda"):
        try:
            trainers[v] = _throughput_trainer(v, preset, dataset, device, data_dir)
            for _ in range(WARMUP_UPDATES):
                losses[v] = _update(trainers[v], v).double().cpu()
        except Exception as e:  # noqa: BLE001 -- a variant this PyTorch or device cannot run is a result
            trainers.pop(v, None)
            errors[v] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    if "eager" not in trainers:
        raise RuntimeError(f"eager, the reference every variant is checked against, failed: {errors.get('eager')}")
    err = {v: float(((losses[v] - losses["eager"]).abs() / losses["eager"].abs().clamp_min(1e-8)).max())
           for v in trainers}
    work = {v: (lambda v=v, t=t: [_update(t, v) for _ in range(updates)]) for v, t in trainers.items()}
    rows = [{"round": row["round"], "variant": row["variant"], "g_updates_per_second": updates / row["seconds"],
             "loss_rel_err": err[row["variant"]], "correct": err[row["variant"]] <= CORRECT_REL_ERR, "error": ""}
            for row in interleaved(work, rounds, cuda=dev.type == "cuda")]
    rows += [{"variant": v, "error": e} for v, e in errors.items()]
    return pd.DataFrame(rows).assign(device=device_label(dev), preset=preset, dataset=dataset)


def sweep_parallelism(preset: str = "cpu", dataset: str = "fashion_mnist", runs: int = 4, updates: int = 50,
                      rounds: int = 3, data_dir=None) -> pd.DataFrame:
    """Wall seconds of one small sweep (``runs`` SN runs, setting A, ``updates`` G updates each, no
    evaluation) trained two ways, interleaved round by round: in this process with one thread per
    core, and in one 1-thread worker process per core (what ``snlab.sweep`` does)."""
    import os
    import tempfile

    from snlab.sweep import grid, run_sweep

    cores = os.cpu_count() or 1
    configs = grid(dict(preset=preset, dataset=dataset, method="sn", setting="A", iterations=updates, eval_every=0,
                        sample_every=0, data_dir=data_dir, device="cpu"), seed=list(range(runs)))
    variants = {f"1 process x {cores} threads": dict(workers=0), f"{cores} processes x 1 thread": dict(workers=cores)}
    def one_sweep(options: dict) -> None:
        torch.set_num_threads(cores)
        with tempfile.TemporaryDirectory() as store:
            run_sweep(configs, store, log=lambda _: None, **options)

    threads = torch.get_num_threads()
    rows = interleaved({name: (lambda o=o: one_sweep(o)) for name, o in variants.items()}, rounds)
    torch.set_num_threads(threads)
    cpu = device_label(torch.device("cpu"))
    return pd.DataFrame(rows).assign(runs=runs, updates=updates, preset=preset, device=cpu)


def run(args: dict) -> None:
    out = Path(args["out"] or f"bench/{args['which']}.csv")
    for name in ("rounds", "steps", "updates"):
        if args[name] is not None and args[name] < 1:
            raise ValueError(f"--{name} must be >= 1 (or left out for the benchmark's default), got {args[name]}")
    args["rounds"] = args["rounds"] or {"sn-overhead": 30, "metrics": 3, "methods": 5, "sweep": 3,
                                        "throughput": 5, "pack": 3, "pack-layers": 5}[args["which"]]
    args["steps"] = args["steps"] or (3 if args["which"] == "pack-layers" else 5)
    args["updates"] = args["updates"] or (2 if args["which"] == "pack" else 20)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"{args['which']}: dataset={args['dataset']} threads={torch.get_num_threads()}"
    REPORTS[args["which"]](args, out, header)


def _report_methods(args: dict, out: Path, header: str) -> None:
    df = methods_time(args["preset"], args["dataset"], args["methods"] or TIMED_METHODS, args["updates"],
                      args["rounds"], data_dir=args["data_dir"], device=args["device"], speedup=args["speedup"],
                      joint_d=args["joint_d"])
    df.to_csv(out, index=False)
    print(f"{header} device={df['device'][0]} speedup={df['speedup'][0]} preset={args['preset']} "
          f"n_dis={df['n_dis'][0]} rounds={args['rounds']} x {args['updates']} G updates; raw rows in {out}")
    print(methods_table(df).round(3).to_string())


def methods_table(df: pd.DataFrame) -> pd.DataFrame:
    """``methods_time``'s rows summarized per method: the median seconds per 100 G updates, the median over
    rounds of each round's time / the unnormalized GAN's, and of a joint-D twin's time / its method's."""
    wide = df.pivot(index="round", columns="method", values="seconds_per_100_g_updates")
    table = pd.DataFrame({"median s / 100 G updates": wide.median()})
    if "none" in wide:
        table["median ratio to none"] = wide.div(wide["none"], axis=0).median()
    joint = [m for m in wide if m + JOINT in wide]
    if joint:
        table["median joint / two calls"] = pd.Series({m: (wide[m + JOINT] / wide[m]).median() for m in joint})
    return table


def _report_throughput(args: dict, out: Path, header: str) -> None:
    df = throughput(args["preset"], args["dataset"], args["updates"], args["rounds"], args["device"],
                    data_dir=args["data_dir"])
    df.to_csv(out, index=False)
    print(f"{header} device={df['device'][0]} preset={args['preset']} SN, setting C, n_dis 1; "
          f"rounds={args['rounds']} x {args['updates']} G updates; raw rows in {out}")
    timed = df[df["error"] == ""]
    wide = timed.pivot(index="round", columns="variant", values="g_updates_per_second")
    first = timed.groupby("variant").first()
    table = pd.DataFrame({"median G updates / s": wide.median(),
                          "median ratio to eager": wide.div(wide["eager"], axis=0).median(),
                          f"loss rel. error after {WARMUP_UPDATES} updates": first["loss_rel_err"],
                          "correct": first["correct"]})
    print(table.round(4).to_string())
    for v, e in df.loc[df["error"] != "", ["variant", "error"]].values:
        print(f"{v}: failed: {e}")
    correct = table.loc[table["correct"].astype(bool), "median G updates / s"]
    print(f"fastest correct: {correct.idxmax() if len(correct) else 'none'}")


def _report_sweep(args: dict, out: Path, header: str) -> None:
    df = sweep_parallelism(args["preset"], args["dataset"], updates=args["updates"], rounds=args["rounds"])
    df.to_csv(out, index=False)
    wide = df.pivot(index="round", columns="variant", values="seconds")
    print(f"{header} {df['device'][0]}; {df['runs'][0]} SN runs x {args['updates']} G updates (setting A, "
          f"preset {args['preset']}), rounds={args['rounds']}; raw rows in {out}")
    ratio = wide[wide.columns[1]].div(wide[wide.columns[0]]).median()
    print("median wall seconds:", wide.median().round(1).to_dict(),
          f"ratio {wide.columns[1]} / {wide.columns[0]}: {ratio:.2f}")


def _report_metrics(args: dict, out: Path, header: str) -> None:
    df = metrics_time(args["dataset"], args["samples"], args["rounds"])
    df.to_csv(out, index=False)
    print(f"{header} device=cpu rounds={args['rounds']}; raw rows in {out}")
    print(f"median seconds for IS+FID of {args['samples']} samples (Fashion-MNIST classifier):",
          df.groupby("kind")["seconds"].median().round(2).to_dict())


def _report_sn_overhead(args: dict, out: Path, header: str) -> None:
    df = sn_overhead(args["preset"], args["dataset"], args["rounds"], args["steps"], args["batch_size"], args["width"])
    df.to_csv(out, index=False)
    batch = args["batch_size"] or get_preset(args["preset"])["batch_size"]
    width = args["width"] or get_preset(args["preset"])["width"]
    print(f"{header} device=cpu preset={args['preset']} batch={batch} width={width} "
          f"rounds={args['rounds']} x {args['steps']} D steps; raw rows in {out}")
    print("median seconds per D step:",
          df.groupby("variant")["seconds_per_d_step"].median().map("{:.4f}".format).to_dict())
    print(summarize(df).round(3).to_string())


def _report_pack(args: dict, out: Path, header: str) -> None:
    from snlab.bench_pack import report  # it imports this module's timing loop
    report(args, out, header)


def _report_pack_layers(args: dict, out: Path, header: str) -> None:
    from snlab.bench_pack import report_layers
    report_layers(args, out, header)


#: Each benchmark's runner-and-printer, by ``BENCHES`` name.
REPORTS = {"sn-overhead": _report_sn_overhead, "metrics": _report_metrics, "methods": _report_methods,
           "sweep": _report_sweep, "throughput": _report_throughput, "pack": _report_pack,
           "pack-layers": _report_pack_layers}
