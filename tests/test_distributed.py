"""DDP on CPU with gloo and 2 processes: runs, equivalence with one big batch, resume, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.multiprocessing as mp

from ganzoo.errors import UsageError
from ganzoo.train import checkpoint as ckpt
from ganzoo.train.launch import check_nproc, free_port

from . import ddp_helpers
from .test_training import TINY_FLAGS

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")


def ganzoo_process(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, "--device", "cpu", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_two_workers_with_batch_b_step_like_one_with_2b(tmp_path):
    ctx = mp.get_context("spawn")
    port = free_port()
    workers = [
        ctx.Process(target=ddp_helpers.one_step_worker, args=(r, 2, port, str(tmp_path)))
        for r in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    single = ctx.Process(target=ddp_helpers.one_step_worker, args=(0, 1, 0, str(tmp_path)))
    single.start()
    single.join(120)
    assert single.exitcode == 0
    two, one = (torch.load(tmp_path / f"weights{n}.pt") for n in (2, 1))
    for net in ("g", "d"):
        for name, value in one[net].items():
            torch.testing.assert_close(
                two[net][name], value, atol=1e-6, rtol=1e-5, msg=f"{net}.{name}"
            )


def test_a_ddp_run_writes_once_and_resumes_exactly(tmp_path):
    common = [
        "--nproc-per-node",
        "2",
        "--set",
        "log.checkpoint_every=4",
        "--set",
        "data.params.length=96",
    ]
    straight = ganzoo_process(*common, "--steps", "8", "-o", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert "launching 2 DDP workers" in straight.stderr
    metrics = [
        json.loads(line)
        for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [m["step"] for m in metrics] == [2, 4, 6, 8]  # rank 0 alone writes
    assert metrics[-1]["images_seen"] == 8 * 8 * 2  # both workers' images
    assert not list((tmp_path / "straight" / "checkpoints").glob("*.tmp"))

    first = ganzoo_process(*common, "--steps", "4", "-o", str(tmp_path / "split"))
    assert first.returncode == 0, first.stderr[-2000:]
    resumed = subprocess.run(
        [sys.executable, "-m", "ganzoo", "run", "--resume", str(tmp_path / "split"), "--steps", "8", "--nproc-per-node", "2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, _ = ckpt.read_checkpoint(tmp_path / "straight" / "checkpoints" / "last.safetensors")
    b, meta = ckpt.read_checkpoint(tmp_path / "split" / "checkpoints" / "last.safetensors")
    assert meta["world_size"] == 2 and meta["step"] == 8
    for key in [k for k in a if k.startswith(("g.", "d."))]:
        assert torch.equal(a[key], b[key]), key


def test_a_crashing_worker_stops_the_others_with_one_message(tmp_path, plugin_dist):
    site = plugin_dist(
        "crasher",
        """
        import torch.distributed as dist
        from ganzoo import hookimpl
        from ganzoo_losses import LSGANLoss

        class CrashOnRankOne(LSGANLoss):
            '''Raises in rank 1 on its fifth D step.'''
            calls = 0

            def d_loss_from_logits(self, real, fake):
                CrashOnRankOne.calls += 1
                if dist.get_rank() == 1 and CrashOnRankOne.calls == 5:
                    raise RuntimeError("worker exploded")
                return super().d_loss_from_logits(real, fake)

        @hookimpl
        def register_losses(register):
            register("crash", CrashOnRankOne)
        """,
    )
    env = {"PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = ganzoo_process(
        "--loss", "crash", "--nproc-per-node", "2", "--steps", "50", "--set", "log.checkpoint_every=2",
        "-o", str(tmp_path / "run"), env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-2000:]
    last_line = result.stderr.strip().splitlines()[-1]
    assert "worker rank 1 failed" in last_line and "worker exploded" in last_line
    assert "the last good checkpoint is" in last_line
    _, meta = ckpt.read_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert meta["step"] == 4


def test_a_port_in_use_is_a_usage_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = ganzoo_process(
            "--nproc-per-node", "2", "--master-port", str(port), "-o", str(tmp_path / "r")
        )
    assert result.returncode == 2
    assert f"port {port} is in use" in result.stderr


def test_more_workers_than_gpus_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UsageError, match="--nproc-per-node 4 but only 1 GPU"):
        check_nproc(4, "auto")
    check_nproc(4, "cpu")  # gloo workers on the CPU are fine


def test_the_root_cause_is_not_a_peers_communication_fallout():
    from types import SimpleNamespace

    from ganzoo.train.launch import root_cause

    fallout = SimpleNamespace(
        message={
            "message": "RuntimeError: [../gloo/transport/tcp/pair.cc:561] Connection closed by peer"
        },
        timestamp=100,
        exitcode=1,
    )
    cause = SimpleNamespace(
        message={"message": "Traceback...\nRuntimeError: worker exploded"},
        timestamp=100,
        exitcode=1,
    )
    assert root_cause({0: fallout, 1: cause}) == (1, "RuntimeError: worker exploded", 1)
    assert root_cause({0: fallout}) == (0, fallout.message["message"], 1)  # nothing better known


def test_torchrun_launches_ganzoo_run_too(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(free_port()),
         "-m", "ganzoo", "run", "dcgan", "--loss", "lsgan", *TINY_FLAGS, "--device", "cpu", "--steps", "4"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[:4000] + "\n...\n" + result.stderr[-2000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # both ranks wrote into rank 0's run directory
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["images_seen"] == 4 * 8 * 2
