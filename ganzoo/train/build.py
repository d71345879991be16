"""From a resolved config to the objects a run needs, through the registry only."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from ..config import RunConfig
from ..errors import GanzooError, UsageError
from ..interfaces import (
    Architecture,
    Augmentation,
    DataRequest,
    Discriminator,
    Generator,
    ImageSpec,
    Loss,
    Regularizer,
)
from ..labels import LABELLED_DATA, class_names
from ..params import instantiate
from ..plugins import PluginHost, get_host
from ..registry import Entry
from .clusters import ClusterLabelled
from .step import declared


@dataclass
class Components:
    spec: ImageSpec
    generator: Generator
    discriminator: Discriminator
    loss: Loss
    entries: dict[str, Entry]  # "model", "loss", "data", "reg.NAME", "aug" -> entry (provenance)
    regularizers: dict[str, Regularizer] = field(default_factory=dict)
    augmentation: Augmentation | None = None


def image_spec(config: RunConfig, host: PluginHost | None = None) -> tuple[ImageSpec, object]:
    """The spec training uses: flags win, else the dataset's defaults. Returns (spec, dataset)."""
    host = host or get_host()
    entry = host.datasets.get(config.data.name)
    dataset = instantiate(entry, config.data.params, "data")
    spec = ImageSpec(
        channels=config.data.channels or dataset.default_channels,
        size=config.data.image_size or dataset.default_size,
    )
    return spec, dataset


def build_models(config: RunConfig, spec: ImageSpec, host: PluginHost | None = None) -> Components:
    """Instantiate architecture and loss; check the generator really makes ``spec`` images."""
    host = host or get_host()
    model_entry = host.architectures.get(config.model.name)
    loss_entry = host.losses.get(config.loss.name)
    arch: Architecture = instantiate(model_entry, config.model.params, "model")
    generator, discriminator = arch.build(spec)
    if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
        raise GanzooError(
            f"architecture '{model_entry.qualified_name}' ({model_entry.distribution}): build() must "
            "return (ganzoo.Generator, ganzoo.Discriminator)"
        )
    check_conditioning(
        generator, discriminator, spec, model_entry, config.data.name, config.data.clusters
    )
    has_head = check_output_shape(generator, discriminator, spec, model_entry)
    loss: Loss = instantiate(loss_entry, config.loss.params, "loss")
    data_entry = host.datasets.get(config.data.name)
    entries: dict[str, Entry] = {"model": model_entry, "loss": loss_entry, "data": data_entry}
    regularizers: dict[str, Regularizer] = {}
    for name, params in config.reg.items():
        entry = host.regularizers.get(name)
        regularizers[name] = instantiate(entry, params, "reg", table=f"reg.{name}")
        entries[f"reg.{name}"] = entry
        check_interval(regularizers[name], entry)
    augmentation = None
    if config.aug.name:
        entries["aug"] = host.augmentations.get(config.aug.name)
        augmentation = instantiate(entries["aug"], config.aug.params, "aug")
    if has_head and not uses_labels(loss, regularizers):
        raise UsageError(
            f"architecture '{model_entry.qualified_name}' has an auxiliary classifier head, but no "
            "loss or regularizer trains it; add --reg acgan (or use --preset acgan)"
        )
    return Components(spec, generator, discriminator, loss, entries, regularizers, augmentation)


def uses_labels(loss: Loss, regularizers: dict[str, Regularizer]) -> bool:
    """Whether the loss or a regularizer asks for the labels (what a classifier head needs)."""
    methods = [loss.discriminator_loss, *(r.penalty for r in regularizers.values())]
    return any(declared(method, labels=None) for method in methods)


def check_interval(reg: Regularizer, entry: Entry) -> None:
    if reg.target not in ("D", "G", "both"):
        raise GanzooError(
            f"regularizer '{entry.qualified_name}' (plugin {entry.plugin}): target must be 'D', "
            f"'G' or 'both', got {reg.target!r}"
        )
    if not isinstance(reg.interval, int) or reg.interval < 1:
        raise UsageError(f"reg.{entry.name}.interval must be an integer >= 1, got {reg.interval!r}")


def cluster_labelled(data: torch.utils.data.Dataset, k: int) -> ClusterLabelled:
    n = len(data)  # type: ignore[arg-type]
    if not 2 <= k <= n:
        raise UsageError(f"data.clusters must be 0 (off) or from 2 to the {n} images, got {k}")
    return ClusterLabelled(data, k)


def check_conditioning(
    generator: Generator,
    discriminator: Discriminator,
    spec: ImageSpec,
    entry: Entry,
    data: str,
    clusters: int = 0,
) -> None:
    """A conditional network needs labelled data, and must take exactly the data's classes;
    cluster labels need a conditional network."""
    if clusters and generator.num_classes <= 0:
        raise UsageError(
            f"data.clusters={clusters} labels the images for a class-conditional model, but "
            f"architecture '{entry.qualified_name}' built an unconditional one; add --set "
            "model.params.conditional=true (or drop data.clusters)"
        )
    for role, net in (("generator", generator), ("discriminator", discriminator)):
        if net.num_classes <= 0:
            continue
        if spec.num_classes == 0:
            raise UsageError(
                f"architecture '{entry.qualified_name}' is class-conditional but dataset '{data}' "
                f"has no labels; use a labelled dataset ({LABELLED_DATA})"
            )
        if net.num_classes != spec.num_classes:
            raise GanzooError(
                f"architecture '{entry.qualified_name}' (plugin {entry.plugin}) built a {role} for "
                f"{net.num_classes} classes, but the data has {spec.num_classes}; its build() must "
                "use ImageSpec.num_classes"
            )


def check_output_shape(
    generator: Generator, discriminator: Discriminator, spec: ImageSpec, entry: Entry
) -> bool:
    """G must make ``(B, C, size, size)`` images; D must score them ``(B,)``, features ``(B, F)``.
    Returns whether D has an auxiliary classifier head (``class_logits`` gives logits)."""
    expected = (2, spec.channels, spec.size, spec.size)
    modes = generator.training, discriminator.training
    try:
        with torch.no_grad():
            z, y = generator.sample_latent(2), generator.sample_labels(2)
            images = generator.eval()(z) if y is None else generator.eval()(z, y)
            shape = tuple(images.shape)
            if shape != expected:
                raise GanzooError(
                    f"architecture '{entry.qualified_name}' (plugin {entry.plugin}) generated images "
                    f"of shape {shape[1:]} for a requested {expected[1:]}; its build() must honour "
                    "the ImageSpec"
                )
            if discriminator.num_classes > 0:
                y = torch.arange(2) % discriminator.num_classes
                logits, features = discriminator.eval().forward_features(images, y)
            else:
                logits, features = discriminator.eval().forward_features(images)
    finally:
        generator.train(modes[0])
        discriminator.train(modes[1])
    if tuple(logits.shape) != (2,) or features.ndim != 2 or features.shape[0] != 2:
        raise GanzooError(
            f"architecture '{entry.qualified_name}' (plugin {entry.plugin}): the discriminator's "
            f"forward_features returned logits {tuple(logits.shape)} and features "
            f"{tuple(features.shape)} for 2 images; it must return logits (B,) and features (B, F)"
        )
    with torch.no_grad():
        return discriminator.class_logits(features) is not None


def load_dataset(config: RunConfig, spec: ImageSpec, dataset: object) -> torch.utils.data.Dataset:
    request = DataRequest(
        root=Path(config.data.root).expanduser() if config.data.root else None,
        image_size=spec.size,
        channels=spec.channels,
        split="train",
        download=config.data.download,
    )
    return dataset.load(request)  # type: ignore[attr-defined]


def load_data(
    config: RunConfig, host: PluginHost | None = None
) -> tuple[ImageSpec, torch.utils.data.Dataset, list[str]]:
    """The training data, the spec models are built for (its classes counted from the data) and
    the class names (``[]``: unlabelled)."""
    spec, dataset = image_spec(config, host)
    data = load_dataset(config, spec, dataset)
    if config.data.clusters:  # pseudo-labels in place of the data's own (or of none)
        data = cluster_labelled(data, config.data.clusters)
    classes = class_names(data)
    return replace(spec, num_classes=len(classes)), data, classes
