"""``python -m snlab bench pack``: run-updates per second of K runs packed as one (``snlab.pack``) against the
same K runs updated one after another, interleaved in one process (``bench.interleaved``).

A run-update is one G update of one run with its ``n_dis`` D updates; K runs making ``updates`` G updates
each make K · ``updates`` run-updates. Each K has its own K trainers (seeds 0..K−1, one setting), timed
packed, and a copy of them separately, in alternation after ``bench.WARMUP_UPDATES`` warm-up updates;
the reported ratio is the median over rounds of each round's packed / separate rate, both eager. On a
GPU, where a lone run defaults to a CUDA graph (``TrainConfig.speedup``), both are also timed graphed.

``python -m snlab bench pack-layers``: where a pack's time could go. Each conv, transposed conv and batch
norm of the standard CNN, K copies, forward + backward, in each of ``LAYOUTS`` (vmap is what ``snlab.pack``
uses); the "best per layer" row bounds what a pack mixing these kernels layer by layer could gain.
"""
from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import vmap

from snlab.bench import WARMUP_UPDATES, device_label, interleaved

#: Pack sizes timed by default (issue #14's list).
PACK_SIZES = (1, 2, 4, 8, 16, 48)


def pack_time(preset: str = "cpu", dataset: str = "fashion_mnist", sizes=PACK_SIZES, method: str = "sn",
              setting: str = "A", updates: int = 2, rounds: int = 3, width: float | None = None,
              device: str = "cpu", data_dir=None) -> pd.DataFrame:
    """Rows {round, K, variant, run_updates_per_second}, one per K, variant and round. Variants: "packed" and
    "separate", eager; on a GPU also "packed graphs" (the pack's iteration as one CUDA graph) and "separate
    graphs" (each lone run's iteration as its graph, what a lone run does by default there)."""
    from snlab.config import TrainConfig
    from snlab.pack import Pack
    from snlab.speed import resolve_device
    from snlab.train import Trainer

    if not sizes or any(not isinstance(k, int) or k < 1 for k in sizes):
        raise ValueError(f"pack sizes must be whole numbers >= 1, got {list(sizes)!r}")
    cuda = resolve_device(TrainConfig(device=device).device).type == "cuda"  # TrainConfig names a bad device
    speedups = {"": "eager", " graphs": "cudagraphs"} if cuda else {"": "eager"}
    rows, fields = [], {} if width is None else {"width": width}
    for k in sizes:
        work = {}
        for suffix, speedup in speedups.items():
            # the pack's runs and the lone runs are distinct trainers: two CUDA graphs never share parameters
            packed, alone = ([Trainer(TrainConfig(preset=preset, dataset=dataset, method=method, setting=setting,
                                                  seed=seed, eval_every=0, data_dir=data_dir, device=device,
                                                  speedup=speedup, progress=False, **fields)) for seed in range(k)]
                             for _ in range(2))
            for t in alone:  # one copy of the training images (read only) for the 2K trainers
                t.data = packed[0].data
            pack, everyone = Pack(packed), list(range(k))
            for _ in range(WARMUP_UPDATES):  # on a GPU: the graphs' warm-up, capture and a replay
                pack.iteration(everyone)
                for t in alone:
                    t.iteration()
            work["packed" + suffix] = lambda pack=pack, everyone=everyone: [pack.iteration(everyone)
                                                                            for _ in range(updates)]
            work["separate" + suffix] = lambda alone=alone: [t.iteration() for _ in range(updates) for t in alone]
        rows += [{"round": r["round"], "K": k, "variant": r["variant"],
                  "run_updates_per_second": k * updates / r["seconds"]} for r in interleaved(work, rounds, cuda)]
    first = alone[0]
    return pd.DataFrame(rows).assign(device=device_label(first.device), preset=preset, dataset=dataset,
                                     method=method, setting=setting, width=first.cfg.width, updates=updates)


def pack_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per K: the median run-updates per second of each variant and the median of per-round packed / separate
    (and, on a GPU, of packed graphs / separate graphs and of packed graphs / separate eager runs)."""
    wide = df.pivot_table(index=["K", "round"], columns="variant", values="run_updates_per_second")
    rates = wide.groupby("K").median()
    table = pd.DataFrame({f"{v} run-upd/s": rates[v] for v in wide.columns})
    pairs = [("packed", "separate"), ("packed graphs", "separate graphs"), ("packed graphs", "separate")]
    for a, b in pairs:
        if a in wide and b in wide:
            table[f"median {a} / {b}"] = (wide[a] / wide[b]).groupby("K").median()
    return table


def report(args: dict, out, header: str) -> None:
    methods = args["methods"] or ["sn"]
    if len(methods) > 1:
        raise ValueError(f"bench pack times one method at a time; got {' '.join(methods)}")
    method = methods[0]
    df = pack_time(args["preset"], args["dataset"], args["sizes"] or PACK_SIZES, method, "A", args["updates"],
                   args["rounds"], args["width"], args["device"], args["data_dir"])
    df.to_csv(out, index=False)
    print(f"{header} device={df['device'][0]} preset={args['preset']} width={df['width'][0]} "
          f"method={df['method'][0]} setting A; rounds={args['rounds']} x {args['updates']} G updates "
          f"per run; raw rows in {out}")
    print(pack_table(df).round(3).to_string())


#: Layers whose K copies ``layer_layouts`` times each way.
LAYOUT_LAYERS = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.BatchNorm2d)
#: How K runs' copies of one layer can execute: one call per run; ``torch.func.vmap`` over the K copies (what
#: ``snlab.pack`` does); one grouped call on the runs' activations laid side by side as (B, K·C, H, W)
#: channels (a convolution with ``groups=K``, a batch norm over K·C channels), contiguous or channels_last.
LAYOUTS = ("separate", "vmap", "grouped", "grouped channels_last")


def _layer_inputs(module: torch.nn.Module, x: torch.Tensor) -> list[tuple[str, torch.nn.Module, torch.Size]]:
    """(name, layer, input shape) of each ``LAYOUT_LAYERS`` layer of ``module`` as ``module(x)`` calls it."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, args, n=n: seen.append((n, m, args[0].shape)))
             for n, m in module.named_modules() if isinstance(m, LAYOUT_LAYERS)]
    with torch.no_grad():
        module(x)
    for h in hooks:
        h.remove()
    return seen


def _layer_call(layer: torch.nn.Module, groups: int = 1):
    """``layer``'s computation as f(x, weight, bias, running_mean, running_var) with ``groups`` runs side by side."""
    if isinstance(layer, torch.nn.BatchNorm2d):
        return lambda x, w, b, mean, var: F.batch_norm(x, mean, var, w, b, True, layer.momentum, layer.eps)
    op = F.conv_transpose2d if isinstance(layer, torch.nn.ConvTranspose2d) else F.conv2d
    if op is F.conv2d:
        return lambda x, w, b, *_: op(x, w, b, layer.stride, layer.padding, layer.dilation, groups)
    return lambda x, w, b, *_: op(x, w, b, layer.stride, layer.padding, layer.output_padding, groups, layer.dilation)


def _layouts(layer: torch.nn.Module, shape: torch.Size, k: int, gen: torch.Generator) -> dict:
    """Each of ``LAYOUTS`` for K random copies of ``layer`` on inputs of ``shape``: (forward + backward of the
    output's sum returning the output, the output as (K, B, C, H, W) to check against "separate"). Batch
    norms update their running statistics in place, as in training."""
    def rand(*s):
        return torch.randn(k, *s, generator=gen)
    x = rand(*shape).requires_grad_()
    w = rand(*layer.weight.shape).requires_grad_()
    b = rand(*layer.bias.shape).requires_grad_()
    stats = (rand(shape[1]), rand(shape[1]).abs() + 1) if isinstance(layer, torch.nn.BatchNorm2d) else (None, None)
    one, many = _layer_call(layer), _layer_call(layer, k)
    batch = shape[0]

    # each run's own tensors, as in training (slices of x, w, b would each backpropagate a full (K, ...) gradient)
    own = [[t[i].detach().clone().requires_grad_() for t in (x, w, b)] for i in range(k)]

    def separate():
        outs = []
        for i in range(k):
            outs.append(one(*own[i], *(None if s is None else s[i] for s in stats)))
            outs[-1].sum().backward()
        return outs

    def vmapped():
        out = vmap(one, in_dims=(0, 0, 0, *(None if s is None else 0 for s in stats)))(x, w, b, *stats)
        out.sum().backward()
        return out

    def grouped(memory_format):
        xg = x.detach().transpose(0, 1).reshape(batch, -1, *shape[2:]).contiguous(memory_format=memory_format)
        wg = w.detach().reshape(-1, *w.shape[2:])
        wg = wg.contiguous(memory_format=memory_format) if wg.dim() == 4 else wg
        leaves = xg.requires_grad_(), wg.requires_grad_(), b.detach().reshape(-1).requires_grad_()

        def run():
            out = many(*leaves, *(None if s is None else s.view(-1) for s in stats))
            out.sum().backward()
            return out
        return run

    def side_by_side(out):
        return out.reshape(batch, k, -1, *out.shape[2:]).transpose(0, 1)
    return {"separate": (separate, torch.stack), "vmap": (vmapped, lambda out: out),
            "grouped": (grouped(torch.contiguous_format), side_by_side),
            "grouped channels_last": (grouped(torch.channels_last), side_by_side)}


def layer_layouts(preset: str = "cpu", dataset: str = "fashion_mnist", sizes=(4, 8, 16), rounds: int = 5,
                  steps: int = 3, width: float | None = None) -> pd.DataFrame:
    """Seconds per forward + backward of K copies of each conv, transposed conv and batch norm of the standard
    CNN's G and D (method "none": the layers' kernels, without any weight normalization), per ``LAYOUTS``
    entry, interleaved per layer and K: rows {round, net, layer, K, layout, seconds, rel_err}, where
    ``rel_err`` is the layout's largest output difference from "separate", relative to separate's largest
    output (0 there: float32 rounding is ~1e-6)."""
    from snlab.config import TrainConfig, build_run_models

    cfg = TrainConfig(preset=preset, dataset=dataset, method="none", **({} if width is None else {"width": width}))
    G, D = build_run_models(cfg)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(cfg.batch_size, G.z_dim, generator=gen)
    rows = []
    for net, module, x in (("G", G, z), ("D", D, G(z).detach())):
        for name, layer, shape in _layer_inputs(module, x):
            for k in sizes:
                work = _layouts(layer, shape, k, gen)
                outputs = {n: as_runs(f()).detach() for n, (f, as_runs) in work.items()}
                scale = float(outputs["separate"].abs().max())
                errors = {n: float((out - outputs["separate"]).abs().max()) / scale for n, out in outputs.items()}
                timed = {n: (lambda f=f: [f() for _ in range(steps)]) for n, (f, _) in work.items()}
                rows += [{**r, "net": net, "layer": name, "K": k, "seconds": r["seconds"] / steps,
                          "rel_err": errors[r["variant"]]} for r in interleaved(timed, rounds)]
    return pd.DataFrame(rows).rename(columns={"variant": "layout"})


def layouts_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per K and layout: the layers' summed median seconds (ms), separate's sum over that sum, the same
    for the fastest layout of each layer ("best per layer": a pack that mixed layouts layer by layer), and
    the largest relative output error."""
    med = df.groupby(["K", "net", "layer", "layout"])["seconds"].median().unstack("layout")
    med["best per layer"] = med[list(LAYOUTS)].min(axis=1)
    total = med.groupby("K").sum() * 1e3
    out = total.stack().rename("ms, all layers").to_frame()
    out["separate / layout"] = (total.rdiv(total["separate"], axis=0)).stack()
    out["max rel. error"] = df.groupby(["K", "layout"])["rel_err"].max()
    return out


def report_layers(args: dict, out, header: str) -> None:
    df = layer_layouts(args["preset"], args["dataset"], args["sizes"] or (4, 8, 16), args["rounds"], args["steps"],
                       args["width"])
    df.to_csv(out, index=False)
    print(f"{header} device=cpu preset={args['preset']} standard CNN's G and D layers (no weight normalization); "
          f"rounds={args['rounds']} x {args['steps']} forward+backward; raw rows in {out}")
    formats = {"ms, all layers": "{:.1f}", "separate / layout": "{:.2f}", "max rel. error": "{:.1e}"}
    print(layouts_table(df).to_string(formatters={k: f.format for k, f in formats.items()}))
