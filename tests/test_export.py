"""``ganzoo export``: a generator-only folder (safetensors, TorchScript, ONNX, a model card) that
runs without ganzoo, and ``ganzoo.load_generator`` reading it back."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec

import pytest
import torch

import ganzoo
from ganzoo import UsageError
from ganzoo.testing import train_tiny
from ganzoo.train import checkpoint as ckpt

from .test_cli import ganzoo as cli
from .test_sample import contrasted


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny grey run, exported once with ``ganzoo export RUN`` (the tests only read both)."""
    return contrasted(train_tiny(tmp_path_factory.mktemp("export") / "run", steps=2))


@pytest.fixture(scope="module")
def exported(run):
    from ganzoo.cli import main

    try:
        main(["export", str(run)])
    except SystemExit as exc:
        assert exc.code in (0, None), f"ganzoo export exited {exc.code}"
    return run / "export"


def latents(n: int, dim: int = 16, seed: int = 5) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_export_writes_weights_torchscript_a_model_card_and_its_grid(capsys, run, tmp_path):
    code, out, err = cli(capsys, "export", str(run), "-o", str(tmp_path / "g"))
    assert code == 0, err
    names = {p.name for p in (tmp_path / "g").iterdir()}
    assert {"generator.safetensors", "generator.pt", "generator.pt2", "README.md"} <= names
    assert "sample.png" in names
    assert f"raw generator of step 2 -> {tmp_path / 'g'}: generator.safetensors" in out
    if find_spec("onnx") is None:  # the plain note instead of the file
        assert "generator.onnx" not in names
        assert "skipped generator.onnx: the onnx package is not installed (pip install onnx)" in out
    else:
        assert "generator.onnx" in names


SCRIPT = """
import sys
import torch

inputs = torch.load(sys.argv[1])
outputs = []
for path in sys.argv[2:]:
    if path.endswith(".pt2"):  # a torch.export program
        generator = torch.export.load(path).module()
    else:  # TorchScript
        generator = torch.jit.load(path)
    with torch.no_grad():
        outputs.append(generator(*inputs))
torch.save(outputs, "outputs.pt")
assert not [m for m in sys.modules if m.split(".")[0].startswith("ganzoo")], "ganzoo was imported"
"""


def run_without_ganzoo(folder, inputs, tmp_path) -> list[torch.Tensor]:
    """The exported ``generator.pt`` and ``generator.pt2`` of ``folder`` on ``inputs``, in one
    fresh Python process that never imports ganzoo."""
    torch.save(inputs, tmp_path / "inputs.pt")
    script = tmp_path / "use_export.py"
    script.write_text(textwrap.dedent(SCRIPT))
    models = [str(folder / "generator.pt"), str(folder / "generator.pt2")]
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "inputs.pt"), *models],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return torch.load(tmp_path / "outputs.pt")


def test_torchscript_and_torch_export_run_without_ganzoo_and_draw_the_runs_images(
    exported, run, tmp_path
):
    z = latents(5)  # another batch size than the one traced
    traced, program = run_without_ganzoo(exported, (z,), tmp_path)
    with torch.no_grad():
        expected = ganzoo.load_generator(run)(z)
    assert traced.shape == (5, 1, 16, 16) and traced.std() > 0.1
    torch.testing.assert_close(traced, expected)
    torch.testing.assert_close(program, expected)


def test_load_generator_reads_the_export_file_or_folder_back(exported, run):
    z = latents(4)
    with torch.no_grad():
        expected = ganzoo.load_generator(run)(z)
        for path in (exported / "generator.safetensors", exported):
            generator = ganzoo.load_generator(path)
            assert not generator.training
            torch.testing.assert_close(generator(z), expected)


def test_exported_weights_carry_what_a_user_needs_to_know(exported):
    _, info = ckpt.read_checkpoint(exported / "generator.safetensors")
    assert info["format"] == "ganzoo-generator" and info["step"] == 2 and info["ema"] is False
    assert info["latent_dim"] == 16 and info["num_classes"] == 0 and info["inputs"] == ["z"]
    assert info["image"] == {"channels": 1, "size": 16, "num_classes": 0}
    assert info["latent_prior"] == "normal"
    assert info["config"]["model"]["params"]["ngf"] == 8
    assert info["plugins"]["model"]["name"] == "dcgan:dcgan"


def test_load_generator_refuses_what_does_not_apply_to_an_export(exported, run):
    with pytest.raises(UsageError, match="exported generator: it is one set of weights"):
        ganzoo.load_generator(exported, ema=True)
    with pytest.raises(UsageError, match="is a training checkpoint, not an exported generator"):
        ganzoo.load_generator(run / "checkpoints" / "last.safetensors")


def test_the_model_card_has_config_plugins_eval_numbers_with_protocol_and_grid(
    capsys, run, tmp_path, monkeypatch
):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    code, out, err = cli(
        capsys, "eval", str(run), "-n", "32", "-m", "fd", "--extractor", "ganzoo-fmnist", "--json"
    )
    assert code == 0, err
    fd = json.loads(out)["metrics"]["fd"]
    code, _, err = cli(capsys, "export", str(run), "-o", str(tmp_path / "card"))
    assert code == 0, err
    card = (tmp_path / "card" / "README.md").read_text()
    plugins = json.loads((run / "plugins.json").read_text())
    assert "# dcgan generator: bce loss on fake" in card
    assert "![64 samples, seed 0](sample.png)" in card
    assert (
        f"| `dcgan:dcgan` | {plugins['model']['distribution']} | {plugins['model']['version']} |"
        in card
    )
    assert f"| fd | {fd:.4g} | 2 | raw | ganzoo-fmnist" in card  # value, step, G, extractor
    assert "| 32 | 32 of fake:test | 0 |" in card  # samples, reference, seed
    assert "[model.params]\nngf = 8" in card and "batch_size = 8" in card
    assert 'torch.jit.load("generator.pt")' in card and "torch.randn(16, 16)" in card


def test_the_card_lists_nested_eval_numbers_one_row_each(tmp_path):
    from ganzoo.model_card import eval_table

    result = {
        "metrics": {"fd": 12.5, "fd_per_class": {"0": 3.0, "1": 4.5}, "kid": None},
        "protocol": {"extractor": "ganzoo-fmnist", "step": 7, "ema": False, "num_samples": 100},
    }
    rows = [line for line in eval_table([result]) if line.startswith("| fd")]
    assert [row.split(" | ")[:2] for row in rows] == [
        ["| fd", "12.5"],
        ["| fd_per_class/0", "3"],
        ["| fd_per_class/1", "4.5"],
    ]


def test_export_errors_are_one_line(capsys, run, tmp_path):
    (tmp_path / "file").write_text("")
    code, out, err = cli(capsys, "export", str(run), "-o", str(tmp_path / "file"))
    assert code == 2 and err.count("\n") == 1 and "is a file; export writes a folder" in err
    code, out, err = cli(capsys, "export", str(run), "--ema")
    assert code == 1 and err.count("\n") == 1 and "no EMA generator" in err


@pytest.mark.skipif(
    find_spec("onnx") is None or find_spec("onnxruntime") is None,
    reason="needs onnx and onnxruntime",
)
def test_the_onnx_file_draws_the_runs_images(exported, run):
    import onnxruntime

    z = latents(3)
    session = onnxruntime.InferenceSession(str(exported / "generator.onnx"))
    (images,) = session.run(["images"], {"z": z.numpy()})
    with torch.no_grad():
        expected = ganzoo.load_generator(run)(z)
    torch.testing.assert_close(torch.from_numpy(images), expected, atol=1e-4, rtol=1e-4)


# ---- a class-conditional generator: exported with a label input -------------------------------


@pytest.fixture
def labelled_run(tmp_path, fresh_host):
    """The conditional DCGAN on 3 classes of fake data."""
    settings = ["model.params.conditional=true", "data.params.classes=3"]
    return contrasted(train_tiny(tmp_path / "run", steps=2, assignments=settings))


def test_a_conditional_generator_is_exported_with_a_label_input(capsys, labelled_run, tmp_path):
    code, _, err = cli(capsys, "export", str(labelled_run), "-o", str(tmp_path / "export"))
    assert code == 0, err
    _, info = ckpt.read_checkpoint(tmp_path / "export" / "generator.safetensors")
    assert info["num_classes"] == 3 and info["inputs"] == ["z", "y"]
    assert info["image"]["num_classes"] == 3 and len(info["classes"]) == 3
    z, y = latents(6), torch.tensor([0, 1, 2, 2, 1, 0])
    images, program = run_without_ganzoo(tmp_path / "export", (z, y), tmp_path)
    torch.testing.assert_close(program, images)
    generator = ganzoo.load_generator(labelled_run)
    with torch.no_grad():
        torch.testing.assert_close(images, generator(z, y))
        assert not torch.allclose(generator(z, y), generator(z, torch.zeros_like(y)))
        torch.testing.assert_close(ganzoo.load_generator(tmp_path / "export")(z, y), images)
    card = (tmp_path / "export" / "README.md").read_text()
    assert "y = torch.randint(0, 3, (16,))" in card and "generator(z, y)" in card
    if find_spec("onnx") and find_spec("onnxruntime"):
        import onnxruntime

        session = onnxruntime.InferenceSession(str(tmp_path / "export" / "generator.onnx"))
        (onnx_images,) = session.run(["images"], {"z": z.numpy(), "y": y.numpy()})
        torch.testing.assert_close(torch.from_numpy(onnx_images), images, atol=1e-4, rtol=1e-4)
