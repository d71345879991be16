"""Train the Fashion-MNIST domain classifier whose weights ship in ``ganzoo/weights/``.

    python -m ganzoo.metrics.train_domain_classifier [--epochs 4] [--out PATH]

Uses ganzoo's own ``fashion-mnist`` dataset plugin (offline: the Debian package or --data-root),
seed 0, Adam 1e-3, batch 128; prints the test accuracy and stores it in the file's metadata.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from ..interfaces import DataRequest
from ..plugins import get_host
from .domain import WEIGHTS, FashionClassifier


def load_split(split: str, root: Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 1, 28, 28)`` in [-1, 1] through the dataset plugin, and their labels ``(N,)``."""
    request = DataRequest(root, 28, 1, split, download=False)
    data = get_host().datasets.get("fashion-mnist").factory().load(request)
    pairs = [data[i] for i in range(len(data))]  # (image, label): the dataset is labelled
    return torch.stack([image for image, _ in pairs]), torch.stack([label for _, label in pairs])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    torch.manual_seed(0)
    x_train, y_train = load_split("train", args.data_root)
    x_test, y_test = load_split("test", args.data_root)
    model = FashionClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), 128):
            idx = order[start : start + 128]
            loss = F.cross_entropy(model(x_train[idx])[0], y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat(
                [model(x_test[i : i + 1000])[0].argmax(1) for i in range(0, len(x_test), 1000)]
            )
        accuracy = (pred == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: test accuracy {accuracy:.4f}")
    meta = {
        "test_accuracy": f"{accuracy:.4f}",
        "epochs": str(args.epochs),
        "data": "fashion-mnist train split",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out), metadata=meta
    )
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
