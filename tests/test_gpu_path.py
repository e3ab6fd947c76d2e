"""The GPU path of the training loop: device=auto picks CUDA, bf16 autocast where the GPU has bf16 units.

The CUDA tests skip on machines without a GPU (the CI's CPU runners); the CPU side of each rule always runs.
"""

from __future__ import annotations

import pytest
import torch
from test_train_loop import Regression, config, make_method, run

from jepa_world.train.device import bf16_supported, resolve_device

NO_CUDA = "needs a CUDA GPU (torch.cuda.is_available() is False here)"


class DtypeRecorder(Regression):
    """The toy regression, noting the dtype its linear layer computes in."""

    def training_step(self, batch, step):
        x, _ = batch
        self.seen = self.lin(x).dtype
        return super().training_step(batch, step)


def test_auto_is_the_cpu_without_cuda_and_bf16_never_pays_on_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert not bf16_supported(torch.device("cpu"))


def test_bf16_is_ignored_on_the_cpu(tmp_path):
    method = make_method(DtypeRecorder)
    run(tmp_path / "r", method, cfg=config(steps=2, precision="bf16", device="cpu"))
    assert method.seen == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_auto_picks_the_gpu_of_the_local_rank():
    assert resolve_device("auto") == torch.device("cuda:0")
    if torch.cuda.device_count() > 1:
        assert resolve_device("auto", local_rank=1) == torch.device("cuda:1")


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_bf16_autocast_on_a_gpu_with_bf16_units(tmp_path):
    device = torch.device("cuda:0")
    method = make_method(DtypeRecorder)
    result = run(tmp_path / "r", method, cfg=config(steps=3, precision="bf16", device="auto"))
    assert next(method.parameters()).device.type == "cuda" and result.step == 3
    assert method.seen == (torch.bfloat16 if bf16_supported(device) else torch.float32)
    assert next(method.parameters()).dtype == torch.float32  # autocast: fp32 weights, bf16 compute
