"""Config resolution: defaults < config file < --set < explicit flags, every key checked."""

from __future__ import annotations

import pytest

from ganzoo.cli.run_cmd import build_config
from ganzoo.config import RunConfig, parse_assignments, resolve, resume_conflicts
from ganzoo.errors import UsageError

from .test_cli import ganzoo


def test_precedence_defaults_file_set_flags(tmp_path):
    config_file = tmp_path / "run.toml"
    config_file.write_text(
        "[train]\nlr = 0.001\nbatch_size = 32\nseed = 3\n[loss]\nname = 'hinge'\n"
        "[loss.params]\nfoo = 1\n"
    )
    config = build_config(
        config_file,
        ["train.batch_size=16", "train.seed=4", "loss.params.foo=2"],
        {"seed": 5},
        resume=None,
    )
    assert config.optim.lr == 0.001  # file over default (train.lr: the key before [optim])
    assert config.train.batch_size == 16  # --set over file
    assert config.train.seed == 5  # flag over --set
    assert config.loss.name == "hinge" and config.loss.params == {"foo": 2}
    assert config.train.d_steps == RunConfig().train.d_steps  # untouched default


def test_set_values_are_parsed_as_toml_literals():
    tree = parse_assignments(["a.b=1", "a.c=0.5", "a.d=true", "a.e=[1, 2]", "a.f=hello"])
    assert tree == {"a": {"b": 1, "c": 0.5, "d": True, "e": [1, 2], "f": "hello"}}


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("optim.lrr=1", "unknown config key 'optim.lrr'; did you mean 'optim.lr'"),
        ("trian.lr=1", "unknown config key 'trian'; did you mean 'train'"),
        ("train.steps=many", "config key train.steps must be int or none, got 'many'"),
        ("train.amp=1", "config key train.amp must be bool"),
        ("nokeyvalue", "--set expects KEY=VALUE"),
    ],
)
def test_bad_keys_and_values_are_one_line_errors(assignment, message):
    with pytest.raises(UsageError) as info:
        resolve(parse_assignments([assignment]))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_dry_run_prints_the_resolved_config(capsys, fresh_host):
    code, out, _ = ganzoo(
        capsys,
        "run",
        "dcgan",
        "--loss",
        "lsgan",
        "--set",
        "loss.params.a=-1",
        "--lr",
        "0.01",
        "--dry-run",
    )
    assert code == 0
    assert '[loss]\nname = "lsgan"' in out and "a = -1" in out and "lr = 0.01" in out


def test_unknown_loss_on_the_command_line(capsys, tmp_path, fresh_host):
    code, _, err = ganzoo(capsys, "run", "dcgan", "--loss", "lsgam", "--out", str(tmp_path / "r"))
    assert code == 2 and "unknown loss 'lsgam'; did you mean 'lsgan'?" in err


def test_unknown_plugin_parameter_names_the_accepted_ones(capsys, tmp_path, fresh_host):
    code, _, err = ganzoo(
        capsys,
        "run",
        "dcgan",
        "--loss",
        "lsgan",
        "--dataset",
        "fake",
        "--set",
        "loss.params.cc=1",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 2 and "unknown parameter of lsgan (loss.params) 'cc'; did you mean 'c'?" in err


def test_resume_conflicts_name_the_difference():
    saved = resolve(parse_assignments(["loss.name=lsgan", "train.steps=10"]))
    longer = resolve(parse_assignments(["loss.name=lsgan", "train.steps=20", "log.every=5"]))
    assert resume_conflicts(saved, longer) == []
    other = resolve(parse_assignments(["loss.name=bce", "model.params.ngf=8"]))
    assert resume_conflicts(saved, other) == [
        "loss.name (run: 'lsgan', now: 'bce')",
        "model.params.ngf (run: None, now: 8)",
    ]
