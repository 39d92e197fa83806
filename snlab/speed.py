"""How G and D execute: the speed-up choices (``TrainConfig.speedup``), what "auto" picks per device,
and preparing the modules for it. The CUDA-graph capture itself is ``snlab.cudagraph``."""
from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """"auto" → a CUDA GPU when there is one, else the CPU; any other name as torch reads it."""
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


def resolve_speedup(cfg, device: torch.device) -> str:
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
