"""One training iteration captured as a CUDA graph and replayed (``TrainConfig.speedup="cudagraphs"``).

At batch 64 the standard CNN's iteration is a few hundred small kernels, and on an H100 the Python loop
launching them is the bottleneck: replaying them as one graph removes that cost. Written by hand because
torch.compile's CUDA graphs ("reduce-overhead") fail on this loop: D runs on the real and the fake batch
before one backward, and the second run overwrites the first's outputs (measured, README "Speed").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def _map(fn, inputs: list[tuple]) -> list[tuple]:
    """``fn`` applied to every tensor of a list of input tuples (one iteration's ``draw()``); None stays."""
    return [tuple(None if x is None else fn(x) for x in group) for group in inputs]


class GraphedIteration:
    """One training iteration on static input tensors. Each call takes the iteration's inputs from ``draw``
    (a list of tuples of tensors or None: G's inputs, then each D step's, drawn as eager training draws
    them), copies them into the static tensors and runs ``step(g_inputs, d_inputs)`` on them, which
    returns (mean D loss, G loss) as a (2,) tensor (a pack's: one row per run, (K, 2); ``snlab.pack``).

    With ``cuda`` the first ``warmup`` calls run eagerly on a side stream (as PyTorch asks before a capture),
    the next one captures ``step`` (G step, the D steps, every optimizer step) and every call after replays
    it. The ``optimizers`` must be capturable with a fixed learning rate, and SN must update its buffers in
    place (``normalizers.SpectralNorm``). Without ``cuda`` there is no graph: the same static-input path
    runs eagerly, which is what the CPU tests check.
    """

    def __init__(self, draw: Callable[[], list[tuple]], step: Callable[[tuple, list[tuple]], torch.Tensor],
                 optimizers: Sequence[torch.optim.Optimizer], cuda: bool, warmup: int = 3):
        self.draw, self.step, self.optimizers = draw, step, optimizers
        self.warmup, self.calls, self.cuda = warmup, 0, cuda
        self.static: list[tuple] | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        self.side: torch.cuda.Stream | None = None  # the warm-up's stream
        self.out: torch.Tensor | None = None

    def __call__(self) -> torch.Tensor:
        """``step``'s (mean D loss, G loss) on the device: (2,) as ``Trainer.iteration``, (K, 2) for a pack."""
        inputs = self.draw()
        if self.static is None:
            self.static = _map(torch.empty_like, inputs)
        for group, new in zip(self.static, inputs):
            for x, value in zip(group, new):
                if x is not None:
                    x.copy_(value)
        self.calls += 1
        if not self.cuda:
            return self.step(self.static[0], self.static[1:])
        if self.calls <= self.warmup:
            self.side = self.side or torch.cuda.Stream()
            self.side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(self.side):
                out = self.step(self.static[0], self.static[1:])
            torch.cuda.current_stream().wait_stream(self.side)
            return out
        if self.graph is None:
            self.graph = torch.cuda.CUDAGraph()
            for opt in self.optimizers:  # gradients are then allocated from the graph's pool
                opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(self.graph):
                self.out = self.step(self.static[0], self.static[1:])
        self.graph.replay()
        return self.out.clone()  # the next replay overwrites self.out
