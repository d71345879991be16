"""Shared fixtures: throwaway plugin distributions and a fresh plugin host per test."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ganzoo.plugins import reset_host


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches the tests build (decoded images, reference statistics) stay out of ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GANZOO_CACHE", str(tmp_path_factory.mktemp("ganzoo-cache")))
        yield


@pytest.fixture
def fresh_host() -> Iterator[None]:
    """Reload plugins from entry points before and after the test."""
    reset_host()
    yield
    reset_host()


@pytest.fixture
def plugin_dist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_host: None
) -> Callable[..., Path]:
    """Write a real distribution (module + ``*.dist-info`` with entry points) onto ``sys.path``."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def write(name: str, source: str, *, entry_point: str | None = None, version: str = "1.2.3"):
        module = f"{name.replace('-', '_')}_plugin"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[ganzoo]\n{entry_point or name} = {module}\n")
        sys.modules.pop(module, None)  # an earlier test may have imported another version
        importlib.invalidate_caches()  # importlib.metadata caches directory listings
        reset_host()
        return site

    return write
