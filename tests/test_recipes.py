"""The issue's recipes through the real CLI: R1 + DiffAugment, the WGAN-GP preset, weight
clipping with RMSprop and a third-party regularizer each train and resume bit-identically,
under --amp, --compile and 2-worker DDP."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from ganzoo.train import checkpoint as ckpt

from .test_cli import ganzoo
from .test_training import TINY_FLAGS

# a third-party regularizer, installed as a real distribution with an entry point
ZERO_GP = """
import torch
from ganzoo import Regularizer, hookimpl

class ZeroCentredGP(Regularizer):
    '''Zero-centred penalty on interpolates, lazily every `interval` steps.'''

    def __init__(self, weight: float = 1.0, interval: int = 2) -> None:
        self.weight, self.interval = weight, interval

    def penalty(self, discriminator, real, fake):
        eps = torch.rand(real.shape[0], 1, 1, 1, dtype=real.dtype)
        x = (eps * real + (1 - eps) * fake).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
        return self.weight * grad.flatten(1).pow(2).sum(1).mean()

@hookimpl
def register_regularizers(register):
    register("zero-gp", ZeroCentredGP)
"""

RECIPES = {
    "r1+diffaugment": ["--loss", "bce", "--reg", "r1", "--aug", "diffaugment"],
    "wgan-gp-preset": ["--preset", "wgan-gp"],
    "clip+rmsprop": ["--loss", "wgan", "--reg", "clip", "--optimizer", "RMSprop", "--lr", "5e-5"],
    "third-party": ["--loss", "bce", "--reg", "zero-gp"],
    "spectral-norm+ema": ["--loss", "hinge", "--set", "model.params.d_norm=spectral", "--ema"],
}
# every piece at once, for the expensive modes (compile, DDP)
EVERYTHING = [
    "--preset", "wgan-gp", "--reg", "r1", "--reg", "clip", "--reg", "zero-gp", "--reg", "lecam", "--reg", "bcr",
    "--aug", "ada", "--set", "aug.params.speed_kimg=0.05", "--optimizer", "RMSprop",
]  # fmt: skip


@pytest.fixture
def third_party(plugin_dist, monkeypatch):
    site = plugin_dist("ganzoo-zerogp", ZERO_GP)
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return site


def weights(path):
    tensors, meta = ckpt.read_checkpoint(path / "checkpoints" / "last.safetensors")
    return {k: v for k, v in tensors.items() if not k.startswith(("rng", "comp"))}, meta


def assert_identical(a, b):
    (ta, ma), (tb, mb) = weights(a), weights(b)
    assert ma["step"] == mb["step"]
    assert set(ta) == set(tb)
    for key in ta:
        assert torch.equal(ta[key], tb[key]), key
    assert ma["components"] == mb["components"]  # loss/regularizer/augmentation state too


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_each_recipe_trains_under_amp_and_resumes_exactly(tmp_path, capsys, third_party, recipe):
    args = ["run", "dcgan", *RECIPES[recipe], *TINY_FLAGS, "--amp"]
    assert ganzoo(capsys, *args, "--steps", "6", "-o", str(tmp_path / "straight"))[0] == 0
    assert ganzoo(capsys, *args, "--steps", "3", "-o", str(tmp_path / "split"))[0] == 0
    code, _, err = ganzoo(capsys, *args, "--steps", "6", "--resume", str(tmp_path / "split"))
    assert code == 0, err
    assert_identical(tmp_path / "straight", tmp_path / "split")


def test_a_spectral_norm_discriminator_compiles(tmp_path, capsys):
    args = ["run", "dcgan", *RECIPES["spectral-norm+ema"], *TINY_FLAGS, "--compile", "--steps", "2"]
    code, _, err = ganzoo(capsys, *args, "-o", str(tmp_path / "run"))
    assert code == 0, err
    assert "torch.compile failed" not in err


def test_everything_at_once_compiles_and_resumes(tmp_path, capsys, third_party):
    args = ["run", "dcgan", *EVERYTHING, *TINY_FLAGS, "--compile", "--amp"]
    code, _, err = ganzoo(capsys, *args, "--steps", "4", "-o", str(tmp_path / "run"))
    assert code == 0, err
    assert "torch.compile failed" not in err
    code, _, err = ganzoo(capsys, *args, "--steps", "6", "--resume", str(tmp_path / "run"))
    assert code == 0, err
    _, meta = weights(tmp_path / "run")
    assert meta["step"] == 6 and meta["components"]["aug"]  # ADA's p and counters


def ddp_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", "run", *args, "--nproc-per-node", "2", "--device", "cpu"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip


@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_everything_at_once_under_two_ddp_workers_resumes_exactly(tmp_path, third_party):
    args = ["dcgan", *EVERYTHING, *TINY_FLAGS, "--set", "data.params.length=96"]
    assert_ddp_resumes_exactly(tmp_path, args, steps=6)


def assert_ddp_resumes_exactly(tmp_path, args: list[str], steps: int) -> None:
    """A straight 2-worker run of ``steps`` and one stopped halfway then resumed end identical."""
    straight = ddp_run(*args, "--steps", str(steps), "-o", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-2000:]
    first = ddp_run(*args, "--steps", str(steps // 2), "-o", str(tmp_path / "split"))
    assert first.returncode == 0, first.stderr[-2000:]
    resumed = ddp_run("--resume", str(tmp_path / "split"), "--steps", str(steps))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_identical(tmp_path / "straight", tmp_path / "split")
