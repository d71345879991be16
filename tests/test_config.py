"""Config resolution: defaults < config file < --set < explicit flags, every key checked."""

from __future__ import annotations

import pytest

from ganzoo.cli.run_cmd import build_config
from ganzoo.config import (
    RANGES,
    RunConfig,
    flatten,
    parse_assignments,
    resolve,
    resume_conflicts,
    tomllib,
)
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


OUT_OF_RANGE_FLAGS = [
    ("--batch-size", "0", "train.batch_size must be >= 1, got 0"),
    ("--batch-size", "-4", "train.batch_size must be >= 1, got -4"),
    ("--d-steps", "0", "train.d_steps must be >= 1, got 0"),
    ("--lr", "-1", "optim.lr must be > 0, got -1.0"),
    ("--steps", "-1", "train.steps must be >= 1, got -1"),
    ("--steps", "0", "train.steps must be >= 1, got 0"),
    ("--epochs", "-1", "train.epochs must be > 0, got -1.0"),
    ("--workers", "-2", "data.workers must be >= 0, got -2"),
    ("--image-size", "0", "data.image_size must be >= 1, got 0"),
    ("--nproc-per-node", "0", "--nproc-per-node must be >= 1, got 0"),
    ("--master-port", "70000", "--master-port must be in [1, 65535], got 70000"),
]


@pytest.mark.parametrize(("flag", "value", "message"), OUT_OF_RANGE_FLAGS)
def test_a_flag_out_of_range_is_one_line_and_trains_nothing(
    capsys, tmp_path, fresh_host, flag, value, message
):
    out_dir = tmp_path / "run"
    code, _, err = ganzoo(
        capsys, "run", "dcgan", "--dataset", "fake", "--out", str(out_dir), flag, value
    )
    assert (code, err) == (2, f"error: {message}\n")
    assert not out_dir.exists()


# one value outside each key's range, as --set or a config file would give it
OUT_OF_RANGE = {
    "data.image_size": 0,
    "data.channels": 0,
    "data.workers": -1,
    "data.clusters": -1,
    "train.steps": 0,
    "train.epochs": 0,
    "train.batch_size": -4,
    "train.d_steps": 0,
    "train.seed": -1,
    "train.ema_decay": 1,
    "optim.lr": 0,
    "optim.lr_d": -0.1,
    "optim.warmup_steps": -1,
    "log.every": 0,
    "log.sample_every": 0,
    "log.checkpoint_every": 0,
    "log.samples": 0,
    "log.keep_checkpoints": -1,
}


def test_every_number_in_the_config_has_a_range():
    numbers = {
        key
        for key, value in flatten(RunConfig().to_dict()).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    } | {"data.image_size", "data.channels", "train.steps", "train.epochs", "optim.lr_d"}
    assert numbers - {"optim.betas"} == set(RANGES) == set(OUT_OF_RANGE)


@pytest.mark.parametrize(("key", "value"), OUT_OF_RANGE.items())
def test_every_number_is_range_checked_from_set_and_from_files(key, value, tmp_path):
    with pytest.raises(UsageError) as info:
        resolve(parse_assignments([f"{key}={value}"]))
    assert str(info.value).startswith(f"{key} must be ") and f", got {value}" in str(info.value)
    section, name = key.split(".")
    config_file = tmp_path / "run.toml"
    config_file.write_text(f"[{section}]\n{name} = {value}\n")
    with pytest.raises(UsageError, match=f"^config file {config_file}: {key} must be "):
        build_config(config_file, [], {}, resume=None)


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("train.ema_decay=1.5", "train.ema_decay must be in [0, 1), got 1.5"),
        ("train.seed=4294967296", "train.seed must be in [0, 4294967296), got 4294967296"),
        ("optim.lr=inf", "optim.lr must be > 0, got inf"),
        ("train.epochs=nan", "train.epochs must be > 0, got nan"),
        ("optim.betas=[0.5, 1]", "optim.betas must be two numbers in [0, 1), got [0.5, 1]"),
        ("optim.betas=['a', 0.9]", "optim.betas must be two numbers in [0, 1), got ['a', 0.9]"),
    ],
)
def test_range_errors_name_the_key_and_the_allowed_range(assignment, message):
    with pytest.raises(UsageError) as info:
        resolve(parse_assignments([assignment]))
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("file_value", "message"),
    [
        ('"many"', "config key train.batch_size must be int, got 'many'"),
        ("0", "train.batch_size must be >= 1, got 0"),
    ],
)
def test_a_bad_value_in_a_config_file_is_an_error_even_when_a_flag_overrides_it(
    tmp_path, file_value, message
):
    config_file = tmp_path / "run.toml"
    config_file.write_text(f"[train]\nbatch_size = {file_value}\n")
    with pytest.raises(UsageError) as info:
        build_config(config_file, [], {"batch_size": 8}, resume=None)
    assert str(info.value) == f"config file {config_file}: {message}"


def test_a_bad_set_value_is_an_error_even_when_a_flag_overrides_it():
    with pytest.raises(UsageError, match=r"^train.steps must be >= 1, got -3$"):
        build_config(None, ["train.steps=-3"], {"steps": 8}, resume=None)


FAKE_100 = ["--dataset", "fake", "--set", "data.params.length=100", "--batch-size", "8"]


def test_dry_run_shows_every_plugin_parameter_and_the_step_count(capsys, tmp_path, fresh_host):
    code, out, err = ganzoo(
        capsys, "run", "dcgan", "--loss", "lsgan", *FAKE_100, "--epochs", "2", "--reg", "r1",
        "--set", "loss.params.a=-1", "--out", str(tmp_path / "run"), "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    config_part = out[: out.index("\n# ")]
    assert tomllib.loads(out) == tomllib.loads(config_part)  # the comments leave it a config file
    comments = [line for line in out.splitlines() if line.startswith("#")]
    assert "# images: 3x32x32 from fake (100 images: 12 batches of 8 an epoch)" in comments
    assert "# steps: 24 (2 epochs x 12 batches)" in comments
    assert "# loss.params: lsgan (plugin losses, ganzoo " in "\n".join(comments)
    assert "#   a = -1.0  (set; default 0.0)" in comments and "#   b = 1.0" in comments
    assert "#   latent_dim = 100" in comments and "#   gamma = 10.0" in comments
    assert not (tmp_path / "run").exists()


def test_dry_run_steps_follow_steps_epochs_and_d_steps(capsys, fresh_host):
    def steps(*flags: str) -> str:
        code, out, err = ganzoo(capsys, "run", "dcgan", *FAKE_100, *flags, "--dry-run")
        assert code == 0, err
        return next(line for line in out.splitlines() if line.startswith("# steps: "))

    assert steps() == "# steps: 60 (5 epochs, the default x 12 batches)"
    assert steps("--steps", "7") == "# steps: 7 (train.steps)"
    code, out, _ = ganzoo(
        capsys, "run", "dcgan", *FAKE_100, "--set", "data.params.classes=4", "--dry-run"
    )
    assert "# images: 3x32x32 from fake (100 images, 4 classes: 12 batches of 8 an epoch)" in out
    assert steps("--d-steps", "5", "--epochs", "1") == (
        "# steps: 3 (1 epochs x 12 batches / 5 D steps per G step (rounded up))"
    )


def test_dry_run_checks_plugin_names_and_parameters_like_a_run(capsys, fresh_host):
    code, out, err = ganzoo(
        capsys, "run", "dcgan", *FAKE_100, "--set", "model.params.ngff=1", "--dry-run"
    )
    assert code == 2 and "unknown parameter of dcgan (model.params) 'ngff'" in err
    code, _, err = ganzoo(capsys, "run", "dcgan", *FAKE_100, "--batch-size", "101", "--dry-run")
    assert code == 1 and "has 100 images, fewer than one global batch of 101" in err


def test_dry_run_checks_the_optimizer_like_a_run(capsys, fresh_host):
    code, _, err = ganzoo(capsys, "run", "dcgan", *FAKE_100, "--optimizer", "adamm", "--dry-run")
    assert code == 2 and "unknown optimizer (optim.name) 'adamm'; did you mean 'Adam'" in err
    code, out, _ = ganzoo(capsys, "run", "dcgan", *FAKE_100, "--lr-d", "0.001", "--dry-run")
    assert "# optimizer: Adam, lr G 0.0008, D 0.001, schedule constant" in out.splitlines()
