"""``python -m snlab bench pack``: run-updates per second of K runs packed as one (``snlab.pack``) against the
same K runs updated one after another, interleaved in one process (``bench.interleaved``).

A run-update is one G update of one run with its ``n_dis`` D updates; K runs making ``updates`` G updates
each make K · ``updates`` run-updates. Each K has its own K trainers (seeds 0..K−1, one setting), timed
packed and separately in alternation after ``bench.WARMUP_UPDATES`` warm-up updates; the reported ratio is
the median over rounds of each round's packed / separate rate. Both run eagerly: on a GPU a lone run
defaults to a CUDA graph (``TrainConfig.speedup``), which this baseline leaves out.
"""
from __future__ import annotations

import pandas as pd

from snlab.bench import WARMUP_UPDATES, device_label, interleaved

#: Pack sizes timed by default (issue #14's list).
PACK_SIZES = (1, 2, 4, 8, 16, 48)


def pack_time(preset: str = "cpu", dataset: str = "fashion_mnist", sizes=PACK_SIZES, method: str = "sn",
              setting: str = "A", updates: int = 2, rounds: int = 3, width: float | None = None,
              device: str = "cpu", data_dir=None) -> pd.DataFrame:
    """Rows {round, K, variant ("packed" / "separate"), run_updates_per_second}, one per K, variant and round."""
    from snlab.config import TrainConfig
    from snlab.pack import Pack
    from snlab.train import Trainer

    if not sizes or any(not isinstance(k, int) or k < 1 for k in sizes):
        raise ValueError(f"pack sizes must be whole numbers >= 1, got {list(sizes)!r}")
    rows, fields = [], {} if width is None else {"width": width}
    for k in sizes:
        trainers = [Trainer(TrainConfig(preset=preset, dataset=dataset, method=method, setting=setting, seed=seed,
                                        eval_every=0, data_dir=data_dir, device=device, speedup="eager",
                                        progress=False, **fields)) for seed in range(k)]
        pack, everyone = Pack(trainers), list(range(k))
        for _ in range(WARMUP_UPDATES):
            pack.iteration(everyone)
            for t in trainers:
                t.iteration()
        work = {"packed": lambda: [pack.iteration(everyone) for _ in range(updates)],
                "separate": lambda: [t.iteration() for _ in range(updates) for t in trainers]}
        cuda = trainers[0].device.type == "cuda"
        rows += [{"round": r["round"], "K": k, "variant": r["variant"],
                  "run_updates_per_second": k * updates / r["seconds"]} for r in interleaved(work, rounds, cuda)]
    first = trainers[0]
    return pd.DataFrame(rows).assign(device=device_label(first.device), preset=preset, dataset=dataset,
                                     method=method, setting=setting, width=first.cfg.width, updates=updates)


def pack_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per K: the median run-updates per second of each variant and the median of per-round packed / separate."""
    wide = df.pivot_table(index=["K", "round"], columns="variant", values="run_updates_per_second")
    ratio = (wide["packed"] / wide["separate"]).groupby("K").median()
    rates = wide.groupby("K").median()
    return pd.DataFrame({"separate run-upd/s": rates["separate"], "packed run-upd/s": rates["packed"],
                         "median packed / separate": ratio})


def report(args: dict, out, header: str) -> None:
    methods = args["methods"] or ["sn"]
    if len(methods) > 1:
        raise ValueError(f"bench pack times one method at a time; got {' '.join(methods)}")
    method = methods[0]
    df = pack_time(args["preset"], args["dataset"], args["sizes"] or PACK_SIZES, method, "A", args["updates"],
                   args["rounds"], args["width"], args["device"], args["data_dir"])
    df.to_csv(out, index=False)
    print(f"{header} device={df['device'][0]} preset={args['preset']} width={df['width'][0]} "
          f"method={df['method'][0]} setting A, both ways eager; rounds={args['rounds']} x {args['updates']} G updates "
          f"per run; raw rows in {out}")
    print(pack_table(df).round(3).to_string())
