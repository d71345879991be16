"""Decode image files once: a memory-mapped uint8 cache for datasets read from JPEG/PNG files.

Decoding a 178x218 JPEG and resizing it costs more than a DCGAN step spends on that image at 64x64,
so ``folder`` and ``celeba`` decode every file once, into one uint8 array ``(N, channels, size,
size)`` on disk (``$GANZOO_CACHE/decoded/``), and later epochs and runs only index and scale it.

The cache is keyed by everything its bytes depend on: the file list, each file's size and mtime,
the image size, channels and crop, and this module's format version. Any change builds a new one
and removes the stale one of the same source and shape; a damaged file (wrong length, checksum
mismatch, unreadable metadata) is rebuilt with a message. Concurrent runs (or DDP ranks) over the
same files build it once: the others wait on a lock file and then read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from ganzoo.cachedir import cache_root
from ganzoo.errors import GanzooError

from .transforms import ImageTransform, center_crop, pil_to_tensor, resize_center_crop, to_channels

#: bump when the decoded bytes for the same files and settings would change
FORMAT = 1
#: images decoded per batch while building (and per checksum chunk)
BUILD_BATCH = 64
#: below this many files the build decodes in this process (worker start-up would dominate)
PARALLEL_FROM = 512


def default_directory() -> Path:
    """``$GANZOO_CACHE/decoded`` (by default ``~/.cache/ganzoo/decoded``)."""
    return cache_root() / "decoded"


@dataclass(frozen=True)
class Decoder:
    """An image file -> ``(channels, size, size)``: PIL decode, an optional center crop (CelebA's
    178), then the shared :class:`ImageTransform` (shorter side resized, center-cropped)."""

    transform: ImageTransform
    crop: int | None = None

    def read(self, path: Path) -> Tensor:  # -> (1 or 3, H, W) values in [0, 255]
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                x = pil_to_tensor(image)
        except (OSError, UnidentifiedImageError) as exc:
            raise GanzooError(f"cannot read image {path}: {exc}") from exc
        return center_crop(x, self.crop) if self.crop else x

    def __call__(self, path: Path) -> Tensor:  # -> float32 (channels, size, size) in [-1, 1]
        return self.transform(self.read(path))

    def uint8(self, path: Path) -> Tensor:  # -> uint8 (channels, size, size), what the cache holds
        x = self.read(path)
        channels = self.transform.channels
        if x.shape[0] > channels:  # RGB -> grey before resizing: a third of the work
            x = to_channels(x, channels)
        x = resize_center_crop(x, self.transform.size).round_().clamp_(0, 255).to(torch.uint8)
        return to_channels(x, channels) if x.shape[0] < channels else x

    def settings(self) -> dict[str, Any]:
        """What the decoded bytes depend on besides the files."""
        return {
            "format": FORMAT,
            "size": self.transform.size,
            "channels": self.transform.channels,
            "crop": self.crop,
        }


class _DecodeFiles(TorchDataset[tuple[Tensor, str]]):
    """Build-time items: ``(uint8 image, "")``, or ``(zeros, error)`` for an unreadable file, so a
    worker's failure comes back as one line instead of a worker traceback."""

    def __init__(self, paths: list[Path], decoder: Decoder) -> None:
        self.paths, self.decoder = paths, decoder

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[Tensor, str]:
        try:
            return self.decoder.uint8(self.paths[index]), ""
        except GanzooError as exc:
            t = self.decoder.transform
            return torch.zeros((t.channels, t.size, t.size), dtype=torch.uint8), str(exc)


def say(message: str) -> None:
    print(f"data: {message}", file=sys.stderr, flush=True)


def megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


class DecodedCache:
    """The decoded-image cache of ``paths`` (read from ``source``) under ``directory``."""

    def __init__(
        self, paths: list[Path], decoder: Decoder, source: str, directory: Path | None = None
    ) -> None:
        self.paths, self.decoder = paths, decoder
        source = os.path.abspath(source)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source).name) or "root"
        digest = hashlib.sha256(source.encode()).hexdigest()[:10]
        self.directory = (directory or default_directory()) / f"{name}-{digest}"
        t, crop = decoder.transform, decoder.crop
        self.stem = f"{t.size}px-{t.channels}ch" + (f"-crop{crop}" if crop else "")
        self.shape = (len(paths), t.channels, t.size, t.size)
        self.key = self.compute_key()
        base = self.directory / f"{self.stem}-{self.key[:16]}"
        self.data_file, self.meta_file = base.with_suffix(".u8"), base.with_suffix(".json")

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape))

    def compute_key(self) -> str:
        """A hash of the settings and of every file's path, size and mtime (one stat each)."""
        h = hashlib.sha256(json.dumps(self.decoder.settings(), sort_keys=True).encode())
        for path in self.paths:
            try:
                st = path.stat()
            except OSError as exc:  # removed or unreadable since the folder was listed
                raise GanzooError(f"cannot read image {path}: {exc}") from exc
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    def load(self) -> Tensor:
        """The decoded images, uint8 ``(N, channels, size, size)``, memory-mapped from the cache
        file; built first (under a lock) when absent, stale or damaged."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.lock():
            problem = self.problem()
            if problem is not None:
                if problem != "absent":
                    say(
                        f"the decoded-image cache {self.data_file} is damaged ({problem}); rebuilding it"
                    )
                self.build()
        return open_decoded(self.data_file, self.shape)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``.STEM.lock`` exclusively; say so when another process is building."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: files are still replaced atomically
            yield
            return
        with open(self.directory / f".{self.stem}.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                say(f"waiting for another process building {self.directory}/{self.stem}-*")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def problem(self) -> str | None:
        """Why the cache cannot be used: ``"absent"``, what is damaged, or None when it is sound."""
        if not self.meta_file.exists() or not self.data_file.exists():
            return "absent"
        try:
            meta = json.loads(self.meta_file.read_text())
            expected_crc, key, shape = meta["crc32"], meta["key"], tuple(meta["shape"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return f"unreadable metadata: {exc}"
        if key != self.key or shape != self.shape:
            return "metadata of other files"
        size = self.data_file.stat().st_size
        if size != self.nbytes:
            return f"{size} bytes instead of {self.nbytes}"
        if checksum(self.data_file, self.nbytes) != expected_crc:
            return "checksum mismatch"
        return None

    def build(self) -> None:
        """Decode every file into ``STEM-KEY.u8`` (written under a temporary name, then renamed),
        write its metadata last, and remove stale caches of the same source and shape."""
        free = shutil.disk_usage(self.directory).free
        if free < self.nbytes:
            raise GanzooError(
                f"the decoded-image cache needs {megabytes(self.nbytes)} in {self.directory}, "
                f"only {megabytes(free)} free; set data.params.cache_dir or data.params.cache=false"
            )
        say(
            f"decoding {len(self.paths)} images once into {self.data_file} "
            f"({megabytes(self.nbytes)}); later epochs and runs read it"
        )
        start = time.perf_counter()
        temporary = self.data_file.with_name(f"{self.data_file.name}.{os.getpid()}.tmp")
        try:
            array = np.memmap(temporary, np.uint8, "w+", shape=self.shape)
            self.decode_into(array)
            array.flush()
            del array
            crc = checksum(temporary, self.nbytes)
            os.replace(temporary, self.data_file)
        finally:
            temporary.unlink(missing_ok=True)
        meta = {"key": self.key, "shape": list(self.shape), "crc32": crc, **self.decoder.settings()}
        meta_temporary = self.meta_file.with_name(f"{self.meta_file.name}.{os.getpid()}.tmp")
        meta_temporary.write_text(json.dumps(meta, indent=1))
        os.replace(meta_temporary, self.meta_file)
        self.remove_stale()
        say(f"decoded {len(self.paths)} images in {time.perf_counter() - start:.1f} s")

    def decode_into(self, array: np.ndarray) -> None:
        workers = min(os.cpu_count() or 1, 8) if len(self.paths) >= PARALLEL_FROM else 0
        loader = DataLoader(
            _DecodeFiles(self.paths, self.decoder), batch_size=BUILD_BATCH, num_workers=workers
        )
        done = 0
        for images, errors in loader:  # images (B, channels, size, size) uint8
            for error in errors:
                if error:
                    raise GanzooError(error)
            array[done : done + len(images)] = images.numpy()
            done += len(images)

    def remove_stale(self) -> None:
        for path in self.directory.glob(f"{self.stem}-*"):
            if path not in (self.data_file, self.meta_file) and path.suffix in (".u8", ".json"):
                path.unlink(missing_ok=True)


def open_decoded(path: Path, shape: tuple[int, ...]) -> Tensor:
    """A cache file as a uint8 tensor of ``shape``, memory-mapped copy-on-write: writable, as
    torch wants, while its pages stay shared with the file (and between DataLoader workers)."""
    return torch.from_numpy(np.memmap(path, np.uint8, "c", shape=shape))


def checksum(path: Path, nbytes: int, chunk: int = 64 * 2**20) -> int:
    """CRC-32 of a file's first ``nbytes`` bytes, read in chunks (fast: ~1 GB/s)."""
    crc = 0
    with open(path, "rb") as handle:
        remaining = nbytes
        while remaining > 0:
            block = handle.read(min(chunk, remaining))
            if not block:
                break
            crc = zlib.crc32(block, crc)
            remaining -= len(block)
    return crc
