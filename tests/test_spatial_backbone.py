"""The spatial readout of image backbones (ViT tokens / ResNet map), the crop rule, and the frozen world model
rebuilt from its saved config alone."""

import pytest
import torch

from jepa_world.config import to_dict
from jepa_world.data.images.dataset import crop_or_pad, normalize
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.nn.backbones import BackboneConfig
from jepa_world.nn.resnet import ResNetConfig
from jepa_world.nn.spatial_backbone import SpatialBackbone, SpatialBackboneConfig, resnet_grid
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.nn.vit import ViTConfig
from jepa_world.presets.world_model import rebuild_world_model

VIT = BackboneConfig(kind="vit", vit=ViTConfig(image_size=64, in_channels=2, patch_size=16, dim=16, depth=1, heads=2))
RESNET = BackboneConfig(kind="resnet", resnet=ResNetConfig(in_channels=2, widths=(4, 8), stem_stride=2))
MEAN, STD = (0.1, 0.2), (0.5, 0.25)


def readout(backbone, projection="none", channels=4):
    cfg = SpatialBackboneConfig(backbone=backbone, input_mean=MEAN, input_std=STD, projection=projection,
                                latent_channels=channels)
    return SpatialBackbone(cfg).eval()


def test_vit_readout_puts_each_patch_token_at_its_grid_cell():
    enc = readout(VIT)
    obs = torch.rand(3, 2, 65, 65)
    with torch.no_grad():
        z = enc(obs)
        tokens = enc.backbone(normalize(crop_or_pad(obs, 64), MEAN, STD))  # (B, 16, D), row-major 4 x 4 grid
    assert enc.latent_shape == (16, 4, 4) and z.shape == (3, 16, 4, 4)
    for r, c in [(0, 0), (0, 3), (2, 1), (3, 3)]:
        assert torch.allclose(z[:, :, r, c], tokens[:, 4 * r + c], atol=1e-6)


def test_resnet_readout_is_the_map_the_backbone_pools():
    enc = readout(RESNET)
    obs = torch.rand(3, 2, 65, 65)
    with torch.no_grad():
        z = enc(obs)
        pooled = enc.backbone(normalize(crop_or_pad(obs, 64), MEAN, STD))  # (B, 8) global average pool
    assert enc.latent_shape == (8, 16, 16) == tuple(z.shape[1:])  # 64 px, stem stride 2, one stride-2 stage
    assert torch.allclose(z.mean(dim=(2, 3)), pooled, atol=1e-5)


@pytest.mark.parametrize("size", [33, 64, 65])
def test_resnet_grid_matches_the_network(size):
    cfg = ResNetConfig(in_channels=1, widths=(2, 2, 2), stem_stride=2)
    enc = SpatialBackbone(SpatialBackboneConfig(backbone=BackboneConfig(kind="resnet", resnet=cfg), in_channels=1,
                                                image_size=size, input_size=size, projection="none"))
    assert enc(torch.zeros(1, 1, size, size)).shape[-1] == resnet_grid(cfg, size) == enc.latent_shape[-1]


def test_crop_keeps_pixels_and_pad_adds_zeros():
    x = torch.arange(2 * 65 * 65, dtype=torch.float32).view(1, 2, 65, 65)
    assert torch.equal(crop_or_pad(x, 64), x[..., :64, :64])
    padded = crop_or_pad(x, 68)
    assert torch.equal(padded[..., 1:66, 1:66], x) and padded[..., 0, :].abs().sum() == 0


def test_random_projection_is_orthonormal_and_pca_whitens_on_average():
    enc = readout(VIT, projection="random", channels=4)
    w = enc.proj_weight  # (4, 16)
    assert torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)
    enc = readout(VIT, projection="pca", channels=4)
    obs = torch.rand(32, 2, 65, 65)
    enc.fit_pca(obs)
    with torch.no_grad():
        z = enc(obs).transpose(0, 1).flatten(1)  # (4, B*h*w)
    var = z.var(dim=1)
    assert torch.allclose(z.mean(dim=1), torch.zeros(4), atol=1e-4)
    assert abs(float(var.mean()) - 1.0) < 1e-3 and bool((var[:-1] >= var[1:] - 1e-5).all())  # sorted variances
    cov = torch.cov(z)
    assert torch.allclose(cov - torch.diag(cov.diag()), torch.zeros(4, 4), atol=1e-4)  # decorrelated


@pytest.mark.parametrize("backbone", [VIT, RESNET], ids=["vit", "resnet"])
def test_frozen_backbone_world_model_rebuilds_from_its_config(backbone):
    bb = SpatialBackboneConfig(backbone=backbone, input_mean=MEAN, input_std=STD, projection="pca", latent_channels=4)
    cfg = SpatialWorldModelConfig(encoder_kind="backbone", backbone=bb, freeze_encoder=True, frameskip=2,
                                  predictor=SpatialPredictorConfig(latent_channels=4, action_dim=4, hidden=8))
    torch.manual_seed(0)
    wm = SpatialWorldModel(cfg)
    wm.encoder.fit_pca(torch.rand(8, 2, 65, 65))
    wm.train()
    assert not wm.encoder.training and wm.predictor.training  # a frozen encoder stays in eval mode
    torch.manual_seed(1)
    again = rebuild_world_model({"architecture": "spatial", "env": {"name": "two_rooms"}, **to_dict(cfg)})
    again.load_state_dict(wm.state_dict())
    again.eval()
    obs = torch.rand(2, 2, 65, 65)
    with torch.no_grad():
        assert torch.equal(wm.encode(obs), again.encode(obs))
    assert wm.latent_dim == again.latent_dim == 4 * wm.latent_shape[1] ** 2


def test_conv_runs_saved_before_the_backbone_option_still_rebuild():
    cfg = to_dict(SpatialWorldModelConfig())
    del cfg["encoder_kind"], cfg["backbone"]
    assert rebuild_world_model({"architecture": "spatial", **cfg}).config.encoder_kind == "conv"


def test_bad_backbone_configs_name_the_mismatch():
    with pytest.raises(ValueError, match="3-channel images, the observations have 2"):
        SpatialBackboneConfig(backbone=BackboneConfig(kind="resnet", resnet=ResNetConfig(in_channels=3))).validate()
    with pytest.raises(ValueError, match=r"vit.image_size \(64\) must equal input_size \(32\)"):
        SpatialBackboneConfig(backbone=VIT, input_size=32).validate()
    enc = readout(VIT)
    with pytest.raises(ValueError, match=r"expected obs \(B, 2, 65, 65\), got \(1, 2, 64, 64\)"):
        enc(torch.zeros(1, 2, 64, 64))
