"""The built-in datasets plugin (plugins/ganzoo_datasets): all offline, tiny files written here."""

from __future__ import annotations

import gzip
import inspect
import pickle
import struct
import urllib.error
from pathlib import Path

import ganzoo_datasets
import numpy as np
import pytest
import torch
from ganzoo_datasets import CIFAR10, MNIST, Fake, FashionMNIST, Folder
from ganzoo_datasets import memory as memory_module
from ganzoo_datasets import mnist as mnist_module
from ganzoo_datasets.idx import read_idx
from ganzoo_datasets.memory import TensorImages
from ganzoo_datasets.transforms import ImageTransform

from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest, Dataset
from ganzoo.labels import image_of

REAL_SYSTEM_DATA_DIR = mnist_module.SYSTEM_DATA_DIR
NAMES = {"fashion-mnist", "mnist", "cifar10", "svhn", "celeba", "folder", "fake"}


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No $GANZOO_DATA, a private download cache, and no system datasets unless a test adds them."""
    monkeypatch.delenv("GANZOO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(mnist_module, "SYSTEM_DATA_DIR", tmp_path / "no-system-datasets")


def request(root: Path | None = None, size: int = 28, channels: int = 1, **kw) -> DataRequest:
    return DataRequest(root=root, image_size=size, channels=channels, **kw)


def assert_images(x: torch.Tensor | tuple, shape: tuple[int, ...]) -> None:
    x = image_of(x)  # a labelled dataset's item is (image, label)
    assert x.dtype == torch.float32
    assert tuple(x.shape) == shape
    assert x.min() >= -1.0 and x.max() <= 1.0


# --- the hook -----------------------------------------------------------------------------------


def test_hook_registers_all_datasets_with_descriptions() -> None:
    calls: dict[str, tuple[type, str]] = {}

    def record(name: str, factory: type, description: str = "") -> None:
        assert name not in calls
        calls[name] = (factory, description)

    ganzoo_datasets.register_datasets(record)
    assert set(calls) == NAMES
    for name, (factory, description) in calls.items():
        assert issubclass(factory, Dataset) and not inspect.isabstract(factory), name
        assert description, name
        assert factory.default_channels in (1, 3) and factory.default_size > 0
        for param in inspect.signature(factory).parameters.values():  # user-settable params
            assert param.kind is param.KEYWORD_ONLY or param.kind is param.POSITIONAL_OR_KEYWORD
            assert param.default is not param.empty, (name, param.name)
            assert param.annotation is not param.empty, (name, param.name)
    assert calls["fashion-mnist"][0].default_channels == 1
    assert (calls["celeba"][0].default_size, calls["folder"][0].default_size) == (64, 64)


# --- fake ---------------------------------------------------------------------------------------


def test_fake_is_deterministic_shaped_and_in_range() -> None:
    ds = Fake(length=7, seed=3).load(request(size=16, channels=3))
    assert len(ds) == 7
    assert_images(ds[0], (3, 16, 16))
    assert torch.equal(ds[4], ds[4])
    assert torch.equal(ds[4], Fake(length=7, seed=3).load(request(size=16, channels=3))[4])
    assert torch.equal(ds[4], Fake(length=99, seed=2).load(request(size=16, channels=3))[5])
    assert not torch.equal(ds[0], ds[1])
    assert_images(Fake().load(request(size=32, channels=1))[9999], (1, 32, 32))
    with pytest.raises(IndexError):
        ds[7]


def test_fake_rejects_bad_params_and_requests() -> None:
    with pytest.raises(UsageError):
        Fake(length=0)
    with pytest.raises(UsageError, match="channels"):
        Fake().load(request(channels=4))


# --- folder -------------------------------------------------------------------------------------


@pytest.fixture
def image_tree(tmp_path: Path) -> Path:
    """Four images in nested dirs: grey and RGB, portrait and landscape, png and jpg."""
    from PIL import Image

    root = tmp_path / "images"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".hidden").mkdir()
    Image.new("L", (30, 20), 200).save(root / "grey.png")
    Image.new("RGB", (24, 40), (255, 0, 0)).save(root / "a" / "red.PNG")
    Image.new("RGBA", (16, 16), (0, 0, 255, 128)).save(root / "a" / "b" / "blue.png")
    Image.new("RGB", (50, 50), (0, 255, 0)).save(root / "a" / "b" / "green.jpg", quality=100)
    Image.new("L", (8, 8), 0).save(root / ".hidden" / "skipped.png")
    (root / "a" / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_folder_resizes_crops_and_converts(image_tree: Path, size: int, channels: int) -> None:
    ds = Folder().load(request(image_tree, size=size, channels=channels))
    assert len(ds) == 4  # hidden dir and the .txt skipped
    for i in range(len(ds)):
        assert_images(ds[i], (channels, size, size))


@pytest.mark.parametrize("cache", [True, False])
def test_folder_channel_conversion_values(image_tree: Path, cache: bool) -> None:
    by_name = {p.name: i for i, p in enumerate(Folder().load(request(image_tree)).paths)}
    rgb = Folder(cache=cache).load(request(image_tree, size=16, channels=3))
    grey = Folder(cache=cache).load(request(image_tree, size=16, channels=1))
    # grey -> RGB repeats the grey value in all three channels
    expected = torch.full((3, 16, 16), 200 / 127.5 - 1)
    torch.testing.assert_close(rgb[by_name["grey.png"]], expected)
    # RGB -> grey uses luminance: pure red is 0.299 * 255 (76.245), whole levels (76) when cached
    luma = round(0.299 * 255) if cache else 0.299 * 255
    red = grey[by_name["red.PNG"]]
    torch.testing.assert_close(red, torch.full((1, 16, 16), luma / 127.5 - 1))
    torch.testing.assert_close(rgb[by_name["red.PNG"]][:, 0, 0], torch.tensor([1.0, -1.0, -1.0]))


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--data-root"):
        Folder().load(request(None))
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(UsageError, match="no images"):
        Folder().load(request(tmp_path / "empty"))
    with pytest.raises(UsageError, match="not a directory"):
        Folder().load(request(tmp_path / "missing"))


# --- transforms and in-memory arrays ------------------------------------------------------------


def test_transform_resizes_shorter_side_then_center_crops() -> None:
    x = torch.zeros(1, 20, 60, dtype=torch.uint8)  # (C, H, W): a white middle third
    x[..., 20:40] = 255
    out = ImageTransform(size=10, channels=1)(x)  # 20x60 -> 10x30 -> middle 10x10
    assert_images(out, (1, 10, 10))
    assert out[..., 2:8].min() == 1.0  # interior of the white band (edges are antialiased)
    tall = ImageTransform(size=8, channels=3)(torch.zeros(1, 30, 10, dtype=torch.uint8))
    assert_images(tall, (3, 8, 8))


def test_tensor_images_fast_path_is_index_and_scale() -> None:
    images = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    ds = TensorImages(images, ImageTransform(size=28, channels=1))
    assert torch.equal(ds[3], images[3].float() / 127.5 - 1)
    rgb = TensorImages(images, ImageTransform(size=28, channels=3))
    assert torch.equal(rgb[3], (images[3].float() / 127.5 - 1).repeat(3, 1, 1))


def test_tensor_images_resize_once_matches_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    images = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    transform = ImageTransform(size=16, channels=1)
    prepared = TensorImages(images, transform)
    assert prepared.images.shape == (5, 1, 16, 16)  # resized and reduced once at load
    monkeypatch.setattr(memory_module, "PREPARE_LIMIT_BYTES", 0)
    per_item = TensorImages(images, transform)
    assert per_item.images.shape == (5, 3, 32, 32)
    for i in range(5):
        assert_images(per_item[i], (1, 16, 16))
        torch.testing.assert_close(prepared[i], per_item[i], atol=1 / 127.5, rtol=0)


# --- IDX ----------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> Path:
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_plain_and_gzip(tmp_path: Path, name: str) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    got = read_idx(write_idx(tmp_path / name, images))
    assert got.dtype == np.uint8 and got.flags.writeable
    np.testing.assert_array_equal(got, images)


def test_read_idx_multibyte_types_and_errors(tmp_path: Path) -> None:
    ints = np.array([1, -2, 70000], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "ints.gz", ints)), ints)
    floats = np.array([[0.5, -1.25]], dtype=np.float32)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "floats", floats)), floats)
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01")
    with pytest.raises(GanzooError, match="not an IDX"):
        read_idx(tmp_path / "bad")
    full = write_idx(tmp_path / "full", np.zeros((4, 4, 4), np.uint8)).read_bytes()
    (tmp_path / "short").write_bytes(full[:-5])
    with pytest.raises(GanzooError, match="truncated"):
        read_idx(tmp_path / "short")


# --- Fashion-MNIST / MNIST resolution -----------------------------------------------------------


def write_split(directory: Path, n: int, split: str = "train", gz: bool = True) -> None:
    """``n`` 28x28 images whose pixels all equal their index (so tests can tell sources apart)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, 28, 28)).copy()
    write_idx(directory / f"{prefix}-images-idx3-ubyte{'.gz' if gz else ''}", images)


def test_fashion_mnist_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, env, system = tmp_path / "root", tmp_path / "env", tmp_path / "system"
    write_split(root, 2, gz=False)
    write_split(env / "fashion-mnist", 3)
    write_split(system / "fashion-mnist", 4)
    monkeypatch.setattr(mnist_module, "SYSTEM_DATA_DIR", system)
    monkeypatch.setenv("GANZOO_DATA", str(env))

    def fail(*args: object) -> None:
        raise AssertionError("nothing should be downloaded")

    monkeypatch.setattr(mnist_module, "download_idx", fail)
    assert len(FashionMNIST().load(request(root))) == 2  # --data-root first
    assert len(FashionMNIST().load(request(tmp_path / "elsewhere"))) == 3  # then $GANZOO_DATA
    monkeypatch.delenv("GANZOO_DATA")
    ds = FashionMNIST().load(request(None))  # then /usr/share/datasets/fashion-mnist
    assert len(ds) == 4
    assert_images(ds[3], (1, 28, 28))
    assert ds[3][0, 0, 0].item() == pytest.approx(3 / 127.5 - 1)


def test_fashion_mnist_torchvision_layout_and_test_split(tmp_path: Path) -> None:
    write_split(tmp_path / "FashionMNIST" / "raw", 5, split="test", gz=False)
    ds = FashionMNIST().load(request(tmp_path, split="test", size=32, channels=3))
    assert len(ds) == 5
    assert_images(ds[0], (3, 32, 32))
    with pytest.raises(UsageError, match="splits"):
        FashionMNIST().load(request(tmp_path, split="valid"))


def test_fashion_mnist_offline_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(source: object, root: Path) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(mnist_module, "download_idx", offline)
    with pytest.raises(GanzooError) as info:
        FashionMNIST().load(request(None))
    message = str(info.value)
    assert "\n" not in message
    for needed in ("--data-root DIR", "$GANZOO_DATA", "apt-get install dataset-fashion-mnist"):
        assert needed in message
    assert "URLError" in message
    with pytest.raises(GanzooError, match="--data-root") as info:
        FashionMNIST().load(request(tmp_path, download=False))
    assert "\n" not in str(info.value)


def test_fashion_mnist_download_goes_to_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets: list[Path] = []

    def fake_download(source: mnist_module.IdxSource, root: Path) -> None:
        targets.append(root)
        write_split(root / source.torchvision_class / "raw", 6)

    monkeypatch.setattr(mnist_module, "download_idx", fake_download)
    assert len(FashionMNIST().load(request(None))) == 6
    assert targets == [tmp_path / "xdg-cache" / "ganzoo" / "data"]
    assert len(FashionMNIST().load(request(None))) == 6  # found in the cache: no second download
    assert len(targets) == 1


def test_mnist_shares_the_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_split(tmp_path / "env" / "mnist", 3)
    write_split(tmp_path / "env" / "fashion-mnist", 4)
    monkeypatch.setenv("GANZOO_DATA", str(tmp_path / "env"))
    assert len(MNIST().load(request(None))) == 3
    assert len(FashionMNIST().load(request(None))) == 4


# --- torchvision-backed: CIFAR-10 ---------------------------------------------------------------


def test_cifar10_through_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.cifar as tv_cifar

    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    for i, name in enumerate(["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4"]):
        data = np.full((2, 3072), 10 * i, dtype=np.uint8)  # rows: R plane, G plane, B plane
        data[:, 1024:2048] = 255  # green
        (batches / name).write_bytes(pickle.dumps({"data": data, "labels": [0, 1]}))
    for name in ["data_batch_5", "test_batch"]:
        data = np.zeros((3, 3072), dtype=np.uint8)
        (batches / name).write_bytes(pickle.dumps({"data": data, "labels": [0, 1, 2]}))
    (batches / "batches.meta").write_bytes(pickle.dumps({"label_names": ["a", "b", "c"]}))
    # the real files' md5 sums cannot match tiny fakes
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *args: True)

    train = CIFAR10().load(request(tmp_path, size=32, channels=3))
    assert len(train) == 11
    assert_images(train[2], (3, 32, 32))
    image, label = train[2]
    torch.testing.assert_close(image[:, 5, 5], torch.tensor([10 / 127.5 - 1, 1.0, 10 / 127.5 - 1]))
    assert int(label) == 0 and train.classes == ["a", "b", "c"]  # labels and names come along
    assert_images(CIFAR10().load(request(tmp_path, size=16, channels=1))[0], (1, 16, 16))
    assert len(CIFAR10().load(request(tmp_path, split="test"))) == 3


def test_cifar10_offline_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets.cifar as tv_cifar

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", offline)
    with pytest.raises(GanzooError) as info:
        CIFAR10().load(request(tmp_path, size=32, channels=3))
    message = str(info.value)
    assert "\n" not in message
    assert "cifar10" in message and "--data-root" in message and "URLError" in message
    with pytest.raises(GanzooError, match="not found.*--data-root"):
        CIFAR10().load(request(tmp_path, size=32, channels=3, download=False))


# --- the real thing -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not (REAL_SYSTEM_DATA_DIR / "fashion-mnist").is_dir(),
    reason="needs apt-get install dataset-fashion-mnist",
)
def test_real_debian_fashion_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist_module, "SYSTEM_DATA_DIR", REAL_SYSTEM_DATA_DIR)
    monkeypatch.setattr(mnist_module, "download_idx", None)  # must not be needed
    train = FashionMNIST().load(request(None, download=False))
    assert len(train) == 60000
    assert train.images.shape == (60000, 1, 28, 28)
    assert train.images.min() == 0 and train.images.max() == 255
    for i in (0, 59999):
        assert_images(train[i], (1, 28, 28))
    assert train.classes[9] == "ankle boot" and torch.bincount(train.labels).tolist() == [6000] * 10
    assert len(FashionMNIST().load(request(None, split="test", download=False))) == 10000
    resized = FashionMNIST().load(request(None, size=32, download=False))
    assert len(resized) == 60000
    assert_images(resized[123], (1, 32, 32))
