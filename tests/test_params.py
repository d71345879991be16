"""Plugin parameters described for `ganzoo info` and `ganzoo list --params`: signature + docstring."""

from __future__ import annotations

import json

from ganzoo.params import args_section, describe_params

from .test_cli import ganzoo


class Documented:
    """A factory documented the Google way.

    Args:
        gamma: the weight, over
            two lines.
        mode (str): ``"a"`` or ``"b"``.

    Returns:
        nothing: this section is not parameters.
    """

    def __init__(self, gamma: float = 10.0, mode: str = "a", *, size, widths=(1, 2)) -> None:
        pass


def test_parameters_have_type_default_and_their_docstring_entry():
    described = {p.name: p.as_dict() for p in describe_params(Documented)}
    assert described == {
        "gamma": {
            "name": "gamma",
            "type": "float",
            "default": 10.0,
            "required": False,
            "doc": "the weight, over two lines.",
        },
        "mode": {
            "name": "mode",
            "type": "str",
            "default": "a",
            "required": False,
            "doc": '``"a"`` or ``"b"``.',
        },
        "size": {"name": "size", "type": "", "default": None, "required": True, "doc": ""},
        "widths": {
            "name": "widths",
            "type": "tuple",
            "default": [1, 2],
            "required": False,
            "doc": "",
        },
    }


def test_a_docstring_without_args_documents_nothing():
    assert args_section("One line.\n\nMore text: with a colon.") == {}


def test_info_shows_every_entry_of_a_name_with_its_parameters(capsys, fresh_host):
    code, out, err = ganzoo(capsys, "info", "r1", "--json")
    assert code == 0, err
    [r1] = json.loads(out)
    assert r1["kind"] == "regularizers" and r1["config_table"] == "reg.r1"
    gamma = next(p for p in r1["params"] if p["name"] == "gamma")
    assert (gamma["type"], gamma["default"]) == ("float", 10.0)
    assert gamma["doc"].startswith("the weight.")
    code, out, _ = ganzoo(capsys, "info", "lsgan", "--json")
    assert [e["kind"] for e in json.loads(out)] == ["losses", "presets"]
    code, out, _ = ganzoo(capsys, "info", "r1")
    assert code == 0 and "--set reg.r1.NAME=VALUE" in out and "gamma" in out and "10.0" in out


def test_info_on_an_unknown_name_suggests_the_closest(capsys, fresh_host):
    assert ganzoo(capsys, "info", "r11") == (
        2,
        "",
        "error: unknown name 'r11'; did you mean 'r1'?\n",
    )


def test_list_params_adds_every_entrys_parameters(capsys, fresh_host):
    code, out, _ = ganzoo(capsys, "list", "losses", "--params", "--json")
    lsgan = next(e for e in json.loads(out)["losses"] if e["name"] == "lsgan")
    assert code == 0 and [(p["name"], p["default"]) for p in lsgan["params"]] == [
        ("a", 0.0),
        ("b", 1.0),
        ("c", 1.0),
    ]
    code, out, _ = ganzoo(capsys, "list", "losses", "lsgan", "--params")
    assert code == 0 and "a: float = 0.0" in out
