"""Class-conditional GANs end to end: labelled data, conditional DCGAN (projection D and ACGAN),
labels reaching plugins, per-class sampling and metrics, exact resume, --amp, --compile, DDP."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.bench.runner import describe_run
from ganzoo.errors import GanzooError, UsageError
from ganzoo.interfaces import DataRequest, Discriminator, ImageSpec
from ganzoo.labels import class_index
from ganzoo.plugins import get_host
from ganzoo.testing import check_architecture, check_loss, check_regularizer, train_tiny
from ganzoo.train.rundir import RunDir
from ganzoo.train.step import PhaseDiscriminator, declared

from .test_cli import ganzoo as cli
from .test_recipes import assert_ddp_resumes_exactly, assert_identical
from .test_training import TINY_FLAGS

CONDITIONAL = ["model.params.conditional=true"]
ACGAN = [*CONDITIONAL, "model.params.d_conditioning=classifier"]
LABELLED_FLAGS = [*TINY_FLAGS, "--set", "data.params.classes=3"]
TINY_ARCH = {"ngf": 8, "ndf": 8, "latent_dim": 16}


# ---- data ---------------------------------------------------------------------------------
def test_fake_data_draws_labels_and_names_its_classes():
    fake = get_host().datasets.get("fake").factory(length=20, classes=4)
    data = fake.load(DataRequest(None, 8, 1))
    image, label = data[3]
    assert image.shape == (1, 8, 8) and 0 <= int(label) < 4
    assert data.classes == ["class0", "class1", "class2", "class3"]
    assert torch.equal(data[3][1], fake.load(DataRequest(None, 8, 1))[3][1])  # deterministic


def test_folder_classes_are_the_first_level_subdirectories(tmp_path):
    for name, folder in [("a.png", "cat"), ("b.png", "cat"), ("c.png", "dog/puppies")]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), "red").save(tmp_path / folder / name)
    folder = get_host().datasets.get("folder").factory
    data = folder(classes=True).load(DataRequest(tmp_path, 8, 3))
    assert data.classes == ["cat", "dog"]
    assert [int(data[i][1]) for i in range(3)] == [0, 0, 1]
    assert isinstance(folder().load(DataRequest(tmp_path, 8, 3))[0], torch.Tensor)  # default: off
    Image.new("RGB", (8, 8)).save(tmp_path / "loose.png")
    with pytest.raises(UsageError, match="loose.png is not in a class folder"):
        folder(classes=True).load(DataRequest(tmp_path, 8, 3))


@pytest.mark.slow
def test_fashion_mnist_yields_its_labels_and_class_names():
    fashion = get_host().datasets.get("fashion-mnist").factory()
    try:
        test = fashion.load(DataRequest(None, 28, 1, "test", download=False))
    except GanzooError:
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    assert len(test) == 10000 and test.classes[7] == "sneaker"
    assert torch.bincount(test.labels).tolist() == [1000] * 10  # the test split is balanced


def test_classes_are_named_by_index_or_by_name_in_any_spelling():
    classes = ["t-shirt/top", "trouser", "ankle boot"]
    assert class_index("2", classes) == class_index("Ankle-Boot", classes) == 2
    assert class_index("t shirt top", classes) == 0
    with pytest.raises(UsageError, match="did you mean 'trouser'"):
        class_index("trousers", classes)
    with pytest.raises(UsageError, match="out of range"):
        class_index(3, classes)
    numbered = ["1", "10", "2"]  # folder classes sort as strings: a name wins over an index
    assert class_index("10", numbered) == 1 and class_index("1", numbered) == 0
    with pytest.raises(UsageError, match="generator is unconditional"):
        class_index("1", [])


# ---- models -------------------------------------------------------------------------------
@pytest.mark.parametrize("d_conditioning", ["projection", "classifier"])
def test_conditional_dcgan_meets_the_architecture_contract(d_conditioning):
    dcgan = get_host().architectures.get("dcgan").factory
    check_architecture(
        dcgan, num_classes=5, conditional=True, d_conditioning=d_conditioning, **TINY_ARCH
    )


def test_the_docstring_parameter_counts_hold():
    dcgan = get_host().architectures.get("dcgan").factory
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    spec = ImageSpec(1, 28, 10)
    g0, d0 = dcgan().build(spec)
    g1, d1 = dcgan(conditional=True).build(spec)
    _, d2 = dcgan(conditional=True, d_conditioning="classifier").build(spec)
    # one-hot input: K * width * base^2; conditional BatchNorm: 2KC - 2C on 128 + 64 channels
    assert count(g1) - count(g0) == 10 * 128 * 7 * 7 + 3456
    assert count(d1) - count(d0) == 10 * 128 * 7 * 7  # projection: K F
    assert count(d2) - count(d0) == (128 * 7 * 7 + 1) * 10  # ACGAN head: (F + 1) K


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge"])
def test_check_loss_runs_unchanged_losses_on_labelled_batches(loss):
    check_loss(
        get_host().losses.get(loss).factory, num_classes=3, model_params={"conditional": True}
    )


def test_check_loss_hands_labels_to_a_loss_that_declares_them():
    seen: list[torch.Tensor] = []

    class ClassMarginHinge(ganzoo.Loss):
        """Hinge whose real margin grows with the class index: needs the labels."""

        def discriminator_loss(self, discriminator, real, fake, labels):
            seen.append(labels)
            margin = 1.0 + labels.float() / 10  # (B,)
            d_real, d_fake = discriminator(real), discriminator(fake)
            return torch.relu(margin - d_real).mean() + torch.relu(1.0 + d_fake).mean()

        def generator_loss(self, discriminator, real, fake, labels):
            seen.append(labels)
            return -discriminator(fake).mean()

    check_loss(ClassMarginHinge, num_classes=3, model_params={"conditional": True})
    # both methods, in the contract's step and in its one training step: one label per image
    assert len(seen) == 4 and all(y.shape == (8,) and int(y.max()) == 2 for y in seen)


def test_acgan_regularizer_meets_the_contract_and_needs_a_classifier_head():
    acgan = get_host().regularizers.get("acgan").factory
    with pytest.raises(GanzooError, match="needs labelled data"):
        check_regularizer(acgan)  # the contract's unlabelled batch: a one-line refusal
    head = {"conditional": True, "d_conditioning": "classifier"}
    check_regularizer(acgan, num_classes=3, model_params=head)  # both nets get a gradient
    dcgan = get_host().architectures.get("dcgan").factory
    g, d = dcgan(conditional=True, d_conditioning="classifier", **TINY_ARCH).build(
        ImageSpec(1, 16, 3)
    )
    y = torch.tensor([0, 1, 2, 0])
    real, fake = torch.rand(4, 1, 16, 16) * 2 - 1, g(g.sample_latent(4), y)
    view = PhaseDiscriminator(d, None)
    view.bind(real, fake, labels=y)
    reg = acgan()
    d_term = reg.penalty(view, real, fake.detach(), labels=y, net="D")
    g_term = reg.penalty(view, real, fake, labels=y, net="G")
    g_term.backward()
    assert d_term > g_term > 0 and all(p.grad is not None for p in g.parameters())
    _, plain = dcgan(conditional=True, **TINY_ARCH).build(ImageSpec(1, 16, 3))
    view = PhaseDiscriminator(plain, None)
    view.bind(real, fake, labels=y)
    with pytest.raises(GanzooError, match="classifier head"):
        reg.penalty(view, real, fake, labels=y, net="D")


# ---- labels through the step --------------------------------------------------------------
def test_only_plugins_that_declare_labels_receive_them():
    def old(discriminator, real, fake): ...
    def new(discriminator, real, fake, *, labels=None): ...
    def anything(discriminator, real, fake, **kwargs): ...

    y = torch.zeros(2)
    assert declared(old, labels=y, net="D") == {}
    assert declared(new, labels=y, net="D") == {"labels": y}
    assert declared(anything, labels=y) == {"labels": y}


class Recording(Discriminator):
    num_classes = 3

    def forward_features(self, x, y=None):
        self.seen = y
        return x.flatten(1).sum(1), x.flatten(1)


def test_the_phase_discriminator_hands_the_batch_labels_to_a_conditional_d():
    inner = Recording()
    view = PhaseDiscriminator(inner, None)
    real, fake, y = torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2), torch.tensor([2, 0])
    view.bind(real, fake, labels=y)
    view(real)
    assert torch.equal(inner.seen, y)
    view(torch.cat([real, fake]))  # MMD-style concatenations share the labels
    assert torch.equal(inner.seen, torch.tensor([2, 0, 2, 0]))
    view(real, torch.tensor([1, 1]))  # explicit labels win
    assert torch.equal(inner.seen, torch.tensor([1, 1]))
    with pytest.raises(GanzooError, match="got 3 images but the step's labels are for 2"):
        view(torch.zeros(3, 1, 2, 2))


# ---- runs ---------------------------------------------------------------------------------
def test_a_conditional_run_trains_and_samples_one_labelled_row_per_class(tmp_path, capsys):
    run = train_tiny(tmp_path / "run", classes=3, assignments=CONDITIONAL)
    assert json.loads((run / "data.json").read_text())["classes"] == ["class0", "class1", "class2"]
    generator = ganzoo.load_generator(run)
    assert generator.num_classes == 3
    z = generator.sample_latent(2)
    a, b = generator(z, torch.tensor([0, 0])), generator(z, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)  # the label changes the image
    code, out, err = cli(capsys, "sample", str(run), "--class", "class2", "-n", "4")
    assert code == 0, err
    assert Image.open(run / "sample.png").size == (2 * 18 + 2, 2 * 18 + 2)  # 4 of one class
    code, _, err = cli(capsys, "sample", str(run), "-n", "4", "-o", str(tmp_path / "g.png"))
    grid = Image.open(tmp_path / "g.png")
    assert code == 0 and grid.height == 3 * 18 + 2 and grid.width > 2 * 18 + 2  # 3 labelled rows
    code, _, err = cli(capsys, "sample", str(run), "--class", "class7")
    assert code == 2 and "unknown class 'class7'" in err


def test_unconditional_models_and_losses_train_unchanged_on_labelled_data(tmp_path):
    train_tiny(tmp_path / "bce", classes=3)
    # the example plugins were written before labels existed and are untouched
    train_tiny(tmp_path / "sngan", arch="sngan", loss="ragan", classes=3)
    train_tiny(tmp_path / "featmatch", reg=["feature-matching"], classes=3, assignments=CONDITIONAL)
    train_tiny(tmp_path / "mmd", loss="mmd", classes=3, assignments=CONDITIONAL)


@pytest.mark.parametrize("loss", ["bce", "lsgan", "hinge"])
def test_acgan_trains_with_each_logit_loss(tmp_path, loss):
    run = train_tiny(tmp_path / loss, loss=loss, reg=["acgan"], classes=3, assignments=ACGAN)
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["reg_acgan_d"] > 0 and row["reg_acgan_g"] > 0  # one value per network
    assert describe_run(RunDir(run))["variant"] == f"dcgan/{loss}+acgan"  # a bench row of its own


def test_a_classifier_head_that_nothing_trains_is_a_one_line_error(tmp_path, capsys):
    args = [
        "run",
        "dcgan",
        *LABELLED_FLAGS,
        "--steps",
        "1",
        "--set",
        "model.params.conditional=true",
    ]
    args += ["--set", "model.params.d_conditioning=classifier", "-o", str(tmp_path / "r")]
    code, _, err = cli(capsys, *args)
    assert code == 2 and "no loss or regularizer trains it; add --reg acgan" in err


def test_a_conditional_model_on_unlabelled_data_is_a_one_line_error(tmp_path, capsys):
    args = ["run", "dcgan", *TINY_FLAGS, "--set", "model.params.conditional=true", "--steps", "1"]
    code, _, err = cli(capsys, *args, "-o", str(tmp_path / "r"))
    assert code == 2 and "needs labelled data" in err and "Traceback" not in err


@pytest.mark.parametrize("recipe", ["cgan-pd", "acgan"])
def test_conditional_presets_train_under_amp_and_resume_exactly(tmp_path, capsys, recipe):
    args = ["run", "dcgan", "--preset", recipe, *LABELLED_FLAGS, "--amp", "--ema"]
    assert cli(capsys, *args, "--steps", "6", "-o", str(tmp_path / "straight"))[0] == 0
    assert cli(capsys, *args, "--steps", "3", "-o", str(tmp_path / "split"))[0] == 0
    code, _, err = cli(capsys, *args, "--steps", "6", "--resume", str(tmp_path / "split"))
    assert code == 0, err
    assert_identical(tmp_path / "straight", tmp_path / "split")


@pytest.mark.slow
def test_a_conditional_run_compiles(tmp_path, capsys):
    args = ["run", "dcgan", "--preset", "acgan", *LABELLED_FLAGS, "--compile", "--steps", "3"]
    code, _, err = cli(capsys, *args, "--reg", "r1", "-o", str(tmp_path / "run"))
    assert code == 0, err
    assert "torch.compile failed" not in err


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
@pytest.mark.parametrize("recipe", ["cgan-pd", "acgan"])
def test_conditional_runs_under_two_ddp_workers_resume_exactly(tmp_path, recipe):
    args = ["dcgan", "--preset", recipe, *LABELLED_FLAGS, "--set", "data.params.length=96"]
    # a lazy R1 phase never uses ACGAN's head: DDP must allow unused parameters
    args += ["--reg", "r1", "--set", "reg.r1.interval=2"]
    assert_ddp_resumes_exactly(tmp_path, args, steps=4)


@pytest.mark.slow
def test_eval_of_a_conditional_fashion_mnist_run_adds_intra_class_fd_and_accuracy(tmp_path):
    try:
        get_host().datasets.get("fashion-mnist").factory().load(
            DataRequest(None, 28, 1, "test", download=False)
        )
    except GanzooError:
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist)")
    run = ganzoo.train(
        {"train": {"steps": 2, "batch_size": 8}, "model": {"params": TINY_ARCH}},
        assignments=CONDITIONAL,
        out=tmp_path / "run",
    )
    from ganzoo.metrics.evaluate import EvalRequest, evaluate

    result = evaluate(RunDir(run), EvalRequest(metrics=("fd",), num_samples=100))
    metrics = result["metrics"]
    assert metrics["fd_class_worst"] >= metrics["fd_class_mean"] > 0
    assert 0 <= metrics["class_accuracy"] <= 1
    assert set(result["per_class_fd"]) == set(
        json.loads((run / "data.json").read_text())["classes"]
    )
    assert result["worst_class"] in result["per_class_fd"]


def test_list_presets_shows_what_the_conditional_presets_measured(capsys):
    code, out, err = cli(capsys, "list", "presets", "--json")
    assert code == 0, err
    presets = {entry["name"]: entry for entry in json.loads(out)["presets"]}
    assert presets["cgan-pd"]["measured"].startswith("FD 6.9 ± 0.2, class accuracy 0.901")
    assert "4,685 steps" in presets["acgan"]["measured"]
    assert presets["lsgan"]["measured"] == ""  # not measured at that budget yet
