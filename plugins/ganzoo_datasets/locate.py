"""Where datasets are looked for and downloaded to, and how failures are worded.

Search order for every downloadable dataset: ``request.root`` (``--data-root``), then each directory
in ``$GANZOO_DATA`` (``os.pathsep``-separated), then any system directory the dataset names, then
the download cache (``$XDG_CACHE_HOME/ganzoo/data``, by default ``~/.cache/ganzoo/data``). Downloads
go to ``request.root`` if given, else to the cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ganzoo.interfaces import DataRequest

DATA_ENV = "GANZOO_DATA"


def cache_dir() -> Path:
    """The directory downloads go to when no ``--data-root`` is given."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganzoo" / "data"


def env_dirs() -> list[Path]:
    """The directories named by ``$GANZOO_DATA``."""
    value = os.environ.get(DATA_ENV, "")
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]


def search_dirs(request: DataRequest, system: Iterable[Path] = ()) -> list[Path]:
    """Base directories to look in, in order, without duplicates (they need not exist)."""
    found: list[Path] = []
    root = [Path(request.root).expanduser()] if request.root is not None else []
    for d in [*root, *env_dirs(), *system, cache_dir()]:
        if d not in found:
            found.append(d)
    return found


def download_dir(request: DataRequest) -> Path:
    """Where a download for ``request`` goes."""
    return Path(request.root).expanduser() if request.root is not None else cache_dir()


def one_line(exc: BaseException, limit: int = 200) -> str:
    """``"URLError: <reason>"`` on one line, shortened, for embedding in a user-facing error."""
    text = re.sub(r"\s+", " ", str(exc)).strip()
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
