"""The command line as a user meets it: real processes, real entry points, JSON shapes, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ganzoo import __version__
from ganzoo.cli import main

from .test_plugins import LOSS_PLUGIN


def ganzoo(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    assert ganzoo(capsys, "--version") == (0, f"ganzoo {__version__}\n", "")


def test_list_json_shape(capsys, fresh_host):
    code, out, _ = ganzoo(capsys, "list", "--json")
    data = json.loads(out)
    assert code == 0 and set(data) == {
        "architectures",
        "losses",
        "regularizers",
        "augmentations",
        "datasets",
        "presets",
    }
    names = {e["name"] for e in data["losses"]}
    assert {"bce", "lsgan", "mmd", "hinge", "wgan-gp"} <= names
    for entry in data["losses"]:
        assert set(entry) == {
            "name",
            "qualified_name",
            "plugin",
            "distribution",
            "version",
            "description",
        }
        assert entry["description"]


def test_list_kind_and_pattern(capsys, fresh_host):
    code, out, _ = ganzoo(capsys, "list", "architectures", "dc*", "--json")
    assert code == 0 and [e["name"] for e in json.loads(out)["architectures"]] == ["dcgan"]
    code, out, _ = ganzoo(capsys, "list", "ls*", "--json")  # a lone pattern searches every kind
    assert code == 0 and [e["name"] for e in json.loads(out)["losses"]] == ["lsgan"]


def test_plugins_json_shape(capsys, fresh_host):
    code, out, _ = ganzoo(capsys, "plugins", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert code == 0 and rows["losses"]["status"] == "ok"
    assert set(rows["losses"]) == {
        "name",
        "distribution",
        "version",
        "builtin",
        "hooks",
        "status",
        "reason",
    }


def test_unknown_kind_is_a_one_line_usage_error(capsys, fresh_host):
    code, out, err = ganzoo(capsys, "list", "lossez", "x")
    assert code == 2 and out == ""
    assert err.strip() == "error: unknown kind 'lossez'; did you mean 'losses'?"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganzoo", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_a_throwaway_plugin_on_sys_path_shows_up_in_a_real_process(plugin_dist):
    site = plugin_dist("tiny-loss", LOSS_PLUGIN.format(name="tiny"))
    result = run_cli("list", "losses", "--json", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    tiny = [e for e in json.loads(result.stdout)["losses"] if e["name"] == "tiny"]
    assert tiny[0]["distribution"] == "tiny-loss" and tiny[0]["version"] == "1.2.3"


def test_a_broken_plugin_leaves_the_cli_working(plugin_dist):
    site = plugin_dist("broken", "raise ImportError('missing dependency')\n")
    listed = run_cli("list", env={"PYTHONPATH": str(site)})
    assert listed.returncode == 0, listed.stderr
    result = run_cli("plugins", "--json", env={"PYTHONPATH": str(site)})
    broken = [p for p in json.loads(result.stdout) if p["name"] == "broken"][0]
    assert broken["status"] == "failed" and "missing dependency" in broken["reason"]


@pytest.mark.parametrize("debug", [False, True])
def test_errors_show_a_traceback_only_in_debug_mode(debug):
    result = run_cli("list", "nope", "x", env={"GANZOO_DEBUG": "1"} if debug else {})
    assert result.returncode != 0
    assert ("Traceback" in result.stderr) is debug


def test_list_with_an_argument_that_is_no_kind_and_matches_nothing_is_an_error(capsys, fresh_host):
    code, out, err = ganzoo(capsys, "list", "nonsense-kind")
    assert (code, out) == (2, "")
    assert err == (
        "error: nothing matches 'nonsense-kind'; kinds: architectures, losses, regularizers, "
        "augmentations, datasets, presets (one argument that is not a kind is a pattern, "
        "e.g. 'dc*')\n"
    )
    code, _, err = ganzoo(capsys, "list", "lossez", "--json")
    assert code == 2 and "nothing matches 'lossez'; did you mean the kind 'losses'?" in err


def test_list_says_when_a_kind_has_nothing_matching(capsys, fresh_host):
    code, out, err = ganzoo(capsys, "list", "losses", "zz*")
    assert (code, out, err) == (0, "", "no losses match 'zz*'\n")
    code, out, _ = ganzoo(capsys, "list", "losses", "zz*", "--json")
    assert code == 0 and json.loads(out) == {"losses": []}


@pytest.mark.parametrize(
    "command", [[], ["list"], ["plugins"], ["run"], ["sample"], ["eval"], ["bench"]]
)
def test_dash_h_is_help_everywhere(capsys, command):
    code, long_help, _ = ganzoo(capsys, *command, "--help")
    assert code == 0 and long_help.startswith("Usage: ganzoo")
    assert ganzoo(capsys, *command, "-h") == (0, long_help, "")


NO_TORCH_CHECK = """
import sys
from ganzoo.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
assert "torch" not in sys.modules, "torch was imported"
"""


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["-h"], ["run", "--help"], ["list", "-h"]]
)
def test_version_and_help_import_no_torch(args):
    result = subprocess.run(
        [sys.executable, "-c", NO_TORCH_CHECK, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "GANZOO_DISABLE_PLUGINS": "all"},  # installed examples import torch
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ganzoo " if args == ["--version"] else "Usage: ganzoo")


def test_the_command_list_in_help_is_the_commands_own_help(capsys):
    from ganzoo.cli import BUILTIN_COMMANDS, load_builtin_command

    code, lazy, _ = ganzoo(capsys, "--help")
    for name in BUILTIN_COMMANDS:
        load_builtin_command(name)
    assert ganzoo(capsys, "--help") == (code, lazy, "")
    assert all(f"\n  {name} " in lazy for name in BUILTIN_COMMANDS)


def test_every_command_module_is_a_builtin_command():
    from pathlib import Path

    import ganzoo.cli
    from ganzoo.cli import BUILTIN_COMMANDS

    modules = {p.stem for p in Path(ganzoo.cli.__file__).parent.glob("*_cmd.py")}
    assert modules == {module for module, _ in BUILTIN_COMMANDS.values()}


def test_a_command_whose_function_moved_is_loaded_for_help(capsys, monkeypatch):
    from ganzoo.cli import BUILTIN_COMMANDS

    code, expected, _ = ganzoo(capsys, "--help")
    monkeypatch.setitem(BUILTIN_COMMANDS, "plugins", ("plugins_cmd", "renamed"))
    assert ganzoo(capsys, "--help") == (code, expected, "")
