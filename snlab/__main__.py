"""Command line: ``snlab`` (or ``python -m snlab``) with a subcommand; ``--help`` on each."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from snlab import bench, data, faults, folders
from snlab.config import TrainConfig
from snlab.settings import CONFIGS
from snlab.train import train


def _choices() -> dict[str, list]:
    """The valid values of the config's name fields, for ``--help`` and argparse's checks."""
    from snlab.losses import LOSSES
    from snlab.methods import METHODS
    from snlab.metrics.evaluation import EXTRACTORS
    from snlab.models import ARCHS
    from snlab.models.resnet import HEADS
    from snlab.settings import PRESETS, SETTINGS
    from snlab.speed import SPEEDUPS

    return {"method": list(METHODS), "setting": list(SETTINGS), "loss": list(LOSSES),
            "preset": list(PRESETS), "arch": list(ARCHS), "conditional": ["", *HEADS], "speedup": ["auto", *SPEEDUPS],
            "eval_extractor": list(EXTRACTORS)}


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train one GAN run into a run directory",
                       description="Train (or resume) one run. Every option is a TrainConfig field; unset ones come "
                                   "from --preset and --setting.")
    p.add_argument("--config", default=None, choices=list(CONFIGS),
                   help="start from a named paper configuration (other options override its fields)")
    docs, choices = TrainConfig.field_docs(), _choices()
    for f in dataclasses.fields(TrainConfig):
        flag, kind = f"--{f.name.replace('_', '-')}", str(f.type).replace(" | None", "")
        kw = dict(dest=f.name, default=argparse.SUPPRESS, help=docs[f.name].replace("%", "%%"))
        if f.name == "out_dir":
            p.add_argument("--out", **kw)
        elif kind == "bool":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        else:
            p.add_argument(flag, type={"int": int, "float": float}.get(kind, str), choices=choices.get(f.name), **kw)


def _sweep_parser(sub) -> None:
    from snlab.experiments import SWEEPS
    from snlab.speed import SPEEDUPS
    from snlab.sweep import EXECUTORS
    s = sub.add_parser("sweep", help="train the runs behind a figure into the run store, on any executor")
    s.add_argument("figure", choices=list(SWEEPS))
    s.add_argument("--preset", default="cpu")
    s.add_argument("--dataset", default="fashion_mnist")
    s.add_argument("--seeds", nargs="*", type=int, default=None, help="default: the figure's")
    s.add_argument("--iterations", type=int, default=None, help="G updates per run (default: the preset's)")
    s.add_argument("--methods", nargs="+", default=None,
                   help="only the figure's runs of these methods, e.g. to train the runs a verdict waits on first "
                   "(default: all of them)")
    s.add_argument("--store", default="results", help="the run store the notebooks read (default: results/)")
    s.add_argument("--status", action="store_true",
                   help="train nothing: say how many runs are done, partial and missing, and what is left")
    s.add_argument("--executor", choices=EXECUTORS, default="process")
    s.add_argument("--workers", type=int, default=None, help="runs at once (process, slurm)")
    s.add_argument("--threads", type=int, default=None,
                   help="torch threads (and CPUs) per run (default: cores // workers locally, else 1)")
    s.add_argument("--pack", type=int, default=1, help="train up to this many runs that agree in "
                   "snlab.pack.PACK_FIELDS as one vmapped model per job; --threads, --gpus-per-run and "
                   "--timeout-min then apply to the job (default 1: each run alone)")
    s.add_argument("--speedup", default="auto", choices=["auto", *SPEEDUPS],
                   help="how each run executes (TrainConfig.speedup, not part of a run's key); a pack: auto "
                   "(eager), eager or cudagraphs (its whole iteration as one CUDA graph)")
    s.add_argument("--address", default=None, help="ray: the cluster ('auto': the running one; none: local)")
    s.add_argument("--gpus-per-run", type=float, default=0.0, help="ray: GPUs per run, e.g. 0.25")
    s.add_argument("--timeout-min", type=int, default=24 * 60, help="slurm: minutes per run")
    s.add_argument("--slurm-cluster", default=None, help="slurm: submitit's cluster (default: auto; 'local')")
    s.add_argument("--data-dir", default=None)
    s.add_argument("--device", default="auto")


def _sweep(args: dict) -> None:
    from snlab import experiments, prices, sweep
    kwargs = {k: args[k] for k in ("preset", "dataset", "iterations")}
    if args["seeds"] is not None:
        kwargs["seeds"] = args["seeds"]
    configs = experiments.SWEEPS[args["figure"]](**kwargs, data_dir=args["data_dir"], device=args["device"])
    configs = [dataclasses.replace(c, speedup=args["speedup"]) for c in _only_methods(configs, args["methods"])]
    options = {"ray": dict(address=args["address"], gpus_per_run=args["gpus_per_run"]),
               "slurm": dict(timeout_min=args["timeout_min"], slurm_cluster=args["slurm_cluster"])}
    print(f"{args['figure']}: {len(configs)} runs · {experiments.describe(configs)} · {args['executor']}")
    if args["status"]:
        left = sweep.todo(configs, args["store"])
        counts = left["state"].value_counts()
        print(f"{args['store']}: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "partial", "extends",
                                                                                     "missing"))
              + f"; left: {left['g_updates'].sum():,} G updates, {left['d_updates'].sum():,} D updates"
              + f" ({prices.price(left, args['store'])})")
        for row in left[left["state"] != "done"].itertuples():
            print(f"  {row.state:8} {row.run}  ({row.g_updates:,} G updates left)")
        return
    sweep.run_sweep(configs, args["store"], args["workers"], args["threads"], executor=args["executor"],
                    pack=args["pack"], **options.get(args["executor"], {}))


def _only_methods(configs: list, methods: list[str] | None) -> list:
    """``configs`` of ``methods`` only, in their own order (None: all); a method the figure does not train is
    refused, naming the ones it does."""
    if methods is None:
        return configs
    known = list(dict.fromkeys(c.method for c in configs))
    if unknown := [m for m in methods if m not in known]:
        raise ValueError(f"--methods {' '.join(unknown)}: not among this figure's methods ({', '.join(known)})")
    return [c for c in configs if c.method in methods]


def _literal(item: str) -> tuple[str, object]:
    """"name=value" → (name, value as a Python literal, or the text itself)."""
    import ast

    if "=" not in item:
        raise ValueError(f"--set takes NAME=VALUE, got {item!r}")
    name, text = item.split("=", 1)
    try:
        return name, ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return name, text


def _evaluate(args: dict) -> None:
    import json

    from snlab.config import build_run_models
    from snlab.metrics import evaluate
    from snlab.train import load_run

    if args["run"]:
        result = load_run(args["run"], args["device"])
        source, dataset = result.generator, result.config.dataset
        if result.status != "complete":
            print(f"note: {args['run']} is {result.status}: scoring its last checkpoint, at step "
                  f"{int(result.history['step'].max()) if len(result.history) else '?'} or before", file=sys.stderr)
    elif args["untrained"]:
        source, dataset = build_run_models(TrainConfig(dataset=args["dataset"]))[0], args["dataset"]
    elif args["images"]:
        source, dataset = folders.load_image_folder(args["images"]), args["dataset"]
    else:
        source, dataset = data.load_dataset(args["dataset"], args["real"], args["data_dir"]), args["dataset"]
    n_samples = args["n_samples"] or (len(source) if isinstance(source, data.ImageData) else 50_000)
    m = evaluate(source, dataset, args["extractor"], n_samples, args["seed"], fid_samples=args["fid_samples"],
                 n_real=args["n_real"], real_split=args["real_split"], inception_weights=args["inception_weights"],
                 download_weights=args["download_weights"], reference_stats=args["reference_stats"],
                 save_stats=args["save_stats"], out=args["out"], is_splits=args["is_splits"],
                 data_dir=args["data_dir"])
    print(json.dumps(m, indent=2))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snlab", description="A lab for Spectral Normalization for GANs (Miyato "
                                     "et al., ICLR 2018): train, sweep, export, evaluate, sample, reproduce, bench, "
                                     "faults.")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _evaluate_parser(sub)
    d = sub.add_parser("download", help="fetch a dataset with torchvision (needs internet)")
    d.add_argument("dataset", choices=[n for n, i in data.DATASETS.items() if i.channels])
    d.add_argument("--data-dir", default=None)
    x = sub.add_parser("export", help="copy a store's finished runs as compact records (no checkpoints) into "
                                      "a committed store such as results/")
    x.add_argument("store", help="the store the runs were trained into")
    x.add_argument("--to", default="results", help="where the records go (default: results)")
    c = sub.add_parser("train-classifier", help="train the Fashion-MNIST classifier used by the offline metrics")
    c.add_argument("--out", default=None, help="weights path (default: data/fmnist_classifier.pt)")
    c.add_argument("--epochs", type=int, default=4)
    c.add_argument("--data-dir", default=None)
    _sweep_parser(sub)
    sm = sub.add_parser("sample", help="write samples of a run's generator as PNG files or one .npz")
    sm.add_argument("--run", required=True, help="run directory (its last checkpoint's G)")
    sm.add_argument("--n", type=int, default=64, help="how many samples")
    sm.add_argument("--out", required=True, help="folder for PNG files, or the .npz file")
    sm.add_argument("--format", dest="fmt", choices=["png", "npz"], default="png")
    sm.add_argument("--seed", type=int, default=0, help="seed of z (and of the classes): evaluate's stream")
    sm.add_argument("--label", type=int, default=None, help="conditional runs: this class for every sample")
    sm.add_argument("--device", default="cpu")
    r = sub.add_parser("reproduce", help="execute the notebooks with papermill into their figure folders")
    r.add_argument("--only", nargs="*", default=None, help="notebook names or parts of them (e.g. fig10)")
    r.add_argument("--preset", default=None)
    r.add_argument("--train", action="store_true",
                   help="train the runs missing from each notebook's store first (default: stored runs only)")
    r.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                   help="more notebook parameters (values parsed as Python literals when possible)")
    bench.add_parser(sub)
    faults.add_parser(sub)
    return parser


def _evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="IS/FID/KID/precision-recall of a run's G, an untrained G, or real images")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="run directory (its checkpoint's G)")
    src.add_argument("--untrained", action="store_true", help="a freshly initialised G (cpu-preset width)")
    src.add_argument("--real", metavar="SPLIT", help="real images of this split of --dataset")
    src.add_argument("--images", metavar="DIR", help="a folder of image files (all one size)")
    e.add_argument("--dataset", default="fashion_mnist")
    e.add_argument("--extractor", default="auto")
    e.add_argument("--n-samples", type=int, default=None,
                   help="images scored (default: 50,000 from a generator, all of them from --real or --images)")
    e.add_argument("--fid-samples", type=int, default=None,
                   help="generated samples FID uses (default: 5,000, or --n-samples when fewer)")
    e.add_argument("--n-real", type=int, default=10_000)
    e.add_argument("--real-split", default=None, help="default: the held-out split (test; ImageNet: val)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--is-splits", type=int, default=10, help="IS is the mean over this many splits")
    e.add_argument("--data-dir", default=None, help="where --dataset's files are (default: its usual places)")
    e.add_argument("--out", default=None, help="write metrics.json here")
    e.add_argument("--inception-weights", default=None)
    e.add_argument("--download-weights", action="store_true")
    e.add_argument("--device", default="cpu", help="where the generator runs: cpu, cuda, cuda:N")
    e.add_argument("--stats", dest="reference_stats", default=None, metavar="FILE.npz",
                   help="FID against these statistics (mu, sigma) instead of --dataset's images")
    e.add_argument("--save-stats", default=None, metavar="FILE.npz", help="write the scored images' mu, sigma here")


def _train(args: dict) -> None:
    name = args.pop("config")
    result = train(TrainConfig.named(name, **args) if name else TrainConfig(**args))
    print(f"{result.status}: {result.run_dir} ({len(result.history)} history rows)")


def _train_classifier(args: dict) -> None:
    from snlab.metrics import classifier
    out = classifier.train_classifier(args["out"] or classifier.WEIGHTS, args["epochs"], data_dir=args["data_dir"])
    print(f"test accuracy {out['test_accuracy']:.4f}; weights {out['path']}; sha256 {out['sha256']}\n"
          "(set snlab.metrics.classifier.WEIGHTS_SHA256 to this hash when replacing the committed weights)")


def _reproduce(args: dict) -> None:
    from snlab.reproduce import reproduce, write_claims
    params = dict(_literal(item) for item in args["set"])
    if args["preset"]:
        params["preset"] = args["preset"]
    rows = reproduce(args["only"], params, stream=True, train=args["train"])
    print(f"total: {sum(r['seconds'] for r in rows):.0f} s for {len(rows)} notebooks")
    write_claims()


def _sample(args: dict) -> None:
    from snlab.sampling import sample
    print(f"wrote {args['n']} samples to {sample(args.pop('run'), **args)}")


def _export(args: dict) -> None:
    from snlab import store
    runs = sorted(p.parent for p in Path(args["store"]).glob("*/config.json"))
    finished = [r for r in runs if store.run_status(r) != "partial"]
    copied = [out for r in finished if (out := store.export(r, args["to"])) is not None]
    for out in copied:
        print(f"exported {out}")
    print(f"{args['store']}: {len(copied)} exported to {args['to']}, {len(finished) - len(copied)} there already, "
          f"{len(runs) - len(finished)} unfinished left out")


def _download(args: dict) -> None:
    print(f"{args['dataset']} ready under {data.download(args['dataset'], args['data_dir'])}")


COMMANDS = {"train": _train, "train-classifier": _train_classifier, "evaluate": _evaluate, "reproduce": _reproduce,
            "sweep": _sweep, "sample": _sample, "download": _download, "export": _export, "faults": faults.run,
            "bench": bench.run}


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    command = args.pop("command")
    try:
        COMMANDS[command](args)
    except (ValueError, OSError, RuntimeError) as e:  # OSError: missing, unwritable or full; RuntimeError: sweep runs
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
