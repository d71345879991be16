"""The decoded-image cache of file datasets: built once, read memory-mapped, rebuilt when a file,
the size or the channels change, rebuilt with a message when damaged, built once by racing runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from ganzoo_datasets import filecache
from ganzoo_datasets.folder import Folder
from PIL import Image

from ganzoo.errors import GanzooError
from ganzoo.interfaces import DataRequest


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Six 20x30 images of distinct colours, and a private cache root."""
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(6):
        Image.new("RGB", (20, 30), (40 * i, 255 - 40 * i, 7 * i)).save(root / f"{i}.png")
    return root


def load(root: Path, size: int = 8, channels: int = 3, **params: object):
    return Folder(**params).load(DataRequest(root, size, channels))  # type: ignore[arg-type]


def cache_files(tmp_path: Path, suffix: str = ".u8") -> list[Path]:
    return sorted((tmp_path / "cache" / "decoded").glob(f"*/*{suffix}"))


def test_the_first_load_decodes_into_the_cache_and_later_loads_read_it(tree, tmp_path, capsys):
    first = load(tree)
    err = capsys.readouterr().err
    assert f"decoding 6 images once into {cache_files(tmp_path)[0]} (0.0 MB)" in err
    again = load(tree)
    assert "decoding" not in capsys.readouterr().err
    assert again.notes == [
        f"decoded-image cache: {cache_files(tmp_path)[0]} (0.0 MB; data.params.cache=false "
        "to decode on every access)"
    ]
    uncached = load(tree, cache=False)
    assert uncached.decoded is None and uncached.notes == []
    for i in range(6):
        assert torch.equal(first[i], again[i])
        # the cache holds whole levels: within half a level of decoding on every access
        torch.testing.assert_close(first[i], uncached[i], atol=0.5 / 127.5, rtol=0)
        assert first[i].dtype == torch.float32 and first[i].shape == (3, 8, 8)


def test_a_changed_file_rebuilds_and_the_stale_cache_is_removed(tree, tmp_path, capsys):
    before = load(tree)[3]
    Image.new("RGB", (20, 30), (255, 255, 255)).save(tree / "3.png")
    os.utime(tree / "3.png", ns=(1, 1))  # a new mtime even on coarse-clock file systems
    capsys.readouterr()
    after = load(tree)
    assert "decoding 6 images" in capsys.readouterr().err
    assert torch.equal(after[3], torch.ones(3, 8, 8)) and not torch.equal(before, after[3])
    assert len(cache_files(tmp_path)) == 1 and len(cache_files(tmp_path, ".json")) == 1


def test_an_added_file_or_another_size_is_another_cache(tree, tmp_path, capsys):
    load(tree)
    Image.new("L", (9, 9), 3).save(tree / "6.png")
    assert len(load(tree)) == 7  # the file list is part of the key
    load(tree, size=16)
    load(tree, channels=1)
    names = sorted(p.name.split("-")[0] + "-" + p.name.split("-")[1] for p in cache_files(tmp_path))
    assert names == ["16px-3ch", "8px-1ch", "8px-3ch"]  # sizes coexist; the stale 6-file one went


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data, meta: data.write_bytes(data.read_bytes()[:-5]), "1147 bytes instead of 1152"),
        (lambda data, meta: data.write_bytes(b"\xff" + data.read_bytes()[1:]), "checksum mismatch"),
        (lambda data, meta: meta.write_text("{not json"), "unreadable metadata"),
    ],
    ids=["truncated", "flipped byte", "garbled metadata"],
)
def test_a_damaged_cache_is_rebuilt_with_a_message(tree, tmp_path, capsys, damage, message):
    good = load(tree)[0]
    damage(cache_files(tmp_path)[0], cache_files(tmp_path, ".json")[0])
    capsys.readouterr()
    again = load(tree)
    err = capsys.readouterr().err
    assert f"is damaged ({message}" in err and "rebuilding it" in err and "decoding 6" in err
    assert torch.equal(again[0], good)


def test_an_unreadable_image_is_one_line_and_leaves_no_cache(tree, tmp_path, monkeypatch):
    (tree / "4.png").write_bytes(b"not a png")
    monkeypatch.setattr(filecache, "PARALLEL_FROM", 2)  # decode in DataLoader workers
    with pytest.raises(GanzooError, match=r"cannot read image .*4\.png") as caught:
        load(tree)
    assert "\n" not in str(caught.value)
    assert cache_files(tmp_path) == [] and not list((tmp_path / "cache").rglob("*.tmp"))


def test_decoding_in_workers_gives_the_same_bytes(tree, monkeypatch):
    serial = load(tree, cache_dir=str(tree.parent / "serial")).decoded
    monkeypatch.setattr(filecache, "PARALLEL_FROM", 2)
    parallel = load(tree, cache_dir=str(tree.parent / "parallel")).decoded
    assert torch.equal(serial, parallel)


RACER = """
import sys, time
from pathlib import Path
from ganzoo_datasets import filecache
from ganzoo_datasets.folder import Folder
from ganzoo.interfaces import DataRequest

root, me, other = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
slow = filecache.Decoder.uint8
def uint8(self, path):  # a build that takes long enough to be raced
    time.sleep(0.2)
    return slow(self, path)
filecache.Decoder.uint8 = uint8
me.touch()
while not other.exists():  # start together
    time.sleep(0.01)
images = Folder().load(DataRequest(root, 8, 3))
print(float(images.decoded.double().sum()))
"""


def test_concurrent_runs_build_the_cache_once(tree, tmp_path):
    script = tmp_path / "racer.py"
    script.write_text(textwrap.dedent(RACER))
    a, b = tmp_path / "a.ready", tmp_path / "b.ready"
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), str(tree), str(me), str(other)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )  # fmt: skip
        for me, other in [(a, b), (b, a)]
    ]
    results = [racer.communicate(timeout=300) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), results
    errs = "".join(err for _, err in results)
    assert errs.count("decoding 6 images") == 1 and errs.count("waiting for another process") == 1
    assert results[0][0] == results[1][0]  # the same pixels in both
    assert len(cache_files(tmp_path)) == 1


def test_an_unwritable_cache_folder_decodes_on_access_with_a_message(tree, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    images = load(tree, cache_dir=str(blocker))
    err = capsys.readouterr().err
    assert "cannot write the decoded-image cache in" in err and "data.params.cache_dir" in err
    assert err.count("\n") == 1 and images.decoded is None and images[0].shape == (3, 8, 8)


def test_an_image_removed_after_listing_is_named_not_blamed_on_the_cache(tree, capsys):
    images = load(tree, cache=False)
    images.paths[2].unlink()
    with pytest.raises(GanzooError, match=r"cannot read image .*2\.png"):
        images.use_cache()
    assert "cannot write" not in capsys.readouterr().err


def test_a_run_on_a_folder_names_its_cache_and_resumes_on_it(tree, tmp_path, capsys):
    from .test_cli import ganzoo
    from .test_training import TINY

    tiny = [item for item in TINY if not item.startswith("data.params")]
    args = ["run", "dcgan", *(a for item in tiny for a in ("--set", item))]
    args += ["--dataset", "folder", "--data-root", str(tree), "--batch-size", "2"]
    code, _, err = ganzoo(capsys, *args, "--steps", "2", "-o", str(tmp_path / "run"))
    assert code == 0, err
    assert "decoding 6 images once into" in err and "data: decoded-image cache: " in err
    code, _, err = ganzoo(capsys, *args, "--steps", "4", "--resume", str(tmp_path / "run"))
    assert code == 0, err
    assert "decoding" not in err and "data: decoded-image cache: " in err


def test_pickling_for_spawned_workers_sends_the_file_name_not_the_pixels(tree):
    import pickle

    images = load(tree, size=32)
    blob = pickle.dumps(images)
    assert len(blob) < images.decoded.numel() / 4  # the 18,432 bytes of pixels are not in it
    again = pickle.loads(blob)
    assert torch.equal(again.decoded, images.decoded) and torch.equal(again[5], images[5])
