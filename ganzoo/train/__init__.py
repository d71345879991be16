"""The training harness: one trainer for every architecture/loss/dataset the registry holds.

``ganzoo.train`` is this package and, called, :func:`ganzoo.api.train`: ``ganzoo.train(config)``
trains and returns the run directory (importing a submodule such as ``ganzoo.train.trainer``
would otherwise replace a plain function of that name on the ``ganzoo`` package).
"""

import sys
import types
from pathlib import Path
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Path:
        from ..api import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
