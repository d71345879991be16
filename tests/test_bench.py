"""``ganzoo bench`` on fake data with tiny budgets: tables, files, resume, --from."""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import pytest
from PIL import Image

from ganzoo.bench.report import COLOURS, figure, grid_layout, line_style

from .test_cli import ganzoo

TINY = [
    "--dataset", "fake", "--steps", "4", "--image-size", "16", "-n", "32",
    "--extractor", "ganzoo-fmnist", "--curve-points", "2",
    "--set", "model.params.ngf=8", "--set", "model.params.ndf=8", "--set", "model.params.latent_dim=16",
    "--set", "data.params.length=64", "--set", "train.batch_size=8",
]  # fmt: skip


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


def test_bench_trains_every_cell_and_writes_tables(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(
        capsys, "bench", "--loss", "bce,lsgan", "--seeds", "0,1", *TINY, "-o", str(out)
    )
    assert code == 0, err
    assert "dcgan/bce" in stdout and "dcgan/lsgan" in stdout
    assert "FD (ganzoo-fmnist)" in stdout and "KID (ganzoo-fmnist)" in stdout
    assert "extractor ganzoo-fmnist" in stdout  # the protocol under the table
    for name in ("results.md", "results.csv", "results.json", "figure.png", "bench.toml"):
        assert (out / name).is_file(), name
    results = json.loads((out / "results.json").read_text())
    variants = {v["variant"]: v for v in results["variants"]}
    assert set(variants) == {"dcgan/bce", "dcgan/lsgan"}
    assert variants["dcgan/bce"]["seeds"] == [0, 1]
    assert {"mean", "std"} == set(variants["dcgan/bce"]["fd"])
    assert variants["dcgan/bce"]["fd"]["std"] > 0
    assert len(results["runs"]) == 4 and all(len(r["curve"]) == 2 for r in results["runs"])
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 4 and float(rows[0]["fd"]) > 0
    markdown = (out / "results.md").read_text()
    assert (
        "| dcgan/bce | 2 |" in markdown
        and "FD (ganzoo-fmnist)" in markdown
        and "extractor ganzoo-fmnist" in markdown
        and "32 samples" in markdown
    )


def test_an_interrupted_bench_continues_cell_by_cell(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    args = ["bench", "--loss", "bce,hinge", *TINY, "-o", str(out)]
    assert ganzoo(capsys, *args)[0] == 0
    done = out / "runs" / "dcgan--bce--s0" / "summary.json"
    stamp = done.stat().st_mtime_ns
    (out / "runs" / "dcgan--hinge--s0" / "summary.json").unlink()  # as if killed before the end
    code, _, err = ganzoo(capsys, *args)
    assert code == 0, err
    assert "dcgan--bce--s0: trained already" in err and "dcgan--hinge--s0: resuming" in err
    assert done.stat().st_mtime_ns == stamp


def test_a_bench_directory_with_other_settings_is_refused(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    assert ganzoo(capsys, "bench", "--loss", "bce", *TINY, "-o", str(out))[0] == 0
    code, _, err = ganzoo(capsys, "bench", "--loss", "hinge", *TINY, "-o", str(out))
    assert code == 2 and "other settings (losses)" in err


def test_from_tabulates_existing_runs_without_training(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    assert ganzoo(capsys, "bench", "--loss", "bce", "--seeds", "0,1", *TINY, "-o", str(out))[0] == 0
    runs = sorted((out / "runs").iterdir())
    code, stdout, err = ganzoo(
        capsys,
        "bench",
        "--from",
        str(runs[0]),
        "--from",
        str(runs[1]),
        *TINY,
        "-o",
        str(tmp_path / "table"),
    )
    assert code == 0, err
    assert "training" not in err and "dcgan/bce" in stdout
    assert json.loads((tmp_path / "table" / "results.json").read_text())["variants"][0][
        "seeds"
    ] == [0, 1]


def test_from_reuses_the_scores_ganzoo_eval_already_wrote(capsys, tmp_path, fresh_host):
    """A study scored with ``ganzoo eval`` is tabulated without evaluating its runs again, as
    long as the stored result has the bench's protocol; any other result is not used. The data
    is labelled, as Fashion-MNIST's is, but the model is not conditional: no per-class figures."""
    out = tmp_path / "bench"
    labelled = ["--set", "data.params.classes=3"]
    assert ganzoo(capsys, "bench", "--loss", "bce", *TINY, *labelled, "-o", str(out))[0] == 0
    [run] = (out / "runs").iterdir()
    (run / "eval" / "bench-cache.json").unlink()
    evaluate = ["eval", str(run), "--extractor", "ganzoo-fmnist", "-m", "fd,kid,pr", "--json"]
    for n, fd in ((32, 123.0), (33, 999.0)):  # the bench's sample count, and another
        code, stdout, err = ganzoo(capsys, *evaluate, "-n", str(n))
        assert code == 0, err
        stored = Path(json.loads(stdout)["path"])
        stored.write_text(json.dumps({**json.loads(stored.read_text()), "metrics": {
            **json.loads(stored.read_text())["metrics"], "fd": fd}}))  # fmt: skip
    code, _, err = ganzoo(capsys, "bench", "--from", str(run), *TINY, "-o", str(tmp_path / "t"))
    assert code == 0, err
    [variant] = json.loads((tmp_path / "t" / "results.json").read_text())["variants"]
    assert variant["fd"]["mean"] == 123.0  # the n=32 result, read back rather than recomputed


def test_a_bench_config_file_sets_the_matrix_and_flags_win(capsys, tmp_path, fresh_host):
    config = tmp_path / "bench.toml"
    config.write_text('losses = ["hinge"]\nseeds = [3]\nsteps = 99\n')
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(capsys, "bench", "--config", str(config), *TINY, "-o", str(out))
    assert code == 0, err
    assert (out / "runs" / "dcgan--hinge--s3").is_dir()  # from the file
    assert (
        json.loads((out / "results.json").read_text())["variants"][0]["steps"] == 4
    )  # --steps won
    config.write_text("lossez = ['x']\n")
    code, _, err = ganzoo(capsys, "bench", "--config", str(config), "-o", str(tmp_path / "b2"))
    assert code == 2 and "unknown config key 'lossez'; did you mean 'losses'" in err


def test_a_single_seed_shows_no_spread(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(capsys, "bench", "--loss", "bce", *TINY, "-o", str(out))
    assert code == 0, err
    assert "±" not in stdout and "±" not in (out / "results.md").read_text()
    [variant] = json.loads((out / "results.json").read_text())["variants"]
    assert variant["fd"]["std"] is None and variant["fd"]["mean"] > 0


def test_from_takes_run_directories_as_the_docs_show(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    assert ganzoo(capsys, "bench", "--loss", "bce", "--seeds", "0,1", *TINY, "-o", str(out))[0] == 0
    runs = [str(p) for p in sorted((out / "runs").iterdir())]
    code, stdout, err = ganzoo(capsys, "bench", "--from", *runs, *TINY, "-o", str(tmp_path / "t"))
    assert code == 0, err
    assert json.loads((tmp_path / "t" / "results.json").read_text())["variants"][0]["seeds"] == [
        0,
        1,
    ]
    code, _, err = ganzoo(capsys, "bench", runs[0], *TINY, "-o", str(tmp_path / "t2"))
    assert code == 2 and "--from" in err and "\n" not in err.strip()


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        (
            ["--loss", "bce,lsgna"],
            "bench cell dcgan/lsgna: unknown loss 'lsgna'; did you mean 'lsgan'?",
        ),
        (["--loss", "bce", "--set", "loss.params.nope=1"], "bench cell dcgan/bce: unknown"),
        (["--loss", "bce", "--set", "optim.name=Adamm"], "did you mean 'Adam'"),
        (
            ["--loss", "bce", "--metrics", "fid,kid"],
            "fid is the Frechet distance in Inception features",
        ),
        (["--loss", "bce", "--extractor", "inceptoin"], "did you mean 'inception'"),
        (
            ["--loss", "bce", "--inception-samples", "16", "--inception-weights", "/nowhere/w.pth"],
            "Inception weights /nowhere/w.pth do not exist",
        ),
    ],
)
def test_the_whole_matrix_is_checked_before_any_cell_trains(
    capsys, tmp_path, fresh_host, mistake, message
):
    out = tmp_path / "bench"
    code, _, err = ganzoo(capsys, "bench", *TINY, *mistake, "-o", str(out))
    assert code == 2 and message in err, err
    assert "training" not in err and not (out / "runs").exists()


def test_bench_shows_cell_i_of_n_with_an_eta_and_json_on_request(capsys, tmp_path, fresh_host):
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(
        capsys, "bench", "--loss", "bce,hinge", *TINY, "-o", str(out), "--json"
    )
    assert code == 0, err
    result = json.loads(stdout)  # the results and nothing else
    assert result["dir"] == str(out) and [v["variant"] for v in result["variants"]] == [
        "dcgan/bce",
        "dcgan/hinge",
    ]
    assert "[1/2] dcgan--bce--s0: training (4 steps)" in err
    assert re.search(r"\[1/2\] dcgan--bce--s0: trained in [\d.]+s; 1 to train, done in about", err)
    assert "[2/2] dcgan--hinge--s0: trained in" in err
    assert "[2/2] scoring" in err and "[2/2] scored in" in err


def test_a_conditional_cell_shows_its_intra_class_columns(capsys, tmp_path, fresh_host):
    labelled = ["--set", "model.params.conditional=true", "--set", "data.params.classes=3"]
    code, stdout, err = ganzoo(
        capsys, "bench", "--loss", "bce", *TINY, *labelled, "-o", str(tmp_path / "b")
    )
    assert code == 0, err
    assert "intra-class FD (ganzoo-fmnist)" in stdout and "worst-class FD" in stdout
    row = json.loads((tmp_path / "b" / "results.json").read_text())["variants"][0]
    assert row["fd_class_worst"]["mean"] >= row["fd_class_mean"]["mean"] > 0


RECIPES = """
[recipes]
plain = []
ttur-ema = ["optim.lr_d=4e-4", "train.ema=true"]
"""


def test_recipes_are_a_matrix_axis_named_in_the_tables(capsys, tmp_path, fresh_host):
    config = tmp_path / "bench.toml"
    config.write_text('losses = ["bce"]\n' + RECIPES)
    out = tmp_path / "bench"
    code, stdout, err = ganzoo(capsys, "bench", "--config", str(config), *TINY, "-o", str(out))
    assert code == 0, err
    assert "dcgan/bce+plain" in stdout and "dcgan/bce+ttur-ema" in stdout
    run = out / "runs" / "dcgan--bce--ttur-ema--s0"
    written = (run / "config.toml").read_text()
    assert 'recipe = "ttur-ema"' in written and "lr_d = 0.0004" in written
    results = json.loads((out / "results.json").read_text())
    ema_run = next(r for r in results["runs"] if r["variant"] == "dcgan/bce+ttur-ema")
    plain_run = next(r for r in results["runs"] if r["variant"] == "dcgan/bce+plain")
    # a run that kept an EMA is scored from the EMA generator, the one it samples with
    assert ema_run["protocol"]["ema"] is True and plain_run["protocol"]["ema"] is False
    # --from names a run by its recipe too
    code, stdout, err = ganzoo(
        capsys, "bench", "--from", str(run), *TINY, "-o", str(tmp_path / "table")
    )
    assert code == 0, err
    assert "dcgan/bce+ttur-ema" in stdout


def test_a_bad_recipe_fails_before_any_cell_trains(capsys, tmp_path, fresh_host):
    config = tmp_path / "bench.toml"
    config.write_text('losses = ["bce"]\n[recipes]\nfine = []\nbad = ["optim.lr_d=-1"]\n')
    code, _, err = ganzoo(
        capsys, "bench", "--config", str(config), *TINY, "-o", str(tmp_path / "b")
    )
    assert code == 2 and "bench cell dcgan/bce+bad: optim.lr_d must be > 0, got -1.0" in err
    assert not (tmp_path / "b" / "runs").exists()
    config.write_text('losses = ["bce"]\n[recipes]\nbad = "optim.lr_d=1e-4"\n')
    code, _, err = ganzoo(
        capsys, "bench", "--config", str(config), *TINY, "-o", str(tmp_path / "c")
    )
    assert code == 2 and "recipes.bad must be a list of KEY=VALUE strings" in err


def test_recipes_picks_a_subset_and_names_the_known_ones(capsys, tmp_path, fresh_host):
    config = tmp_path / "bench.toml"
    config.write_text('losses = ["bce"]\n' + RECIPES)
    args = ["bench", "--config", str(config), *TINY]
    code, stdout, err = ganzoo(capsys, *args, "--recipes", "ttur-ema", "-o", str(tmp_path / "a"))
    assert code == 0, err
    assert [p.name for p in (tmp_path / "a" / "runs").iterdir()] == ["dcgan--bce--ttur-ema--s0"]
    code, _, err = ganzoo(capsys, *args, "--recipes", "tur-ema", "-o", str(tmp_path / "b"))
    assert code == 2 and "unknown recipe 'tur-ema'; did you mean 'ttur-ema'?" in err
    code, _, err = ganzoo(capsys, "bench", *TINY, "--recipes", "x", "-o", str(tmp_path / "c"))
    assert code == 2 and "--recipes picks from a config's [recipes] table" in err


@pytest.mark.slow
@pytest.mark.parametrize(
    "config", sorted((Path(__file__).parent.parent / "benchmarks" / "configs").glob("*.toml")),
    ids=lambda p: p.name,
)  # fmt: skip
def test_every_benchmark_config_builds_every_cell(config, tmp_path, fresh_host):
    """The studies in benchmarks/configs stay runnable: each recipe and loss resolves and builds
    (on the fake dataset with ten classes, so no download is needed to check them)."""
    from ganzoo.bench.checks import check_matrix
    from ganzoo.cli.bench_cmd import load_spec, pick_recipes

    from .test_eval import SHARED_INCEPTION

    flags: dict[str, object] = {"dataset": "fake"}
    if SHARED_INCEPTION.exists():  # the Inception FID column, offline (README of ../shared)
        flags["inception_weights"] = str(SHARED_INCEPTION)
    else:
        flags["inception_samples"] = 0
    spec = load_spec(config, flags)
    spec.assignments.append("data.params.classes=10")  # labelled, as Fashion-MNIST is
    check_matrix(spec, tmp_path)
    recipes = spec.recipes
    for losses, lanes in per_loss_commands(config):  # the header's BENCH_ARGS="-l LOSS" rows
        spec.losses, spec.recipes = losses, pick_recipes(recipes, lanes)
        check_matrix(spec, tmp_path)


def per_loss_commands(config: Path) -> list[tuple[list[str], list[str]]]:
    """``(losses, recipes)`` of each ``BENCH_ARGS="-l LOSSES" ... quality.sh OUT "RECIPE ..."``
    command in a config's header comments: the rows it documents for losses other than its own."""
    commands = []
    for line in config.read_text().splitlines():
        found = re.search(r'BENCH_ARGS="-l ([\w,-]+)".*?\.sh \S+ (.*)$', line)
        if line.startswith("#") and found:
            lanes = [r for lane in re.findall(r'"([^"]+)"', found[2]) for r in lane.split()]
            commands.append((found[1].split(","), lanes))
    return commands


def test_the_quality_configs_header_documents_its_per_loss_rows():
    """Section 12's per-loss rows run with commands in the quality config's header; the check
    above builds each of them, so a documented command that no longer builds fails."""
    config = Path(__file__).parent.parent / "benchmarks" / "configs" / "fashion_mnist_quality.toml"
    assert (["lsgan", "mmd", "hinge"], ["lr8"]) in per_loss_commands(config)
    assert (["wgan-gp"], ["wgan-lr4"]) in per_loss_commands(config)


def test_the_figure_wraps_many_variants_into_rows_and_tells_their_curves_apart(tmp_path):
    """Grids go six to a row (two columns at least), and the figure grows a row per six; the
    curves of up to 30 variants differ in colour or dash."""
    assert [grid_layout(n) for n in (1, 2, 6, 7, 30)] == [(2, 1), (2, 1), (6, 1), (6, 2), (6, 5)]
    assert len({(i % COLOURS, line_style(i)) for i in range(30)}) == 30

    def drawn(variants: int) -> tuple[int, int]:
        curve = [{"step": 1, "fd": 90.0}, {"step": 2, "fd": 40.0}]
        rows = [
            {"variant": f"v{i}", "seed": 0, "run": str(tmp_path), "curve": curve,
             "protocol": {"extractor": "ganzoo-fmnist"}}
            for i in range(variants)
        ]  # fmt: skip
        path = tmp_path / f"figure-{variants}.png"
        assert figure(path, rows)
        return Image.open(path).size

    (six_wide, six_high), (seven_wide, seven_high) = drawn(6), drawn(7)
    assert seven_wide == six_wide and seven_high > six_high  # a second row, not a wider strip


def test_the_figure_leaves_out_the_curve_panel_when_no_run_has_a_curve(tmp_path):
    """Runs that kept only their last checkpoint have no FD-vs-step curve: the figure is their
    sample grids alone, not grids above an empty, unlabelled plot."""

    def height(curve: list[dict[str, float]]) -> int:
        rows = [
            {"variant": f"v{i}", "seed": 0, "run": str(tmp_path), "curve": curve,
             "protocol": {"extractor": "ganzoo-fmnist"}}
            for i in range(3)
        ]  # fmt: skip
        path = tmp_path / f"figure-{len(curve)}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. matplotlib's "No artists with labels" legend
            assert figure(path, rows)
        return Image.open(path).size[1]

    with_curves = height([{"step": 1, "fd": 90.0}, {"step": 2, "fd": 40.0}])
    assert height([]) < 0.6 * with_curves  # the grids alone: about half the height


def test_a_bench_scores_with_the_batchnorm_mode_it_is_given(tmp_path, fresh_host):
    """``batchnorm = "recompute"`` (or ``--batchnorm``) reaches every evaluation the bench makes;
    left out, the bench samples G as training left it, and a typo stops it before training."""
    from ganzoo.bench.checks import check_matrix
    from ganzoo.bench.runner import final_request, inception_request
    from ganzoo.cli.bench_cmd import load_spec
    from ganzoo.errors import UsageError

    spec = load_spec(None, {"dataset": "fake", "losses": ["bce"], "inception_samples": 10})
    assert final_request(spec).batchnorm == "running" and "batchnorm" not in spec.to_dict()
    spec = load_spec(None, {"dataset": "fake", "batchnorm": "recompute", "inception_samples": 10})
    assert final_request(spec).batchnorm == inception_request(spec).batchnorm == "recompute"
    spec = load_spec(None, {"dataset": "fake", "losses": ["bce"], "batchnorm": "recomputed"})
    with pytest.raises(UsageError, match="did you mean 'recompute'"):
        check_matrix(spec, tmp_path)
