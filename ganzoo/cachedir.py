"""Where ganzoo keeps what it can recompute: ``$GANZOO_CACHE``, by default ``~/.cache/ganzoo``.

Under it, ``fidelity/`` holds torch-fidelity's reference statistics (``ganzoo eval``) and
``decoded/`` the decoded-image caches of datasets read from image files (``folder``, ``celeba``).
Everything there may be deleted at any time; it is rebuilt when needed.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GANZOO_CACHE"


def cache_root() -> Path:
    """``$GANZOO_CACHE``, else ``~/.cache/ganzoo``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ganzoo")
