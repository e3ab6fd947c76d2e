"""Benchmark: the cost of DDP-exact batch-wide objectives (gathered terms, synchronised BatchNorm).

Trains a small joint-embedding method (ViT backbone, BatchNorm projector) through the real training loop
on a fixed batch, three ways: gather + sync_batchnorm (the defaults), gather only, neither; and reports
the mean seconds per step after a warm-up. Run it under torchrun (it also runs in one process, where the
three ways are the same code path):

    torchrun --standalone --nproc-per-node=2 bench/ddp_objectives.py --objective vicreg --batch 128

Prints one JSON object (rank 0) on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist

from jepa_world.methods.joint_embedding import JointEmbedding, JointEmbeddingConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.heads import HeadConfig
from jepa_world.nn.vit import ViTConfig
from jepa_world.train import TrainConfig, train


class FixedShard:
    """The same (2, B, 1, 32, 32) views every step; rank r of W trains on its B / W images."""

    def __init__(self, batch: int) -> None:
        self.views = torch.randn(2, batch, 1, 32, 32, generator=torch.Generator().manual_seed(0))
        self.rank, self.world = 0, 1

    def set_shard(self, shard) -> None:
        """data/sharding.py's StreamShard: only its rank and world size matter for a fixed batch."""
        self.rank, self.world = shard.rank, shard.world_size

    def __call__(self, step: int) -> dict[str, torch.Tensor]:
        return {"views": self.views.chunk(self.world, dim=1)[self.rank]}


def seconds_per_step(objective: str, batch: int, steps: int, *, gather: bool, sync_bn: bool, root: Path) -> float:
    """Mean wall seconds of one optimizer step: the loop's own steps/s over ``steps`` steps after 2 warm-up ones
    (a first session of 2 steps, then a resumed one; set-up and saving are not timed)."""
    cfg = JointEmbeddingConfig(objective=objective, gather=gather, projector=HeadConfig(hidden=256, out_dim=128),
                               backbone=BackboneConfig(vit=ViTConfig(image_size=32, in_channels=1, patch_size=8,
                                                                     dim=96, depth=4, heads=4)))
    torch.manual_seed(0)
    method = JointEmbedding(cfg)
    train_cfg = TrainConfig(steps=steps + 2, warmup_steps=0, log_every=10**6, ckpt_every=0, diag_every=0,
                            progress=False, tensorboard=False, device="cpu", sync_batchnorm=sync_bn)
    name = f"{objective}-{gather}-{sync_bn}"
    train(method, FixedShard(batch), TrainConfig(**{**vars(train_cfg), "steps": 2}), run_dir=root / name,
          kind="bench", model_config={})
    _barrier()  # rank 0 has saved the warm-up checkpoint the timed session resumes from
    timed = train(method, FixedShard(batch), train_cfg, run_dir=root / name, kind="bench", model_config={})
    return 1.0 / timed.last_metrics["train/steps_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--objective", default="vicreg", help="vicreg | sigreg | infonce | dino")
    ap.add_argument("--batch", type=int, default=128, help="global batch (images; each in two views)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per variant")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--root", default=str(Path(tempfile.gettempdir()) / "jepa_world_ddp_objectives_bench"),
                    help="scratch run directories, the same path for every rank (emptied first, removed after)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
    out = {"objective": args.objective, "global_batch": args.batch, "steps": args.steps, "threads": args.threads,
           "processes": int(os.environ.get("WORLD_SIZE", "1")), "machine": platform.processor() or platform.machine(),
           "cpus": os.cpu_count(), "torch": torch.__version__, "load_avg_1min": os.getloadavg()[0]}
    main_rank = int(os.environ.get("RANK", "0")) == 0
    root = Path(args.root)  # every rank must see the same run directories (a resumed session reads them)
    if main_rank:
        shutil.rmtree(root, ignore_errors=True)
    _barrier()
    for gather, sync_bn in ((True, True), (True, False), (False, False)):
        t0 = time.perf_counter()
        s = seconds_per_step(args.objective, args.batch, args.steps, gather=gather, sync_bn=sync_bn, root=root)
        out[f"s_per_step gather={gather} sync_bn={sync_bn}"] = round(s, 4)
        if main_rank:
            print(f"gather={gather} sync_bn={sync_bn}: {s:.4f} s/step ({time.perf_counter() - t0:.0f} s)", flush=True)
    _barrier()
    if main_rank:
        shutil.rmtree(root, ignore_errors=True)
        print(json.dumps(out))
    if dist.is_initialized():
        dist.destroy_process_group()


def _barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


if __name__ == "__main__":
    main()
