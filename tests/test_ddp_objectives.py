"""Batch-wide objectives under DDP: 2 processes x B/2 must train exactly like 1 process x B.

The oracle is the one-process run itself: the same method, seeds and batch through the real ``train`` loop.
One ``torchrun --nproc-per-node=2`` launch trains every case for one optimizer step (each rank gets its half
of the fixed batch) and saves its parameters, buffers and gradients; the test trains the same cases in one
process and compares (:func:`compare`). The gradients are the sharp oracle (grad_clip=0, so they are the raw
DDP-averaged ones; AdamW's first update is ``lr * g / |g|``, blind to a gradient's scale); the buffers
(BatchNorm running statistics, DINO's centre) and the parameters after the step are compared too.

Gradient elements that are exactly zero in exact arithmetic (a bias before BatchNorm, the attention keys'
bias, a shift every term ignores) are fp32 rounding noise in both runs, and Adam turns noise into a full
``lr``-sized step whose sign depends on the summation order. Those elements (below ``DEAD`` of the largest
gradient) are checked to be numerically zero in both runs instead of compared relatively.

Cases without gathering or without synchronised BatchNorm must differ, so the comparison can fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.methods.joint_embedding import JointEmbedding, JointEmbeddingConfig
from jepa_world.methods.keypoint_world_model import KeypointWorldModel, KeypointWorldModelConfig
from jepa_world.methods.spatial_world_model import SpatialLossWeights, SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.methods.video_jepa import VideoJEPA, VideoJEPAConfig
from jepa_world.methods.world_model import JEPAWorldModel, LossWeights, WorldModelConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.encoders import ImpalaConfig
from jepa_world.nn.frame_encoder import FrameEncoderConfig
from jepa_world.nn.frame_predictor import FramePredictorConfig
from jepa_world.nn.heads import DINOHeadConfig, HeadConfig
from jepa_world.nn.keypoint_map import KeypointMapConfig
from jepa_world.nn.predictors import PredictorConfig
from jepa_world.nn.raymarch import RayMarchConfig
from jepa_world.nn.resnet import ResNetConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.nn.vit import ViTConfig
from jepa_world.objectives.distributed import (
    all_reduce_mean,
    all_reduce_sum,
    gather_batch,
    gather_batch_with_offset,
    global_batch_mean,
    is_distributed,
    same_on_all_ranks,
    world_size,
)
from jepa_world.objectives.sync_batch_norm import GatheredBatchNorm, convert_batch_norms
from jepa_world.objectives.vicreg import covariance_term, variance_term
from jepa_world.train import TrainConfig, train

BATCH = 8
STEPS = 1
TOL = 1e-5
DEAD = 1e-5
"""Gradient elements below DEAD x the largest one are rounding noise of an exactly-zero gradient."""


class Halves:
    """A fixed batch; under DDP rank r gets the r-th of W equal shards along each key's batch axis."""

    def __init__(self, batch: dict[str, Tensor], axis: int) -> None:
        self.batch, self.axis, self.rank, self.world = batch, axis, 0, 1

    def set_shard(self, shard) -> None:
        self.rank, self.world = shard.rank, shard.world_size

    def __call__(self, step: int) -> dict[str, Tensor]:
        return {k: v.chunk(self.world, dim=self.axis)[self.rank] for k, v in self.batch.items()}


def _joint(objective: str, **changes) -> JointEmbedding:
    vit = BackboneConfig(vit=ViTConfig(image_size=16, in_channels=1, patch_size=4, dim=16, depth=1, heads=2))
    resnet = BackboneConfig(kind="resnet", resnet=ResNetConfig(in_channels=1, widths=(4, 8)))
    cfg = JointEmbeddingConfig(objective=objective, backbone=resnet if objective == "dino" else vit,
                               projector=HeadConfig(hidden=32, out_dim=16),  # BatchNorm in the hidden layer
                               infonce_temperature=0.5, **changes)
    cfg.dino.head = DINOHeadConfig(hidden=16, bottleneck=8, out_dim=16, layers=2, norm="bn")
    cfg.dino.center_momentum = 0.5
    torch.manual_seed(0)
    return JointEmbedding(cfg)


def _views() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"views": torch.randn(2, BATCH, 1, 16, 16, generator=g)}


def _world_model(gather: bool = True) -> SpatialWorldModel:
    cfg = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(channels=(8, 8, 8), latent_channels=4),
                                  predictor=SpatialPredictorConfig(latent_channels=4, action_dim=4, hidden=8),
                                  frameskip=2, weights=SpatialLossWeights(sigreg=1.0), gather=gather)
    torch.manual_seed(0)
    return SpatialWorldModel(cfg)


def _windows() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(2)
    return {"obs": torch.rand(BATCH, 5, 2, 65, 65, generator=g), "actions": torch.randn(BATCH, 4, 2, generator=g),
            "positions": 64 * torch.rand(BATCH, 5, 2, generator=g)}


def _flat_world_model() -> JEPAWorldModel:
    enc = ImpalaConfig(channels=(4, 8), embed_dim=8, keypoints=4, flat_dims=3)
    torch.manual_seed(0)
    cfg = WorldModelConfig(encoder=enc, predictor=PredictorConfig(latent_dim=8, hidden=16), idm_hidden=16,
                           weights=LossWeights(sigreg=1.0))
    return JEPAWorldModel(cfg)


def _flat_windows() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(3)
    return {"obs": torch.rand(BATCH, 3, 2, 65, 65, generator=g), "actions": torch.randn(BATCH, 2, 2, generator=g),
            "positions": 64 * torch.rand(BATCH, 3, 2, generator=g)}


def _keypoint_model() -> KeypointWorldModel:
    torch.manual_seed(0)
    return KeypointWorldModel(KeypointWorldModelConfig(encoder=KeypointMapConfig(map_size=8, map_channels=4),
                                                       predictor=RayMarchConfig(map_size=8)))


def _two_rooms_windows() -> dict[str, Tensor]:
    return dict(TwoRoomsStream(BATCH, TwoRoomsDataConfig(length=4), seed=0)(0))


def _video_jepa() -> VideoJEPA:
    cfg = VideoJEPAConfig(encoder=FrameEncoderConfig(patch=4, stem_channels=8, channels=(8,), dim=6),
                          predictor=FramePredictorConfig(dim=6, context=2, hidden=8), regularizer="sigreg",
                          sigreg_samples=64)  # a random subset of the 8 * 4 * 64 cell vectors
    torch.manual_seed(0)
    return VideoJEPA(cfg)


def _clips() -> dict[str, Tensor]:
    return {"frames": torch.rand(BATCH, 4, 1, 64, 64, generator=torch.Generator().manual_seed(5))}


CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[], dict[str, Tensor]], int, dict]] = {
    "vicreg": (lambda: _joint("vicreg"), _views, 1, {}),
    "sigreg": (lambda: _joint("sigreg"), _views, 1, {}),
    "infonce": (lambda: _joint("infonce"), _views, 1, {}),
    "dino": (lambda: _joint("dino"), _views, 1, {}),
    "world_model": (_world_model, _windows, 0, {}),
    "flat_world_model": (_flat_world_model, _flat_windows, 0, {}),
    "keypoint_world_model": (_keypoint_model, _two_rooms_windows, 0, {}),
    "video_jepa_sigreg": (_video_jepa, _clips, 0, {}),
    "vicreg_no_gather": (lambda: _joint("vicreg", gather=False), _views, 1, {}),
    "world_model_no_gather": (lambda: _world_model(gather=False), _windows, 0, {}),
    "dino_no_sync_bn": (lambda: _joint("dino"), _views, 1, {"sync_batchnorm": False}),
}
"""name -> (method builder, full-batch builder, batch axis, TrainConfig changes)."""
EXACT = ("vicreg", "sigreg", "infonce", "dino", "world_model", "flat_world_model", "keypoint_world_model",
         "video_jepa_sigreg")


def train_case(name: str, run_dir: Path) -> dict[str, dict[str, Tensor]]:
    """Train one case for STEPS steps through the real loop; its state_dict and last gradients."""
    build, batch, axis, changes = CASES[name]
    method = build()
    cfg = TrainConfig(steps=STEPS, lr=1e-2, warmup_steps=0, grad_clip=0.0, log_every=1, ckpt_every=0,
                      diag_every=0, progress=False, tensorboard=False, device="cpu", seed=3, threads=1, **changes)
    train(method, Halves(batch(), axis), cfg, run_dir=run_dir, kind="ddp_case", model_config={"case": name})
    grads = {k: p.grad.detach().clone() for k, p in method.named_parameters() if p.grad is not None}
    return {"state": {k: v.detach().clone() for k, v in method.state_dict().items()}, "grads": grads}


def _relative(got: Tensor, want: Tensor) -> float:
    """||got - want|| / ||want|| in float64 (the absolute error where want is zero)."""
    diff, norm = (got.double() - want.double()).norm(), want.double().norm()
    return float(diff / norm) if norm > 0 else float(diff)


def compare(ddp: dict[str, dict[str, Tensor]], single: dict[str, dict[str, Tensor]]) -> dict[str, float]:
    """The relative error of every gradient and state tensor (parameters on their live elements; an EMA
    teacher's copy ``teacher.<name>`` uses ``<name>``'s elements), and ``"dead"``: the largest noise gradient
    over the largest gradient, in either run (module docstring)."""
    assert sorted(ddp["grads"]) == sorted(single["grads"]) and sorted(ddp["state"]) == sorted(single["state"])
    top = max(float(g.abs().max()) for g in single["grads"].values())
    live = {k: g.abs() > DEAD * top for k, g in single["grads"].items()}
    errors, dead = {}, 0.0
    for key, want in single["grads"].items():
        got, mask = ddp["grads"][key], live[key]
        errors[f"grad {key}"] = _relative(got[mask], want[mask])
        noise = torch.cat([got[~mask], want[~mask], torch.zeros(1)])
        dead = max(dead, float(noise.abs().max()) / top)
    for key, want in single["state"].items():
        mask = live.get(key.removeprefix("teacher."), torch.ones_like(want, dtype=torch.bool))
        errors[f"state {key}"] = _relative(ddp["state"][key][mask], want[mask])
    return {**errors, "dead": dead}


def worst(errors: dict[str, float], n: int = 3) -> list[tuple[str, float]]:
    return sorted(errors.items(), key=lambda kv: -kv[1])[:n]


# ------------------------------------------------------------------------------ the gather's gradient

GATHER_SPLIT = (3, 5)
"""Unequal shards of the 8 rows in the gather checks."""


def gather_input() -> Tensor:
    return torch.randn(sum(GATHER_SPLIT), 6, generator=torch.Generator().manual_seed(4))


def batch_loss(x: Tensor) -> Tensor:
    """A loss of the whole batch: x (N, D) -> ()."""
    return 3 * variance_term(x) + covariance_term(x) + x.pow(3).mean()


def batch_norm_layer() -> nn.BatchNorm1d:
    torch.manual_seed(6)
    bn = nn.BatchNorm1d(6, momentum=0.3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0), bn.bias.normal_()
    return bn


def gather_checks() -> dict[str, Tensor]:
    """Run on every rank with its unequal shard of gather_input(): the gather of it and the gradient of
    batch_loss of the gathered batch; a GatheredBatchNorm's output, running statistics and input gradient
    under the loss sum(out * coefficients); the other helpers' values."""
    rank = torch.distributed.get_rank()
    start = sum(GATHER_SPLIT[:rank])
    rows = slice(start, start + GATHER_SPLIT[rank])
    x = gather_input()[rows].clone().requires_grad_(True)
    gathered, offset = gather_batch_with_offset(x)
    batch_loss(gathered).backward()
    bn_in = gather_input()[rows].clone().requires_grad_(True)
    net = nn.Sequential(batch_norm_layer())
    convert_batch_norms(net)
    bn_out = net(bn_in)
    (bn_out * torch.linspace(-1, 2, 48).view(8, 6)[rows]).sum().backward()
    total = all_reduce_sum(x.sum(dim=0, keepdim=True))
    return {"gathered": gathered.detach(), "offset": torch.tensor(offset), "grad": x.grad,
            "bn_out": bn_out.detach(), "bn_grad": bn_in.grad, "bn_state": net[0].state_dict(),
            "mean": global_batch_mean(x.detach()), "shared": same_on_all_ranks(torch.full((2,), float(rank))),
            "rank_mean": all_reduce_mean(torch.tensor([float(rank)])), "sum": total.detach(),
            "world": torch.tensor(world_size())}


_WORKER = """
import os, sys
from pathlib import Path
import torch
import torch.distributed as dist
sys.path.insert(0, {tests!r})
import test_ddp_objectives as t

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
out = Path({out!r})
torch.save(t.gather_checks(), out / f"gather_rank{{rank}}.pt")
for name in t.CASES:
    torch.save(t.train_case(name, out / f"{{name}}_ddp"), out / f"{{name}}_rank{{rank}}.pt")
dist.barrier()
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory) -> Path:
    """One torchrun launch (fresh processes: a fork of a pytest worker can deadlock) runs every check."""
    out = tmp_path_factory.mktemp("ddp_objectives")
    script = out / "worker.py"
    script.write_text(_WORKER.format(tests=str(Path(__file__).parent), out=str(out)))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(script)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stdout[-1000:] + done.stderr[-3000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", EXACT)
def test_two_processes_half_batches_train_like_one_process_whole_batch(ddp_results, tmp_path, name):
    ranks = [torch.load(ddp_results / f"{name}_rank{r}.pt") for r in (0, 1)]
    single = train_case(name, tmp_path / "single")
    for key, value in ranks[0]["state"].items():  # every rank holds the same model, buffers included
        assert torch.equal(value, ranks[1]["state"][key]), key
    errors = compare(ranks[0], single)
    assert errors.pop("dead") <= 10 * DEAD
    assert max(errors.values()) <= TOL, worst(errors)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "exact"), [("vicreg_no_gather", "vicreg"), ("world_model_no_gather", "world_model"),
                                             ("dino_no_sync_bn", "dino")])
def test_without_gathering_or_synced_batchnorm_ddp_differs(ddp_results, tmp_path, name, exact):
    ddp = torch.load(ddp_results / f"{name}_rank0.pt")
    single = train_case(exact, tmp_path / "single")  # the same model and data, one process
    errors = compare(ddp, single)
    assert max(v for k, v in errors.items() if k.startswith("grad")) > 1e-2, worst(errors)


@pytest.mark.slow
def test_gathered_batchnorm_on_unequal_shards_is_batchnorm_of_the_whole_batch(ddp_results):
    bn, x = batch_norm_layer(), gather_input().requires_grad_(True)
    out = bn(x)
    (out * torch.linspace(-1, 2, 48).view(8, 6)).sum().backward()  # the sum of the two ranks' losses
    for rank in (0, 1):
        got = torch.load(ddp_results / f"gather_rank{rank}.pt")
        rows = slice(sum(GATHER_SPLIT[:rank]), sum(GATHER_SPLIT[:rank + 1]))
        torch.testing.assert_close(got["bn_out"], out.detach()[rows], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got["bn_grad"], x.grad[rows], rtol=1e-5, atol=1e-6)
        for key, value in bn.state_dict().items():
            torch.testing.assert_close(got["bn_state"][key], value, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_gather_forward_is_the_whole_batch_and_backward_the_one_process_gradient(ddp_results):
    x = gather_input().requires_grad_(True)
    batch_loss(x).backward()  # the one-process gradient of the whole batch
    for rank in (0, 1):
        got = torch.load(ddp_results / f"gather_rank{rank}.pt")
        start, n = sum(GATHER_SPLIT[:rank]), GATHER_SPLIT[rank]
        assert torch.equal(got["gathered"], x.detach()) and int(got["offset"]) == start
        # every rank computed the same loss; DDP would divide the sum of W equal gradients by W = 2
        torch.testing.assert_close(got["grad"], 2 * x.grad[start:start + n], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(got["mean"], x.detach().mean(dim=0), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(got["sum"], x.detach().sum(dim=0, keepdim=True), rtol=1e-6, atol=1e-6)
        assert got["shared"].tolist() == [0.0, 0.0] and got["rank_mean"].tolist() == [0.5]
        assert int(got["world"]) == 2


# ------------------------------------------------------------------------------ one process: no-ops


def test_without_a_process_group_every_helper_is_the_identity():
    assert not is_distributed() and world_size() == 1
    x = torch.randn(5, 3, requires_grad=True)
    assert gather_batch(x) is x and gather_batch_with_offset(x, dim=1) == (x, 0)
    assert all_reduce_sum(x) is x and same_on_all_ranks(x) is x and all_reduce_mean(x) is x
    assert torch.equal(global_batch_mean(x), x.detach().mean(dim=0))
    gather_batch(x).pow(2).sum().backward()
    assert torch.equal(x.grad, 2 * x.detach())


@pytest.mark.parametrize("shape", [(6, 4), (6, 4, 5, 3)])
def test_gathered_batchnorm_alone_is_batchnorm_in_train_and_eval(shape):
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(4) if len(shape) == 2 else nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.normal_()
    net, ref = nn.Sequential(bn), nn.Sequential(type(bn)(4))
    ref.load_state_dict(net.state_dict())
    weight = bn.weight
    assert convert_batch_norms(net) == 1 and convert_batch_norms(net) == 0
    assert isinstance(net[0], GatheredBatchNorm) and net[0].weight is weight  # the optimizer's tensors
    x = torch.randn(*shape) * 3 + 1
    for mode in (True, True, False):
        net.train(mode), ref.train(mode)
        assert torch.equal(net(x), ref(x))
    for key, value in ref.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key
