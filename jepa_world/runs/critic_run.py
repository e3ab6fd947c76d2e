"""Fit a latent critic for a world-model run: ``jepa-world critic RUN --out DIR``; load it back for ``eval --critic``.

The run's model encodes reward-free trajectories of its own data distribution (the data config the run
recorded, streamed with a seed neither training nor diagnosis uses, :data:`CRITIC_SEED`), one latent per
model step (every ``frameskip`` frames); the critic (nn/latent_critic.py, convolutional on a spatial latent) is
fitted by relabelled expectile TD (adapt/critic_fit.py). Nothing here reads a position to train.

Afterwards, outside any control loop, the fit is checked on held-out trajectories: the Spearman rank correlation
with the true distance (px, between two frames of one trajectory) of the critic's value and of the plain latent
distance. The output directory holds ``critic.safetensors`` and ``critic.json`` (configs, the run it belongs
to, the checks, timings); it is written to a temporary sibling and renamed, never over an existing directory
unless ``overwrite``, and never inside the run directory.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from jepa_world.adapt.critic_fit import CriticFitConfig, fit_critic
from jepa_world.config import from_dict
from jepa_world.errors import UserError
from jepa_world.eval.rank_correlation import spearman
from jepa_world.nn.latent_critic import LatentCritic, LatentCriticConfig
from jepa_world.planning.blurred_cost import SpatialLatent
from jepa_world.planning.protocols import FrameskipModel
from jepa_world.presets.world_model import KIND, make_stream
from jepa_world.runs.load import load_method
from jepa_world.runs.world_model_run import held_out_data, recorded_data
from jepa_world.train.run_paths import RunPaths

CRITIC_SEED = 2_000_003
"""Seed of the critic's trajectory stream (training uses small data seeds, diagnosis 1_000_003)."""
CHECK_SEED = 3_000_017
"""Seed of the held-out trajectories the fitted critic is checked on."""
WEIGHTS, META = "critic.safetensors", "critic.json"


@dataclass
class CriticRunConfig:
    """What ``jepa-world critic`` fits and on how much data."""

    trajectories: int = 1000
    """Reward-free trajectories encoded for the fit."""
    model_steps: int = 20
    """Model steps per trajectory (latents per sequence - 1); env steps = model_steps * frameskip."""
    channels: int = 32
    """Channels of the critic's convolutional trunk (spatial latents)."""
    hidden: int = 128
    """Width of the critic's MLP."""
    fit: CriticFitConfig = field(default_factory=CriticFitConfig)
    """The TD fit (steps, batch, lr, gamma, expectile, relabelling shares)."""
    check_trajectories: int = 200
    """Held-out trajectories of the rank-correlation check."""

    def validate(self) -> None:
        """Raise ValueError naming the first impossible field."""
        if min(self.trajectories, self.model_steps, self.check_trajectories) < 1:
            raise ValueError(f"CriticRunConfig needs trajectories, model_steps, check_trajectories >= 1, got "
                             f"{self.trajectories}, {self.model_steps}, {self.check_trajectories}")
        self.fit.validate()


def stride_of(model: nn.Module) -> int:
    """Environment steps per model step: the frameskip of a FrameskipModel, else 1."""
    return model.frameskip if isinstance(model, FrameskipModel) else 1


@torch.no_grad()
def encoded_trajectories(model: nn.Module, data: Any, n: int, model_steps: int, *, seed: int,
                         chunk: int = 50) -> tuple[Tensor, Tensor]:
    """n trajectories of the data config, every ``stride_of(model)``-th frame: (latents (n, L, D),
    positions (n, L, 2)), L = model_steps + 1."""
    stride = stride_of(model)
    stream = make_stream(replace(data, length=1 + stride * model_steps), chunk, seed=seed)
    latents, positions = [], []
    for step in range((n + chunk - 1) // chunk):
        batch = stream(step)
        obs = batch["obs"][:, ::stride]  # (B, L, C, H, W)
        z = model.encode(obs.flatten(0, 1)).reshape(obs.shape[0], obs.shape[1], -1)
        latents.append(z)
        positions.append(batch["positions"][:, ::stride])
    return torch.cat(latents)[:n], torch.cat(positions)[:n]


def make_critic(model: nn.Module, latent_dim: int, config: CriticRunConfig) -> LatentCritic:
    """A critic shaped for the model's latent (convolutional when it declares a spatial layout)."""
    shape = tuple(model.latent_shape) if isinstance(model, SpatialLatent) else None
    return LatentCritic(LatentCriticConfig(latent_dim=latent_dim, latent_shape=shape, channels=config.channels,
                                           hidden=config.hidden))


@torch.no_grad()
def rank_check(critic: LatentCritic, latents: Tensor, positions: Tensor) -> dict[str, float]:
    """Spearman correlation with the true px distance, over every (t, t') frame pair of each held-out trajectory,
    of the critic's value and of the latent l2 distance."""
    m, length, _ = latents.shape
    i, j = torch.triu_indices(length, length, offset=1)
    z, g = latents[:, i].flatten(0, 1), latents[:, j].flatten(0, 1)  # (m * pairs, D)
    true = torch.linalg.vector_norm(positions[:, i] - positions[:, j], dim=-1).flatten()
    value = torch.cat([critic(a, b) for a, b in zip(z.split(4096), g.split(4096), strict=True)])
    plain = torch.linalg.vector_norm(z - g, dim=-1)
    return {"spearman_critic": spearman(value, true), "spearman_latent_l2": spearman(plain, true),
            "pairs": int(true.numel())}


def train_critic(run_dir: Path | str, out: Path | str, config: CriticRunConfig, *, overwrite: bool = False,
                 progress: bool = False) -> dict[str, Any]:
    """Fit a critic for the world-model run ``run_dir`` and write it to ``out``; returns what critic.json holds."""
    config.validate()
    run_dir, out = Path(run_dir), Path(out)
    _check_out(run_dir, out, overwrite)
    model, run_config = load_method(run_dir, expected_kind=KIND)
    data = held_out_data(run_config["model"].get("env"), recorded_data(RunPaths(run_dir)))
    start = time.perf_counter()
    latents, _ = encoded_trajectories(model, data, config.trajectories, config.model_steps, seed=CRITIC_SEED)
    encode_s = time.perf_counter() - start
    critic = make_critic(model, latents.shape[-1], config)
    losses = fit_critic(critic, latents, config.fit, progress=progress)
    fit_s = time.perf_counter() - start - encode_s
    check = rank_check(critic.eval(), *encoded_trajectories(model, data, config.check_trajectories,
                                                             config.model_steps, seed=CHECK_SEED))
    meta = {"kind": "latent_critic", "run": str(run_dir.resolve()), "critic": dataclasses.asdict(critic.config),
            "config": dataclasses.asdict(config), "stride": stride_of(model), "encode_s": round(encode_s, 1),
            "fit_s": round(fit_s, 1), "loss_first": losses[0], "loss_last": sum(losses[-50:]) / len(losses[-50:]),
            "check": check}
    _write(out, critic, meta, overwrite)
    return meta


def load_critic(path: Path | str) -> LatentCritic:
    """The critic saved in ``path`` (a ``jepa-world critic`` output directory), in eval mode."""
    path = Path(path)
    if not (path / META).is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"--critic {path}: not a critic directory (needs {META} and {WEIGHTS}; "
                        f"make one with `jepa-world critic RUN --out {path}`)")
    meta = json.loads((path / META).read_text())
    cfg = from_dict(LatentCriticConfig, {**meta["critic"], "latent_shape": _shape(meta["critic"]["latent_shape"])})
    critic = LatentCritic(cfg)
    critic.load_state_dict(load_file(str(path / WEIGHTS)))
    return critic.eval().requires_grad_(False)


def _shape(value: Any) -> tuple[int, int, int] | None:
    return None if value is None else tuple(int(v) for v in value)


def _check_out(run_dir: Path, out: Path, overwrite: bool) -> None:
    """Refuse an output inside the run directory, or an existing one without ``overwrite`` (or not a critic)."""
    if out.resolve() == run_dir.resolve() or run_dir.resolve() in out.resolve().parents:
        raise UserError(f"--out {out} is inside the run directory {run_dir}: a critic never writes into a run")
    if out.exists():
        if not overwrite:
            raise UserError(f"--out {out} exists; pass --overwrite to replace it")
        if not (out / META).is_file():
            raise UserError(f"--out {out} exists and is not a critic directory; refusing to replace it")


def _write(out: Path, critic: LatentCritic, meta: dict[str, Any], overwrite: bool) -> None:
    """Write into a temporary sibling, then move it into place (an interrupted write leaves nothing at ``out``)."""
    tmp = out.parent / f".{out.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous() for k, v in critic.state_dict().items()}, str(tmp / WEIGHTS))
    (tmp / META).write_text(json.dumps(meta, indent=2))
    if overwrite and out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
