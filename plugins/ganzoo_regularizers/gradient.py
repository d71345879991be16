"""Gradient penalties on D's input: R1, R2 (Mescheder et al. 2018) and GP (Gulrajani et al. 2017).

All three differentiate D at its input through :mod:`ganzoo.penalties`, so they cost a double
backward; ``interval = N > 1`` makes them lazy (computed every N-th step and multiplied by N by
the step runner, Karras et al. 2020).
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from ganzoo.interfaces import Discriminator, Regularizer
from ganzoo.penalties import gradient_penalty, input_gradient_sq_norm

from . import _checks


class R1(Regularizer):
    """R1: penalise D's input gradient on real images.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?"
    (arXiv:1801.04406), eq. 9::

        R1 = gamma / 2 * E_x[ ||grad_x D(x)||_2^2 ]     (x real)

    Args:
        gamma: the weight. 10 as in the paper's experiments (CelebA-HQ, LSUN, ImageNet), which
            also suits ganzoo's small DCGANs. StyleGAN2-ADA's heuristic for other set-ups is
            ``gamma = 0.0002 * size^2 / batch_size``.
        interval: compute every ``interval`` generator steps (lazy regularisation; StyleGAN2
            uses 16).
    """

    name: ClassVar[str] = "r1"

    def __init__(self, gamma: float = 10.0, interval: int = 1) -> None:
        _checks.at_least(self.name, "gamma", gamma, 0)
        _checks.interval(self.name, interval)
        self.gamma = gamma
        self.interval = interval

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        return (
            self.gamma / 2 * input_gradient_sq_norm(discriminator, self.images(real, fake)).mean()
        )

    def images(self, real: Tensor, fake: Tensor) -> Tensor:
        """The batch whose input gradient is penalised: ``(B, C, H, W)``."""
        return real


class R2(R1):
    """R2: R1 on generated images (D-side; ``fake`` is detached).

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?"
    (arXiv:1801.04406), eq. 10::

        R2 = gamma / 2 * E_z[ ||grad_x D(x)||_2^2 at x = G(z) ]

    Args:
        gamma: the weight (10, as for R1).
        interval: compute every ``interval`` generator steps (lazy regularisation).
    """

    name: ClassVar[str] = "r2"

    def images(self, real: Tensor, fake: Tensor) -> Tensor:
        return fake


class GradientPenalty(Regularizer):
    """WGAN-GP's gradient penalty as a regularizer that joins any loss.

    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (arXiv:1704.00028)::

        GP = lambda_gp * E[ (||grad_x D(x_hat)||_2 - center)^2 ],
        x_hat = eps * x + (1 - eps) * G(z),  eps ~ U[0, 1] per sample

    ``center = 0`` gives the zero-centred penalty of Thanh-Tung et al. 2019, "Improving
    Generalization and Stability of Generative Adversarial Networks" (arXiv:1902.03984). With
    the same RNG state, ``--loss wgan-gp`` equals ``--loss wgan-gp --set
    loss.params.lambda_gp=0 --reg gp``: both call :func:`ganzoo.penalties.gradient_penalty`.

    Args:
        lambda_gp: the weight (10 in the paper; the name matches the ``wgan-gp`` loss's).
        center: the target gradient norm (1 in the paper).
        interval: compute every ``interval`` generator steps (lazy regularisation).
    """

    name: ClassVar[str] = "gp"

    def __init__(self, lambda_gp: float = 10.0, center: float = 1.0, interval: int = 1) -> None:
        _checks.at_least(self.name, "lambda_gp", lambda_gp, 0)
        _checks.at_least(self.name, "center", center, 0)
        _checks.interval(self.name, interval)
        self.lambda_gp = lambda_gp
        self.center = center
        self.interval = interval

    def penalty(self, discriminator: Discriminator, real: Tensor, fake: Tensor) -> Tensor:
        return self.lambda_gp * gradient_penalty(discriminator, real, fake, self.center)
