"""A fast domain feature extractor for Fashion-MNIST-like images, registered with torch-fidelity.

InceptionV3 runs at about 7 images/s on a 2-core CPU; this small classifier, trained on the
Fashion-MNIST train split by :mod:`ganzoo.metrics.train_domain_classifier` and shipped as
safetensors, embeds thousands of images per second. Its 128-d penultimate layer gives a Frechet
distance in the data's own feature space (common practice in MNIST GAN papers, e.g. the
"FD with a LeNet" of Binkowski et al. 2018), KID and precision/recall; its 10-way logits give a
valid Inception-Score-like number (with this classifier, not Inception: say so in tables).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import Tensor, nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

NAME = "ganzoo-fmnist"
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "fmnist_classifier.safetensors"
FEATURES = ("128", "logits_unbiased")


class FashionClassifier(nn.Module):
    """``(B, 1, 28, 28)`` in [-1, 1] -> ``(logits (B, 10), features (B, 128))``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),  # (B, 32, 28, 28)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1),  # (B, 64, 14, 14)
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # (B, 64, 7, 7)
        )
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(inplace=True))
        self.head = nn.Linear(128, 10)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.embed(self.conv(x))
        return self.head(features), features


def to_classifier_input(x: Tensor) -> Tensor:
    """uint8 ``(B, 3 or 1, H, W)`` -> float ``(B, 1, 28, 28)`` in [-1, 1] (grey, resized)."""
    x = x.float()
    if x.shape[1] == 3:  # our grey images arrive as 3 identical channels; RGB becomes luminance
        x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).round()
    if x.shape[-1] != 28 or x.shape[-2] != 28:
        x = F.interpolate(x, size=(28, 28), mode="bilinear", antialias=True, align_corners=False)
    return x / 127.5 - 1.0


class FashionFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity adapter: uint8 ``(B, 3, H, W)`` -> features ``"128"`` and/or logits."""

    def __init__(self, name: str, features_list: list[str], **kwargs: object) -> None:
        super().__init__(name, features_list)
        self.model = FashionClassifier()
        self.model.load_state_dict(load_file(str(WEIGHTS)))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return FEATURES

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return "logits_unbiased" if metric == "isc" else "128"

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        return torch.zeros(1, 3, 28, 28, dtype=torch.uint8)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        logits, features = self.model(to_classifier_input(x))
        by_name = {"128": features, "logits_unbiased": logits}
        return tuple(by_name[name] for name in self.features_list)
