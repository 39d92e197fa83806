"""What D and G minimise at one update, for one run: the GAN loss (``snlab.losses``) on D's scores, the
gradient penalty, and AC-GAN's class terms. ``snlab.train`` calls these with D itself and ``snlab.pack``
with one run's functional D inside a vmap, so a run's objective is written once.

AC-WGAN-GP (App. E's Table 8, built on Gulrajani et al.'s ``gan_cifar_resnet.py``): D's "ac" head scores x
without labels and also predicts its class; D adds the cross-entropy of its prediction on the *real* batch,
G that of D's prediction on its fakes against the classes it was asked for, each weighted as in that code
(``AC_WEIGHT_D``, ``AC_WEIGHT_G``; docs/paper.md §3). The penalty sees only the score.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from snlab.losses import Loss, gradient_penalty

#: Weights of the auxiliary classifier's cross-entropy in D's and in G's loss (Gulrajani et al.'s ACGAN_SCALE
#: and ACGAN_SCALE_G).
AC_WEIGHT_D, AC_WEIGHT_G = 1.0, 0.1


def _scores(call_d, x: torch.Tensor, y: torch.Tensor | None, head: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """D's scores (B,) of ``x`` and, for the "ac" head, its class logits (B, C) (else None). ``y`` (B,)
    labels for a labeled head ("projection", "concat"), None when unconditional; the "ac" head takes none."""
    if head == "ac":
        return call_d(x, logits=True)
    return (call_d(x) if y is None else call_d(x, y)), None


def d_objective(call_d, loss: Loss, cfg, real: torch.Tensor, y_real: torch.Tensor | None, fake: torch.Tensor,
                y: torch.Tensor | None, eps: torch.Tensor | None, input_grad=None) -> torch.Tensor:
    """D's loss at one D step, before a method's own penalty (``MethodSpec.d_penalty``): ``loss.d`` on the
    scores of ``real`` (B, C, H, W) with labels ``y_real`` and ``fake`` with ``y`` (labels None when
    unconditional), in one D call when ``cfg.joint_d``; + AC_WEIGHT_D · CE(D's logits on ``real``,
    ``y_real``) for the "ac" head; + ``cfg.gp_lambda`` · the gradient penalty at ε = ``eps`` (B,)
    (``losses.gradient_penalty``; ``input_grad`` as there). A scalar."""
    head = cfg.conditional
    if cfg.joint_d:  # one call for real and fake: one SN power iteration for both
        both, logits = _scores(call_d, torch.cat([real, fake]), None if y is None else torch.cat([y_real, y]), head)
        real_scores, fake_scores = both.split([len(real), len(fake)])
        logits = None if logits is None else logits[:len(real)]
    else:
        real_scores, logits = _scores(call_d, real, y_real, head)
        fake_scores = _scores(call_d, fake, y, head)[0]
    out = loss.d(real_scores, fake_scores)
    if logits is not None:
        out = out + AC_WEIGHT_D * F.cross_entropy(logits, y_real)
    if cfg.gradient_penalty:
        out = out + cfg.gp_lambda * gradient_penalty(call_d, real, fake, eps=eps, input_grad=input_grad)
    return out


def g_objective(call_d, loss: Loss, cfg, fake: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """G's loss at one G step: ``loss.g`` on D's scores of ``fake`` = G(z, y) (labels ``y`` None when
    unconditional), + AC_WEIGHT_G · CE(D's logits on ``fake``, ``y``) for the "ac" head. A scalar."""
    scores, logits = _scores(call_d, fake, y, cfg.conditional)
    out = loss.g(scores)
    return out if logits is None else out + AC_WEIGHT_G * F.cross_entropy(logits, y)
