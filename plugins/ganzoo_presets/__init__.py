"""ganzoo's built-in presets: each built-in loss with the settings of the paper it comes from,
and the recipes ganzoo's quality study measured best (benchmarks/README.md section 12).

``ganzoo run dcgan --preset wgan-gp`` applies a preset under the config file, ``--set`` and the
flags, so anything given explicitly still wins. ``ganzoo list presets`` shows them with their
source.
"""

from ganzoo import Preset, hookimpl

ADAM_DCGAN = {"name": "Adam", "lr": 2e-4, "betas": [0.5, 0.999]}
#: the budget the ``measured`` figures below were taken at
BUDGET = "fashion-mnist 28x28, 5 epochs (4,685 steps) of batch 64, seeds 0-2; benchmarks/README.md section 8"

#: the budget of the quality study (section 12): the same, unconditional
STUDY = "fashion-mnist 28x28, 5 epochs (4,685 steps) of batch 64; benchmarks/README.md section 12"


def study_preset(
    loss: str,
    /,  # so that loss={"params": ...} is a section, not this name
    *,
    lr: float,
    source: str,
    description: str,
    measured: str,
    betas: tuple[float, float] = (0.5, 0.999),
    **sections: dict[str, object],
) -> Preset:
    """A recipe of the quality study: ``loss`` on DCGAN's Adam and 1 D step, at ``lr``.

    ``sections`` add config sections (``reg={...}``) or keys of ``train``, ``optim`` and
    ``loss`` (``train={"ema": True}``); ``measured`` is the figure, to which the study's budget
    is appended.
    """
    if {"lr", "betas"} & set(sections.get("optim", {})):  # one place sets them: the arguments
        raise ValueError(f"study_preset({loss!r}): pass lr and betas as arguments, not in optim=")
    config: dict[str, dict[str, object]] = {**sections}
    # the sections' keys add to the recipe's own, so train={"ema": True} keeps 1 D step
    config["train"] = {"d_steps": 1, **sections.get("train", {})}
    config["optim"] = {**ADAM_DCGAN, "lr": lr, "betas": list(betas), **sections.get("optim", {})}
    config["loss"] = {"name": loss, **sections.get("loss", {})}
    return Preset(
        config,
        source=f"ganzoo's quality study: {source}",
        description=description,
        measured=f"{measured}: {STUDY}",
    )


PRESETS = {
    "dcgan-tuned": study_preset(
        "bce",
        lr=8e-4,
        source="DCGAN's recipe at four times its learning rate (8e-4 for G and D); ganzoo's "
        "defaults since that study",
        description="DCGAN + BCE at lr 8e-4, the best recipe measured at a 5-epoch budget",
        measured="FD 15.1 ± 0.6, precision 0.489, recall 0.754 (seeds 0-2)",
    ),
    "dcgan-wide": study_preset(
        "bce",
        lr=8e-4,
        model={"params": {"ngf": 128}},
        train={"ema": True, "ema_decay": 0.995},
        source="dcgan-tuned with G twice as wide (ngf 128: 1.78M parameters, not 0.76M) and an "
        "EMA of G at decay 0.995; sample and score it with --ema",
        description="the lowest FD measured at a 5-epoch budget, for 1.7x dcgan-tuned's step time "
        "on a CPU",
        measured="FD 14.3 ± 0.3 from the EMA G (--ema), precision 0.509, recall 0.751 (seeds 0-2; "
        "raw G 14.8 ± 2.9); 1.7x the step time of dcgan-tuned",
    ),
    "dcgan-clusters": study_preset(
        "bce",
        lr=8e-4,
        model={"params": {"conditional": True}},
        data={"clusters": 10},
        source="the projection DCGAN (Miyato & Koyama 2018) conditioned on ten balanced k-means "
        "clusters of the images instead of labels (data.clusters; Liu et al. 2020's "
        "self-conditioned GAN), lr 8e-4",
        description="the lowest FD measured at a 5-epoch budget, without labels: a conditional "
        "DCGAN on ten pixel clusters, at dcgan-tuned's step time",
        measured="FD 7.9 ± 1.0, precision 0.656, recall 0.758 (seeds 0-2); the same step time "
        "as dcgan-tuned, plus a few seconds of clustering before the first step",
    ),
    "hinge-tuned": study_preset(
        "hinge",
        lr=8e-4,
        source="the hinge loss on DCGAN's recipe at lr 8e-4, 1 D step, BatchNorm D",
        description="hinge loss at lr 8e-4, the best hinge recipe measured at a 5-epoch budget",
        measured="FD 15.3 ± 0.7, precision 0.495, recall 0.756 (seeds 0-2)",
    ),
    "lsgan-tuned": study_preset(
        "lsgan",
        lr=1.6e-3,
        optim={"lr_d": 8e-4},
        loss={"params": {"a": -1.0, "b": 1.0, "c": 0.0}},
        source="LSGAN with the paper's Pearson coding (a-b-c = -1, 1, 0) on DCGAN's recipe, G at "
        "lr 1.6e-3 and D at 8e-4 (G twice D's rate: LSGAN's G is the slow learner)",
        description="LSGAN with G at twice D's lr (1.6e-3, 8e-4), Pearson coding, the best "
        "LSGAN recipe measured at a 5-epoch budget",
        measured="FD 21.6 ± 1.6, precision 0.461, recall 0.736 (seeds 0-2)",
    ),
    "mmd-tuned": study_preset(
        "mmd",
        lr=8e-4,
        source="BCE + MMD^2 in D's features on DCGAN's recipe at lr 8e-4",
        description="MMD-regularised BCE at lr 8e-4, the best MMD recipe measured at a 5-epoch budget",
        measured="FD 15.2 ± 1.5, precision 0.500, recall 0.769 (seeds 0-2)",
    ),
    "wgan-gp-tuned": study_preset(
        "wgan-gp",
        lr=4e-4,
        betas=(0.5, 0.9),
        source="WGAN-GP (lambda 10) on DCGAN's BatchNorm networks with 1 critic step, Adam lr "
        "4e-4, betas (0.5, 0.9)",
        description="WGAN-GP at 1 critic step and lr 4e-4, the best WGAN-GP recipe measured at "
        "a 5-epoch budget",
        measured="FD 18.1 ± 0.7, precision 0.498, recall 0.689 (seeds 0-2)",
    ),
    "dcgan": Preset(
        {"loss": {"name": "bce"}, "train": {"d_steps": 1}, "optim": ADAM_DCGAN},
        source="Radford et al. 2015 (DCGAN): Adam lr 2e-4, betas (0.5, 0.999), 1 D step",
        description="DCGAN with the non-saturating BCE loss, as in the paper",
        measured=f"FD 25.2 ± 2.2 (ganzoo-fmnist, 10k vs test): {BUDGET}",
    ),
    "lsgan": Preset(
        {"loss": {"name": "lsgan", "params": {"a": 0.0, "b": 1.0, "c": 1.0}}, "optim": ADAM_DCGAN},
        source="Mao et al. 2017 (LSGAN): a-b-c = 0-1-1, Adam lr 2e-4, beta1 0.5",
        description="least-squares GAN with the paper's 0-1-1 coding",
    ),
    "hinge": Preset(
        {
            "loss": {"name": "hinge"},
            "train": {"d_steps": 5},
            "optim": {"name": "Adam", "lr": 2e-4, "betas": [0.0, 0.9]},
        },
        source="Miyato et al. 2018 (SN-GAN): hinge loss, n_dis 5, Adam lr 2e-4, betas (0, 0.9)",
        description="hinge loss with SN-GAN's optimiser settings",
    ),
    "wgan-gp": Preset(
        {
            "loss": {"name": "wgan"},
            "reg": {"gp": {"lambda_gp": 10.0}},
            "train": {"d_steps": 5},
            "optim": {"name": "Adam", "lr": 1e-4, "betas": [0.0, 0.9]},
        },
        source="Gulrajani et al. 2017 (WGAN-GP): lambda 10, n_critic 5, Adam lr 1e-4, betas (0, 0.9)",
        description="Wasserstein loss + gradient penalty, the paper's settings",
    ),
    "wgan": Preset(
        {
            "loss": {"name": "wgan"},
            "reg": {"clip": {"clip_value": 0.01}},
            "train": {"d_steps": 5},
            "optim": {"name": "RMSprop", "lr": 5e-5},
        },
        source="Arjovsky et al. 2017 (WGAN): weight clipping 0.01, n_critic 5, RMSprop lr 5e-5",
        description="the original WGAN: weight clipping and RMSprop",
    ),
    "cgan-pd": Preset(
        {
            "model": {"name": "dcgan", "params": {"conditional": True}},
            "loss": {"name": "bce"},
            "optim": ADAM_DCGAN,
        },
        source="Miyato & Koyama 2018 (cGANs with Projection Discriminator) on DCGAN, with "
        "conditional BatchNorm in G and DCGAN's Adam settings",
        description="class-conditional DCGAN: projection D, conditional BatchNorm G",
        measured=f"FD 6.9 ± 0.2, class accuracy 0.901 ± 0.003: {BUDGET}",
    ),
    "acgan": Preset(
        {
            "model": {
                "name": "dcgan",
                "params": {"conditional": True, "d_conditioning": "classifier"},
            },
            "loss": {"name": "bce"},
            "reg": {"acgan": {"weight": 1.0}},
            "optim": ADAM_DCGAN,
        },
        source="Odena et al. 2017 (ACGAN): auxiliary classifier on D, class loss weight 1 for "
        "D and G, BCE, Adam lr 2e-4, beta1 0.5",
        description="class-conditional DCGAN trained with an auxiliary classifier (ACGAN)",
        measured=f"FD 14.3 ± 2.0, class accuracy 0.897 ± 0.038: {BUDGET}",
    ),
    "mmd": Preset(
        {"loss": {"name": "mmd"}, "optim": ADAM_DCGAN},
        source="BCE + MMD^2 in D's features (Li et al. 2015 kernels) with DCGAN's Adam settings",
        description="ganzoo's MMD-regularised BCE with DCGAN's optimiser",
    ),
}


@hookimpl
def register_presets(register):  # type: ignore[no-untyped-def]
    for name, preset in PRESETS.items():
        register(name, preset, description=preset.description)
