"""``ganzoo export RUN``: a run's generator as files that need no ganzoo to use.

The export folder holds:

- ``generator.pt``: TorchScript (traced in eval mode); ``torch.jit.load`` is all it needs;
- ``generator.pt2``: the same as a ``torch.export`` program (TorchScript's successor);
  ``torch.export.load(path).module()`` needs torch alone;
- ``generator.onnx``: the same graph for ONNX runtimes, when the ``onnx`` package is installed;
- ``generator.safetensors``: the weights with JSON metadata (config, image shape, latent size,
  plugin versions), which :func:`read_exported` (``ganzoo.load_generator``) rebuilds through the
  architecture's plugin;
- ``README.md``: a model card (config, plugins, eval numbers with their protocol) and
  ``sample.png``, the grid it shows.

A class-conditional generator (``num_classes > 0``) takes ``(z, y)``, labels ``y`` of shape
``(B,)``; every other one takes ``z`` alone.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from . import __version__
from .errors import GanzooError, UsageError
from .interfaces import Generator, ImageSpec

FORMAT = "ganzoo-generator"
FORMAT_VERSION = 1
WEIGHTS = "generator.safetensors"
TORCHSCRIPT = "generator.pt"
PROGRAM = "generator.pt2"
ONNX = "generator.onnx"
CARD = "README.md"
GRID = "sample.png"
#: the model card's grid: the latents ``ganzoo sample RUN -n 64 --seed 0`` draws
GRID_COUNT, GRID_SEED = 64, 0


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_run` wrote, and what it skipped (one line each: what and why)."""

    folder: Path
    written: tuple[str, ...]
    skipped: tuple[str, ...]
    step: int
    ema: bool


def num_classes(generator: Generator) -> int:
    """Classes a conditional generator takes labels for; 0 for an unconditional one."""
    return int(getattr(generator, "num_classes", 0) or 0)


def example_inputs(generator: Generator, n: int, seed: int = 0) -> tuple[Tensor, ...]:
    """``(z,)``, or ``(z, y)`` with labels cycling through the classes for a conditional G."""
    z = generator.sample_latent(n, generator=torch.Generator().manual_seed(seed))
    classes = num_classes(generator)
    return (z,) if classes == 0 else (z, torch.arange(n) % classes)


def input_names(generator: Generator) -> list[str]:
    return ["z"] if num_classes(generator) == 0 else ["z", "y"]


def default_folder(run_root: Path, ema: bool) -> Path:
    return run_root / ("export-ema" if ema else "export")


def export_run(
    run: str | Path,
    out: str | Path | None = None,
    *,
    ema: bool = False,
    checkpoint: str | Path | None = None,
) -> ExportResult:
    """Export the generator of ``run`` (its EMA with ``ema``) into ``out`` [RUN/export]."""
    from .train.loading import load_generator, load_run_config, run_spec
    from .train.rundir import RunDir

    run_dir = RunDir(Path(run))
    config = load_run_config(run_dir)
    generator, meta = load_generator(
        run_dir, ema=ema, checkpoint=Path(checkpoint) if checkpoint else None
    )
    folder = Path(out) if out is not None else default_folder(run_dir.root, ema)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder} is a file; export writes a folder of files, name a folder")
    folder.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        grid = generator(*example_inputs(generator, GRID_COUNT, GRID_SEED))
    spec = run_spec(run_dir, config)  # what the architecture builds from, classes included
    plugins = (
        json.loads(run_dir.plugins.read_text())
        if run_dir.plugins.is_file()
        else meta.get("plugins", {})
    )
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "step": meta["step"],
        "ema": ema,
        "latent_dim": generator.latent_dim,
        "num_classes": num_classes(generator),
        "inputs": input_names(generator),
        "latent_prior": "normal"
        if type(generator).sample_latent is Generator.sample_latent
        else f"{type(generator).__name__}.sample_latent",
        "image": {"channels": spec.channels, "size": spec.size, "num_classes": spec.num_classes},
        "classes": run_dir.read_classes(),
        "config": config.to_dict(),
        "plugins": plugins,
        "ganzoo": __version__,
        "torch": torch.__version__,
    }
    written, skipped = [WEIGHTS], []
    write_weights(generator, folder / WEIGHTS, info)
    problem = write_torchscript(generator, folder / TORCHSCRIPT)
    if problem:
        skipped.append(f"{TORCHSCRIPT}: {problem}")
    else:
        written.append(TORCHSCRIPT)
    problem = write_program(generator, folder / PROGRAM)
    if problem:
        skipped.append(f"{PROGRAM}: {problem}")
    else:
        written.append(PROGRAM)
    problem = write_onnx(generator, folder / ONNX)
    if problem:
        skipped.append(f"{ONNX}: {problem}")
    else:
        written.append(ONNX)
    from .model_card import model_card, read_evals
    from .train.images import save_grid

    save_grid(grid, folder / GRID, nrow=8)
    evals = read_evals(run_dir.root / "eval")
    (folder / CARD).write_text(
        model_card(info, written, skipped, evals, run_dir.root, config.to_toml())
    )
    written += [GRID, CARD]
    return ExportResult(folder, tuple(written), tuple(skipped), meta["step"], ema)


def write_weights(generator: Generator, path: Path, info: dict[str, Any]) -> None:
    """The state dict, unprefixed, with ``info`` as the file's ``ganzoo`` metadata."""
    from .train.checkpoint import atomic_save, module_state

    atomic_save(module_state(generator), path, info)
    path.chmod(0o644)  # a file to share, not a private temp file's 0600


def write_torchscript(generator: Generator, path: Path) -> str | None:
    """Trace ``generator`` (eval mode) to ``path``; the reason instead when it cannot be traced.

    The trace is checked on another batch size than it was traced with: a generator that bakes
    its batch size into the graph would give wrong shapes later, not an error now.
    """
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings: the check below decides
            traced = torch.jit.trace(generator, example_inputs(generator, 2), check_trace=False)
            other = example_inputs(generator, 3, seed=1)
            if not torch.allclose(traced(*other), generator(*other), atol=1e-5):
                return "the traced graph differs from the generator on another batch size"
    except Exception as exc:  # any architecture's code may resist tracing
        return f"tracing failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    traced.save(str(path))
    return None


def write_program(generator: Generator, path: Path) -> str | None:
    """``torch.export`` the generator (eval mode, batch size dynamic) to ``path``.

    TorchScript's successor (torch deprecates ``torch.jit``): ``torch.export.load(path).module()``
    needs torch alone. Checked on another batch size, as the trace is.
    """
    inputs = example_inputs(generator, 2)
    batch = torch.export.Dim("batch", min=1)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.export(
                generator, inputs, dynamic_shapes=tuple({0: batch} for _ in inputs)
            )
            other = example_inputs(generator, 3, seed=1)
            if not torch.allclose(program.module()(*other), generator(*other), atol=1e-5):
                return "the exported program differs from the generator on another batch size"
    except Exception as exc:  # data-dependent control flow and the like
        return f"torch.export failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    torch.export.save(program, str(path))
    return None


def write_onnx(generator: Generator, path: Path) -> str | None:
    """Export to ONNX (batch size dynamic) when ``onnx`` is installed; else say so."""
    if find_spec("onnx") is None:
        return "the onnx package is not installed (pip install onnx)"
    names = input_names(generator)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                generator,
                example_inputs(generator, 2),
                str(path),
                dynamo=False,  # the TorchScript exporter: onnx is enough, no onnxscript
                input_names=names,
                output_names=["images"],
                dynamic_axes={name: {0: "batch"} for name in [*names, "images"]},
                opset_version=17,
            )
    except Exception as exc:
        path.unlink(missing_ok=True)
        return f"ONNX export failed ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
    return None


def is_exported(path: Path) -> bool:
    """An exported generator: a ``.safetensors`` file, or a folder with ``generator.safetensors``
    and no ``config.toml`` (a run directory has one)."""
    if path.is_file():
        return path.suffix == ".safetensors"
    return (path / WEIGHTS).is_file() and not (path / "config.toml").exists()


def read_exported(path: Path, device: torch.device | str = "cpu") -> Generator:
    """Rebuild an exported generator (file or folder) through its architecture's plugin."""
    from .params import instantiate
    from .plugins import get_host
    from .train.checkpoint import read_checkpoint

    file = path / WEIGHTS if path.is_dir() else path
    tensors, info = read_checkpoint(file)
    if info.get("format") != FORMAT:
        raise UsageError(
            f"{file} is a training checkpoint, not an exported generator; load it with "
            "ganzoo.load_generator(RUN_DIR, checkpoint=...)"
        )
    if info.get("format_version", 0) > FORMAT_VERSION:
        raise GanzooError(
            f"{file} was exported by ganzoo {info.get('ganzoo')} in a newer format "
            f"(version {info['format_version']}); upgrade ganzoo to read it"
        )
    model = info["config"]["model"]
    entry = get_host().architectures.get(model["name"])
    architecture = instantiate(entry, model.get("params", {}), "model")
    generator, _ = architecture.build(ImageSpec(**info["image"]))
    generator.load_state_dict(tensors)
    return generator.to(device).eval()
