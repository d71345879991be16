"""``ganzoo sample``: where -o writes, grey images, slerp paths, random walks, truncation, --nrow."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.testing import train_tiny
from ganzoo.train import checkpoint as ckpt
from ganzoo.train.images import save_grid
from ganzoo.train.latents import prior_draw, slerp, truncated_normal

from .test_cli import ganzoo

SIZE = 16  # train_tiny's images: 1 x 16 x 16


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny grey run shared by the tests of this file (they only read it).

    Two steps leave G's output within 0.01 of grey: its last layer is scaled up so that
    different latents give visibly different pixels.
    """
    run = train_tiny(tmp_path_factory.mktemp("sample") / "run", steps=2)
    return contrasted(run)


def contrasted(run):
    last = run / "checkpoints" / "last.safetensors"
    tensors, meta = ckpt.read_checkpoint(last)
    final = max(k for k in tensors if k.startswith("g.blocks.") and k.endswith(".weight"))
    tensors[final] = tensors[final] * 500
    ckpt.atomic_save(tensors, last, meta)
    return run


def sample(capsys, run, *args: str) -> tuple[int, str, str]:
    return ganzoo(capsys, "sample", str(run), *args)


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.int16)


# ---- where -o writes ------------------------------------------------------------------------


def test_o_with_a_trailing_slash_writes_sample_png_into_that_folder(capsys, run, tmp_path):
    code, out, err = sample(capsys, run, "-n", "4", "-o", f"{tmp_path / 'grids'}/")
    assert code == 0, err
    assert (tmp_path / "grids" / "sample.png").is_file()
    assert str(tmp_path / "grids" / "sample.png") in out


def test_o_naming_an_existing_folder_or_a_name_without_extension_writes_into_it(
    capsys, run, tmp_path
):
    (tmp_path / "existing").mkdir()
    for name in ("existing", "new-folder"):
        code, _, err = sample(capsys, run, "-n", "4", "-o", str(tmp_path / name))
        assert code == 0, err
        assert (tmp_path / name / "sample.png").is_file()


def test_o_with_an_extension_that_is_no_image_format_is_one_line_naming_what_o_expects(
    capsys, run, tmp_path
):
    code, out, err = sample(capsys, run, "-n", "4", "-o", str(tmp_path / "grid.xyz"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "'.xyz' is not an image format" in err and ".png" in err and "folder" in err
    assert not (tmp_path / "grid.xyz").exists()


# ---- grey stays grey --------------------------------------------------------------------------


def test_grey_images_are_saved_as_grey_pngs_grid_and_individual(capsys, run, tmp_path):
    code, _, err = sample(
        capsys, run, "-n", "4", "-o", str(tmp_path / "g.png"), "--individual", str(tmp_path / "i")
    )
    assert code == 0, err
    assert Image.open(tmp_path / "g.png").mode == "L"
    assert Image.open(tmp_path / "i" / "000000.png").mode == "L"
    assert Image.open(tmp_path / "i" / "000000.png").size == (SIZE, SIZE)


def test_rgb_images_stay_rgb_and_grey_pixels_equal_the_rgb_rendering_of_one_channel(tmp_path):
    images = torch.rand(4, 1, 8, 8) * 2 - 1
    save_grid(images, tmp_path / "grey.png")
    save_grid(images.repeat(1, 3, 1, 1), tmp_path / "rgb.png")
    assert Image.open(tmp_path / "rgb.png").mode == "RGB"
    grey, rgb = pixels(tmp_path / "grey.png"), pixels(tmp_path / "rgb.png")
    assert np.array_equal(grey, rgb[:, :, 0])  # the same values as before, one channel


# ---- --nrow -------------------------------------------------------------------------------------


def test_nrow_sets_the_images_per_grid_row(capsys, run, tmp_path):
    code, _, err = sample(capsys, run, "-n", "6", "--nrow", "3", "-o", str(tmp_path / "g.png"))
    assert code == 0, err
    cell = SIZE + 2  # torchvision's 2-pixel padding
    assert Image.open(tmp_path / "g.png").size == (3 * cell + 2, 2 * cell + 2)


# ---- --interpolate --------------------------------------------------------------------------------


def frames(capsys, run, folder, *args: str) -> list[np.ndarray]:
    code, _, err = sample(capsys, run, "--individual", str(folder), *args)
    assert code == 0, err
    return [pixels(p) for p in sorted(folder.glob("*.png"))]


def test_interpolate_slerps_from_each_seed_to_the_next_one_row_per_segment(capsys, run, tmp_path):
    path = frames(capsys, run, tmp_path / "path", "--interpolate", "5", "--seeds", "3,7,12")
    assert len(path) == 2 * 5
    for index, seed in ((0, 3), (4, 7), (5, 7), (9, 12)):
        (alone,) = frames(capsys, run, tmp_path / f"seed{seed}", "-n", "1", "--seed", str(seed))
        assert np.abs(path[index] - alone).max() <= 1, f"frame {index} is not seed {seed}'s image"
    assert np.abs(path[2] - path[0]).max() > 10  # the middle of a segment is neither end
    code, _, err = sample(
        capsys, run, "--interpolate", "5", "--seeds", "3,7,12", "-o", str(tmp_path / "g.png")
    )
    assert code == 0, err
    cell = SIZE + 2
    assert Image.open(tmp_path / "g.png").size == (5 * cell + 2, 2 * cell + 2)


def test_interpolate_defaults_to_the_seed_and_the_next(capsys, run, tmp_path):
    path = frames(capsys, run, tmp_path / "path", "--interpolate", "3", "--seed", "4")
    (five,) = frames(capsys, run, tmp_path / "five", "-n", "1", "--seed", "5")
    assert len(path) == 3 and np.abs(path[-1] - five).max() <= 1


def test_slerp_keeps_the_norm_where_a_straight_line_would_shrink_it():
    a, b = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    torch.testing.assert_close(path.norm(dim=1), torch.full((5,), 3.0))
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)


# ---- --walk -------------------------------------------------------------------------------------------


def test_walk_rows_start_at_the_plain_samples_and_move_in_small_steps(capsys, run, tmp_path):
    walks = frames(capsys, run, tmp_path / "walk", "--walk", "4", "-n", "3", "--seed", "9")
    starts = frames(capsys, run, tmp_path / "plain", "-n", "3", "--seed", "9")
    assert len(walks) == 3 * 4
    for i in range(3):
        assert np.abs(walks[4 * i] - starts[i]).max() <= 1, f"walk {i} does not start at sample {i}"
    step = np.abs(walks[1] - walks[0]).mean()
    apart = np.abs(walks[4] - walks[0]).mean()  # two walks' starts: independent latents
    assert 0 < step < apart  # it moves, by less than a jump to an independent latent


def test_walk_steps_keep_latents_on_the_prior():
    from ganzoo.train.latents import random_walk

    def draw(n, seed):
        return torch.randn(n, 256, generator=torch.Generator().manual_seed(seed))

    points = random_walk(draw(64, 0), 50, draw=draw, seed=1)  # 64 walks of 50 steps
    last = points.view(64, 50, 256)[:, -1]
    assert abs(last.std().item() - 1.0) < 0.05  # still N(0, I) after 49 steps, not drifting


# ---- --truncation ---------------------------------------------------------------------------------


def test_truncated_draws_lie_within_psi_and_are_not_just_clipped():
    z = truncated_normal(2000, 8, 0.5, generator=torch.Generator().manual_seed(0))
    assert z.abs().max() <= 0.5
    at_edge = (z.abs() > 0.499).float().mean().item()
    assert at_edge < 0.01  # clipping would pile ~60% of the mass on +-psi
    # N(0,1) conditioned on |z| <= 0.5 has variance 1 - 2 psi phi(psi) / (2 Phi(psi) - 1)
    phi = math.exp(-0.125) / math.sqrt(2 * math.pi)
    variance = 1 - 2 * 0.5 * phi / math.erf(0.5 / math.sqrt(2))
    assert abs(z.var().item() - variance) < 0.005


def test_truncation_changes_the_samples_and_is_reproducible(capsys, run, tmp_path):
    plain = frames(capsys, run, tmp_path / "plain", "-n", "2")
    once = frames(capsys, run, tmp_path / "once", "-n", "2", "--truncation", "0.5")
    again = frames(capsys, run, tmp_path / "again", "-n", "2", "--truncation", "0.5")
    assert all(np.array_equal(a, b) for a, b in zip(once, again, strict=True))
    assert all(np.abs(a - b).max() > 10 for a, b in zip(plain, once, strict=True))


def test_truncation_refuses_a_generator_with_a_prior_of_its_own():
    from ganzoo import Generator, UsageError

    class Uniform(Generator):
        latent_dim = 4

        def forward(self, z):
            return z

        def sample_latent(self, n, *, device=None, generator=None):
            return torch.rand(n, 4, generator=generator)

    with pytest.raises(UsageError, match="N\\(0, I\\) latents, but Uniform overrides"):
        prior_draw(Uniform(), 0.5)


# ---- options that do not fit --------------------------------------------------------------------

BAD = [
    (["--truncation", "0"], "--truncation must be > 0, got 0.0"),
    (["--interpolate", "1"], "--interpolate must be >= 2"),
    (["--walk", "0"], "--walk must be >= 2"),
    (["--nrow", "0"], "--nrow must be >= 1, got 0"),
    (["--interpolate", "4", "--walk", "4"], "--interpolate and --walk exclude each other"),
    (["--interpolate", "4", "-n", "8"], "--interpolate takes its latents from --seeds"),
    (["--seeds", "1,2"], "--seeds chooses the path of --interpolate"),
    (["--interpolate", "4", "--seeds", "1"], "--seeds needs at least two seeds"),
    (["--interpolate", "4", "--seeds", "1,x"], "--seeds takes whole numbers"),
]


@pytest.mark.parametrize(
    ("args", "message"), BAD, ids=lambda a: " ".join(a) if isinstance(a, list) else ""
)
def test_options_that_do_not_fit_are_one_line_usage_errors(capsys, run, tmp_path, args, message):
    code, out, err = sample(capsys, run, *args, "-o", str(tmp_path / "g.png"))
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and message in err, err


def test_a_conditional_run_walks_and_interpolates_in_the_class_it_is_given(
    capsys, tmp_path, fresh_host
):
    settings = ["model.params.conditional=true", "data.params.classes=3"]
    labelled = contrasted(train_tiny(tmp_path / "run", steps=2, assignments=settings))
    capsys.readouterr()  # the training's progress lines
    code, out, err = sample(capsys, labelled, "--interpolate", "3", "-o", str(tmp_path / "g.png"))
    assert code == 2 and err.count("\n") == 1 and "add --class NAME" in err
    rows = {}
    for label in ("0", "2"):
        rows[label] = frames(
            capsys, labelled, tmp_path / label, "--walk", "3", "-n", "1", "--class", label
        )
        assert len(rows[label]) == 3
    assert np.abs(rows["0"][0] - rows["2"][0]).max() > 10  # the same latent, another class
