"""Reading IDX files (the MNIST family's format), gzip-compressed or plain, with numpy."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

from ganzoo.errors import GanzooError

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file into a writable array in native byte order, e.g. ``(N, 28, 28)`` uint8.

    Compression is detected from the content, not the name, so ``.gz`` files that were unpacked in
    place (or the reverse) still load.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise GanzooError(f"cannot read {path}: {exc}") from exc
    return parse_idx(raw, source=str(path))


def parse_idx(buf: bytes | bytearray, source: str = "IDX data") -> np.ndarray:
    """Decode the bytes of an (uncompressed) IDX file; ``source`` names it in errors."""
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in IDX_DTYPES:
        raise GanzooError(f"{source} is not an IDX file (bad magic number)")
    dtype = np.dtype(IDX_DTYPES[buf[2]])
    ndim = buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise GanzooError(f"{source} is truncated (incomplete IDX header)")
    dims = struct.unpack(f">{ndim}I", bytes(buf[4:header]))
    count = math.prod(dims)
    if len(buf) < header + count * dtype.itemsize:
        raise GanzooError(f"{source} is truncated: header promises shape {dims}")
    data = np.frombuffer(buf, dtype=dtype, count=count, offset=header).reshape(dims)
    # one copy: makes the array writable (torch.from_numpy wants that) and native-endian
    return data.astype(dtype.newbyteorder("="), copy=True)
