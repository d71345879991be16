"""Plugin discovery through real entry points, each plugin isolated in its own guard."""

from __future__ import annotations

import pytest

from ganzoo.errors import AmbiguousNameError, UnknownNameError
from ganzoo.plugins import PluginHost, get_host

LOSS_PLUGIN = """
    from ganzoo import LogitLoss, hookimpl

    class TinyLoss(LogitLoss):
        '''A throwaway loss for tests.'''

        def __init__(self, scale: float = 1.0) -> None:
            self.scale = scale

        def d_loss_from_logits(self, real_logits, fake_logits):
            return self.scale * (fake_logits - real_logits).mean()

        def g_loss_from_logits(self, fake_logits):
            return -self.scale * fake_logits.mean()

    @hookimpl
    def register_losses(register):
        register({name!r}, TinyLoss)
"""


def statuses() -> dict[str, object]:
    return {p.name: p for p in get_host().plugins}


def test_builtins_load_through_their_entry_points(fresh_host):
    plugins = statuses()
    for name in ("dcgan", "losses", "datasets"):
        assert plugins[name].status == "ok", plugins[name].reason
        assert plugins[name].distribution == "ganzoo"
        assert plugins[name].builtin
    assert get_host().architectures.get("dcgan").plugin == "dcgan"


def test_a_distribution_on_sys_path_is_discovered(plugin_dist):
    plugin_dist("tiny-loss", LOSS_PLUGIN.format(name="tiny"))
    entry = get_host().losses.get("tiny")
    assert (entry.plugin, entry.distribution, entry.version) == ("tiny-loss", "tiny-loss", "1.2.3")
    assert entry.description == "A throwaway loss for tests."
    assert statuses()["tiny-loss"].hooks == ["register_losses"]


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(plugin_dist):
    plugin_dist("broken", "raise ImportError('no module named shiny')\n")
    status = statuses()["broken"]
    assert status.status == "failed"
    assert "ImportError" in status.reason and "shiny" in status.reason
    assert get_host().losses.get("bce")  # every other plugin keeps working


def test_a_plugin_whose_hook_raises_registers_nothing(plugin_dist):
    plugin_dist(
        "raiser",
        """
        from ganzoo import hookimpl
        from ganzoo_losses import BCELoss

        @hookimpl
        def register_losses(register):
            register("half-done", BCELoss)
            raise RuntimeError("boom")
        """,
    )
    assert "boom" in statuses()["raiser"].reason
    with pytest.raises(UnknownNameError):
        get_host().losses.get("half-done")


@pytest.mark.parametrize(
    ("name", "factory", "reason"),
    [
        ("Bad Name", "BCELoss", "invalid loss name"),
        ("-dash", "BCELoss", "invalid loss name"),
        ("notaloss", "int", "is not a subclass of ganzoo.Loss"),
        ("arch-as-loss", "DCGAN", "is not a subclass of ganzoo.Loss"),
        ("abstract", "LogitLoss", "abstract"),
    ],
)
def test_invalid_registrations_are_reported_with_the_reason(plugin_dist, name, factory, reason):
    plugin_dist(
        "invalid",
        f"""
        from ganzoo import hookimpl, LogitLoss
        from ganzoo_losses import BCELoss
        from ganzoo_dcgan import DCGAN

        @hookimpl
        def register_losses(register):
            register({name!r}, {factory})
        """,
    )
    status = statuses()["invalid"]
    assert status.status == "failed" and reason in status.reason


def test_a_hookimpl_that_matches_no_hookspec_is_rejected(plugin_dist):
    plugin_dist(
        "typo",
        """
        from ganzoo import hookimpl

        @hookimpl
        def register_loses(register):
            pass
        """,
    )
    assert "invalid plugin" in statuses()["typo"].reason


def test_a_clash_keeps_both_and_requires_the_qualified_name(plugin_dist):
    plugin_dist("one", LOSS_PLUGIN.format(name="bce"))
    losses = get_host().losses
    with pytest.raises(AmbiguousNameError, match="losses:bce, one:bce"):
        losses.get("bce")
    assert losses.get("one:bce").plugin == "one"
    assert losses.get("losses:bce").plugin == "losses"


def test_external_plugins_can_be_disabled_by_environment(plugin_dist, monkeypatch):
    plugin_dist("tiny-loss", LOSS_PLUGIN.format(name="tiny"))
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "all")
    from ganzoo.plugins import reset_host

    reset_host()
    assert statuses()["tiny-loss"].status == "disabled"
    assert statuses()["losses"].status == "ok"  # built-ins always load
    with pytest.raises(UnknownNameError):
        get_host().losses.get("tiny")


def test_unknown_names_suggest_the_closest(fresh_host):
    with pytest.raises(UnknownNameError, match="did you mean 'lsgan'"):
        get_host().losses.get("lsgam")


def test_in_process_plugins_register_and_unregister():
    host = PluginHost()

    class Plugin:
        from ganzoo import hookimpl

        @hookimpl
        def register_losses(self, register):
            from ganzoo_losses import HingeLoss

            register("my-hinge", HingeLoss)

    assert host.add_plugin(Plugin(), "mine").status == "ok"
    assert host.losses.get("my-hinge").plugin == "mine"
    host.remove_plugin("mine")
    assert len(host.losses) == 0


def test_wildcards_filter_entries(fresh_host):
    names = [e.name for e in get_host().losses.entries("losses:*gan*")]
    assert names == ["lsgan", "wgan", "wgan-gp"]


def test_an_entry_point_name_already_taken_is_reported(plugin_dist):
    plugin_dist("impostor", LOSS_PLUGIN.format(name="other"), entry_point="losses")
    rows = [p for p in get_host().plugins if p.name == "losses"]
    assert [(p.distribution, p.status) for p in rows] == [("ganzoo", "ok"), ("impostor", "failed")]
    assert "already taken by distribution ganzoo" in rows[1].reason
