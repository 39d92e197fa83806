"""Packed runs: K runs of one architecture and method trained as one vmapped model (``Pack``, ``train_packed``).

Each run keeps its own ``Trainer``: its seed, data order and z draws (its own ``torch.Generator``), its own
Adam (lr, β₁, β₂ may differ: settings A, D, E and F, all n_dis 5, pack together, as do B and C, n_dis 1),
SN vectors, BN statistics, orthonormal β and clip value, run directory, history, checkpoints and resume.
Only the arithmetic is shared: at every G and D step the K runs' parameters and buffers are stacked along
a new first dimension and one call of ``torch.func.vmap(torch.func.functional_call(...))`` computes the K
losses; one backward puts each run's gradient on its own parameters (``torch.stack`` routes it back),
each run's optimizer steps, and buffers the forward changed (SN's ũ, ṽ, σ; BN's running statistics) are
copied back to each run.

vmap turns a convolution of K stacked weights into one grouped convolution, which sums in another
order than K separate calls, so a packed run equals its separate twin up to float rounding, not
bitwise (``tests/test_pack.py`` states the tolerance; in float32 the rounding reaches Adam's sign-like first
steps, so packed and lone runs are comparable, not equal). Packing is not part of a run's identity, like
``TrainConfig.speedup``; a packed run is reproduced bitwise by the same pack (its checkpoints resume in
a pack or alone). A run that diverges, or whose directory is removed, stops updating; its pack-mates go
on. A packed run's training seconds are its share of the pack's: each iteration's wall time divided by the
runs it updated.

A pack executes eagerly, or with speedup "cudagraphs" as one CUDA graph: the whole packed iteration (the
K runs' G step, D steps and Adam steps) captured once and replayed (``snlab.cudagraph``), made anew when a
run finishes or diverges. Without a GPU the same static-input path runs eagerly (tested bitwise equal to
the eager pack); on a GPU it is not measured yet.

Which runs can share a pack: ``pack_key``. Speed: ``python -m snlab bench pack`` (docs/benchmarks.md).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
from pathlib import Path

import torch
from torch.func import functional_call, vmap

from snlab.callbacks import RunDirectoryGone, default_callbacks
from snlab.config import TrainConfig
from snlab.cudagraph import GraphedIteration
from snlab.files import exclusive
from snlab.objectives import d_objective, g_objective
from snlab.speed import resolve_device
from snlab.store import default_run_dir
from snlab.train import Trainer, TrainResult, finish_run, prepare_run

#: The fields (resolved through the preset and setting) that shape a pack's vmapped step, so every run of a
#: pack shares them; the others (seed, lr, β₁, β₂, setting, lengths, lr decay, logging, evaluation, clip
#: value, orthonormal β) are per run.
PACK_FIELDS = ("dataset", "method", "loss", "gradient_penalty", "gp_lambda", "arch", "conditional", "batch_size",
               "g_batch_size", "width", "final_width", "d_width", "n_dis", "joint_d", "n_power_iterations",
               "lrelu_slope", "device")


def pack_key(cfg: TrainConfig) -> tuple:
    """What runs packed together must share: ``PACK_FIELDS``, the device resolved ("auto" → cpu or cuda)."""
    return tuple(str(resolve_device(cfg.device)) if name == "device" else getattr(cfg, name) for name in PACK_FIELDS)


#: How a pack can execute (``TrainConfig.speedup``): ``train_packed`` and sweeps make "auto" "eager" for a
#: pack (graphs are not measured to pay on a GPU yet, docs/benchmarks.md); "cudagraphs" captures the whole
#: packed iteration as one CUDA graph. ``Pack`` itself executes as its trainers do.
PACK_SPEEDUPS = ("auto", "eager", "cudagraphs")


def check_speedups(cfgs: list[TrainConfig]) -> None:
    """Refuse runs asking for a speedup a pack cannot give (``PACK_SPEEDUPS``), or different ones."""
    other = [f"run {i}: {c.speedup!r}" for i, c in enumerate(cfgs) if c.speedup not in PACK_SPEEDUPS]
    if other:
        raise ValueError(f"packed runs execute eagerly or as one CUDA graph; speedup must be one of "
                         f"{', '.join(map(repr, PACK_SPEEDUPS))}, got {', '.join(other)}")
    if len({"eager" if c.speedup == "auto" else c.speedup for c in cfgs}) > 1:
        raise ValueError("runs packed together must execute alike; speedups: "
                         + ", ".join(f"run {i}: {c.speedup!r}" for i, c in enumerate(cfgs)))


def check_pack(cfgs: list[TrainConfig]) -> None:
    """Refuse runs that cannot be packed together, naming the fields that differ and each run's value, and
    runs asking for a speedup a pack cannot give (``check_speedups``)."""
    if not cfgs:
        raise ValueError("a pack needs at least one run; got none")
    check_speedups(cfgs)
    keys = [pack_key(c) for c in cfgs]
    differ = [(name, [key[i] for key in keys]) for i, name in enumerate(PACK_FIELDS) if len({k[i] for k in keys}) > 1]
    if differ:
        raise ValueError("runs packed together must agree in " + ", ".join(PACK_FIELDS) + "; these differ: "
                         + "; ".join(f"{name} ({', '.join(f'run {i}: {v!r}' for i, v in enumerate(values))})"
                                     for name, values in differ))


class _Stacked:
    """K modules of one structure called as one: ``__call__`` stacks their parameters (differentiably,
    when ``grad``) and buffers, runs ``fn(call, buffers, *inputs)`` under vmap, where ``call(*args)`` is the
    template module's forward with one run's tensors and ``buffers`` that run's buffers (``call(*args,
    buffers=...)`` takes them as an explicit input: ``torch.func.grad`` may not mutate captured tensors,
    and SN and BN update theirs in the forward call), then copies the changed buffers back."""

    def __init__(self, modules: list[torch.nn.Module]):
        self.template = copy.deepcopy(modules[0]).to("meta")  # its own tensors are never used
        # Parameters and buffers are updated in place (Adam, SN's copy, BN, load_state_dict), so each module's
        # tensors, looked up once here, stay the ones it computes with.
        self.params = [dict(m.named_parameters()) for m in modules]
        self.buffers = [dict(m.named_buffers()) for m in modules]

    def __call__(self, fn, inputs: tuple, active: list[int], grad: bool) -> torch.Tensor:
        mine = [self.params[k] for k in active]
        with contextlib.nullcontext() if grad else torch.no_grad():
            params = {name: torch.stack([p[name] for p in mine]) for name in mine[0]}
        buffers = {name: torch.stack([self.buffers[k][name] for k in active]) for name in self.buffers[0]}

        def one(p, b, *xs):
            def call(*args, buffers=b, **kwargs):
                return functional_call(self.template, (p, buffers), args, kwargs)
            return fn(call, b, *xs)

        dims = (0, 0, *(None if x is None else 0 for x in inputs))
        out = vmap(one, in_dims=dims)(params, buffers, *inputs)
        with torch.no_grad():
            for name, stacked in buffers.items():
                for k, value in zip(active, stacked.unbind()):
                    self.buffers[k][name].copy_(value)
        return out


def _stack(values: list) -> torch.Tensor | None:
    return None if values[0] is None else torch.stack(values)


def _generate(call_g, buffers: dict, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    return call_g(z) if y is None else call_g(z, y)


class Pack:
    """K ``Trainer``s of runs with one ``pack_key`` (seeds, Adam settings and lengths may differ), trained
    together: ``fit`` is ``Trainer.fit`` for all K, one vmapped G step and ``n_dis`` D steps per iteration."""

    def __init__(self, trainers: list[Trainer]):
        check_pack([t.cfg for t in trainers])  # speedups are PACK_SPEEDUPS, so each resolves to eager or cudagraphs
        for i, t in enumerate(trainers):  # "auto" resolves per device: the resolved ones must agree
            if t.speedup != trainers[0].speedup:
                raise ValueError(f"run {i} ({t.cfg.method}, seed {t.cfg.seed}) executes with speedup {t.speedup!r}, "
                                 f"run 0 with {trainers[0].speedup!r}; a pack executes its runs alike, eagerly or "
                                 "as one CUDA graph: pass speedup 'eager' or 'cudagraphs' (train_packed does)")
        first = trainers[0]
        self.trainers, self.cfg, self.loss, self.method = trainers, first.cfg, first.loss, first.method
        self.G, self.D = _Stacked([t.G for t in trainers]), _Stacked([t.D for t in trainers])
        self.seconds = [0.0] * len(trainers)
        self.graphed = first.speedup == "cudagraphs"
        self._graph: tuple[tuple, GraphedIteration] | None = None  # (the active runs it was made for, it)

    def iteration(self, active: list[int]) -> list[torch.Tensor]:
        """One G update, then ``n_dis`` D updates, for the runs ``active`` (indices); their (D loss, G loss).

        Graphed (speedup "cudagraphs"), the iteration is one ``GraphedIteration`` of all active runs, made
        anew when the active runs change (a run finished or diverged)."""
        if not self.graphed:
            return list(self.run_iteration(active, self.draw(active)))
        if self._graph is None or self._graph[0] != tuple(active):
            optimizers = [opt for k in active for opt in (self.trainers[k].opt_g, self.trainers[k].opt_d)]
            graph = GraphedIteration(lambda: self.draw(active),
                                     lambda first, rest: self.run_iteration(active, [first, *rest]),
                                     optimizers, self.trainers[0].device.type == "cuda")
            self._graph = tuple(active), graph
        return list(self._graph[1]())

    def draw(self, active: list[int]) -> list[tuple]:
        """The active runs' ``Trainer.draw()``, one after another (each from its own generator)."""
        return [inputs for k in active for inputs in self.trainers[k].draw()]

    def run_iteration(self, active: list[int], drawn: list[tuple]) -> torch.Tensor:
        """``iteration`` on given inputs (``draw(active)``); the runs' (D loss, G loss) as (K, 2)."""
        per_run = 1 + self.cfg.n_dis
        drawn = [drawn[i:i + per_run] for i in range(0, len(drawn), per_run)]
        loss_g = self.g_step(active, [d[0] for d in drawn])
        loss_d = sum(self.d_step(active, [d[1 + i] for d in drawn]) for i in range(self.cfg.n_dis)) / self.cfg.n_dis
        return torch.stack([loss_d, loss_g], dim=1)

    def g_step(self, active: list[int], inputs: list[tuple]) -> torch.Tensor:
        """``Trainer.g_step`` for every active run at once; the K losses (K,), detached."""
        z, y = (_stack(list(x)) for x in zip(*inputs))
        x = self.G(_generate, (z, y), active, grad=True)
        loss, cfg = self.loss, self.cfg

        def g_loss(call_d, buffers, x, y):
            return g_objective(call_d, loss, cfg, x, y)
        losses = self.D(g_loss, (x, y), active, grad=False)  # D's parameters enter as constants
        return self._update(losses, [self.trainers[k].opt_g for k in active])

    def d_step(self, active: list[int], inputs: list[tuple]) -> torch.Tensor:
        """``Trainer.d_step`` for every active run at once; the K losses (K,), detached."""
        real, y_real, z, y, eps = (_stack(list(x)) for x in zip(*inputs))
        cfg, loss = self.cfg, self.loss
        with torch.no_grad():
            fake = self.G(_generate, (z, y), active, grad=False)

        def d_loss(call_d, buffers, real, y_real, fake, y, eps):
            grad = torch.func.grad(lambda x, b: call_d(x, buffers=b).sum())  # the penalty's ∇ₓ D, functional
            return d_objective(call_d, loss, cfg, real, y_real, fake, y, eps, input_grad=lambda x: grad(x, buffers))
        losses = self.D(d_loss, (real, y_real, fake, y, eps), active, grad=True)
        if self.method.d_penalty:  # a function of each run's own weights: added outside the vmap
            losses = losses + torch.stack([self.method.d_penalty(self.trainers[k].D, self.trainers[k].cfg)
                                           for k in active])
        losses = self._update(losses, [self.trainers[k].opt_d for k in active])
        if self.method.after_d_step:
            for k in active:
                self.method.after_d_step(self.trainers[k].D, self.trainers[k].cfg)
        return losses

    @staticmethod
    def _update(losses: torch.Tensor, optimizers: list) -> torch.Tensor:
        """Backpropagate the K independent losses at once (their sum: run k's parameters get run k's
        gradient only) and step each run's optimizer."""
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        for opt in optimizers:
            opt.step()
        return losses.detach()

    def fit(self, run_dirs: list[Path], callbacks: list[list] | None = None) -> list[str]:
        """Train every run to its ``cfg.iterations``; each run's status ("complete", "diverged", or
        "removed": its directory went while it trained, ``callbacks.RunDirectory``; its pack-mates go on).

        Each run's callbacks see its own ``Trainer`` as in ``Trainer.fit``. Its training seconds are its
        share of the pack's: each iteration's wall time divided by the runs it updated."""
        trainers, begun = self.trainers, []
        for k, t in enumerate(trainers):
            t.clock = (lambda k=k: self.seconds[k])
        try:
            for t, run_dir, cbs in zip(trainers, run_dirs, callbacks or [None] * len(trainers), strict=True):
                t.begin(run_dir, cbs)
                begun.append(t)
            while active := [k for k, t in enumerate(trainers) if not t.done]:
                for k in active:
                    trainers[k]._set_lr()
                start = time.perf_counter()
                losses = self.iteration(active)
                share = (time.perf_counter() - start) / len(active)
                for k, loss in zip(active, losses):
                    self.seconds[k] += share
                    try:
                        trainers[k].advance(loss)
                    except RunDirectoryGone:  # that run stops ("removed"); its pack-mates go on
                        pass
        finally:
            for t in begun:
                t._trigger("on_end")
            for t in trainers:
                del t.clock  # the trainer's own wall clock again
        return [t.status for t in trainers]


def train_packed(cfgs: list[TrainConfig], store: str | Path | None = None) -> list[TrainResult]:
    """Train (or resume) the runs ``cfgs`` as one pack, each into its own directory (``out_dir``, else its key in
    ``store``, else in ``runs/``), holding every run's lock as ``train`` does. ``speedup="auto"`` runs eagerly
    here (``PACK_SPEEDUPS``); the runs are checked before any directory is touched. A run whose directory
    was removed while it trained comes back with status "removed", nothing written for it."""
    cfgs = [dataclasses.replace(c, speedup="eager") if c.speedup == "auto" else c for c in cfgs]
    check_pack(cfgs)
    run_dirs = [Path(c.out_dir) if c.out_dir else default_run_dir(c, *([store] if store else [])) for c in cfgs]
    if len(set(run_dirs)) < len(run_dirs):
        raise ValueError(f"two runs of the pack share a directory: {sorted(map(str, run_dirs))}")
    with contextlib.ExitStack() as locks:
        for run_dir in sorted(run_dirs):  # one order for every process: two packs never wait on each other
            run_dir.mkdir(parents=True, exist_ok=True)
            locks.enter_context(exclusive(run_dir / ".lock"))
        trainers = [prepare_run(cfg, run_dir) for cfg, run_dir in zip(cfgs, run_dirs)]
        statuses = Pack(trainers).fit(run_dirs, [default_callbacks(c, d) for c, d in zip(cfgs, run_dirs)])
        return [finish_run(t, status, packed=len(trainers)) for t, status in zip(trainers, statuses)]
