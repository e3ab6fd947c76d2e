"""Backbones and heads of the image-SSL methods: shapes, masking, position embeddings, clear errors."""

from __future__ import annotations

import pytest
import torch

from jepa_world.data.images.masks import MaskConfig, MultiBlockMaskSampler
from jepa_world.methods.ijepa import IJEPA, IJEPAConfig
from jepa_world.nn.backbones import BackboneConfig, build_backbone
from jepa_world.nn.heads import DINOHead, DINOHeadConfig, HeadConfig, MLPHead
from jepa_world.nn.resnet import ResNet, ResNetConfig
from jepa_world.nn.vit import VisionTransformer, ViTConfig, gather_tokens, sincos_pos_embed_2d
from jepa_world.nn.vit_predictor import ViTPredictor, ViTPredictorConfig


def _vit(**kw) -> VisionTransformer:
    torch.manual_seed(0)
    return VisionTransformer(ViTConfig(image_size=16, in_channels=3, patch_size=4, dim=32, depth=2, heads=4, **kw))


@pytest.mark.parametrize("pos", ["learnable", "sincos"])
def test_vit_shapes_with_and_without_masks(pos):
    vit = _vit(pos=pos).eval()
    x = torch.randn(3, 3, 16, 16)
    assert vit(x).shape == (3, 16, 32)
    keep = torch.tensor([[0, 1, 2, 3, 9], [4, 5, 6, 7, 8], [10, 11, 12, 13, 15]])
    assert vit(x, keep=keep).shape == (3, 5, 32)
    assert vit.features(x).shape == (3, 32)
    assert vit.pos_embed.requires_grad == (pos == "learnable")


def test_vit_masked_forward_is_the_encoder_of_the_kept_tokens():
    vit = _vit().eval()
    x = torch.randn(2, 3, 16, 16)
    # keeping every patch, in a permuted order, permutes the outputs (attention is permutation-equivariant)
    perm = torch.stack([torch.randperm(16, generator=torch.Generator().manual_seed(i)) for i in range(2)])
    torch.testing.assert_close(vit(x, keep=perm), gather_tokens(vit(x), perm), atol=1e-5, rtol=1e-5)
    # a kept subset equals running the blocks on just those embedded patches
    keep = torch.tensor([[1, 5, 6], [0, 2, 15]])
    manual = vit.norm(vit.blocks(gather_tokens(vit.patchify(x), keep)))
    torch.testing.assert_close(vit(x, keep=keep), manual)
    # and it depends on which patches are kept only through their content and position
    x2 = x.clone()
    x2[:, :, 12:, :4] = 0.0  # patch 12 is not kept by either image
    torch.testing.assert_close(vit(x2, keep=keep), vit(x, keep=keep))


def test_image_size_not_divisible_by_patch_size_is_a_clear_error():
    with pytest.raises(ValueError, match="image_size 30 is not divisible by patch_size 4"):
        ViTConfig(image_size=30, patch_size=4).validate()
    vit = _vit()
    with pytest.raises(ValueError, match=r"expects images \(B, 3, 16, 16\), got \(1, 3, 18, 18\)"):
        vit(torch.zeros(1, 3, 18, 18))


def test_sincos_position_embedding_values():
    pe = sincos_pos_embed_2d(3, 8)  # D/4 = 2 frequencies: 1 and 1/100
    assert pe.shape == (9, 8)
    # patch (row 1, col 2) = index 5: [sin(r w), cos(r w), sin(c w), cos(c w)] blocks
    w = torch.tensor([1.0, 0.01])
    expected = torch.cat([torch.sin(1 * w), torch.cos(1 * w), torch.sin(2 * w), torch.cos(2 * w)])
    torch.testing.assert_close(pe[5], expected)
    assert torch.all(pe[0] == torch.tensor([0.0, 0, 1, 1, 0, 0, 1, 1]))


def test_gather_tokens_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match=r"indices must be in \[0, 4\)"):
        gather_tokens(torch.zeros(1, 4, 2), torch.tensor([[0, 4]]))


def test_vit_predictor_outputs_depend_on_target_positions_only_through_positions():
    torch.manual_seed(0)
    pred = ViTPredictor(ViTPredictorConfig(dim=16, depth=2, heads=2), embed_dim=32, grid=4).eval()
    ctx = torch.randn(2, 5, 32)
    ctx_idx = torch.tensor([[0, 1, 2, 3, 4]] * 2)
    out = pred(ctx, context_idx=ctx_idx, target_idx=torch.tensor([[8, 9], [8, 9]]))
    assert out.shape == (2, 2, 32)
    swapped = pred(ctx, context_idx=ctx_idx, target_idx=torch.tensor([[9, 8], [9, 8]]))
    torch.testing.assert_close(swapped, out.flip(1), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out[:, 0], out[:, 1])  # different positions, different predictions


def test_ijepa_step_trains_context_encoder_and_predictor_only():
    torch.manual_seed(0)
    cfg = IJEPAConfig(encoder=ViTConfig(image_size=16, patch_size=4, dim=32, depth=1, heads=2),
                      predictor=ViTPredictorConfig(dim=16, depth=1, heads=2))
    method = IJEPA(cfg)
    masks = MultiBlockMaskSampler(MaskConfig(), grid=4)(4, generator=torch.Generator().manual_seed(0))
    batch = {"images": torch.randn(4, 1, 16, 16), "context_idx": masks.context_idx, "target_idx": masks.target_idx}
    loss, metrics = method.training_step(batch, step=0)
    loss.backward()
    assert all(p.grad is not None for p in method.predictor.parameters())
    assert all(p.grad is None for p in method.target_encoder.parameters())
    assert 0 < metrics["context_frac"] < 1
    # the target encoder starts as an exact copy and moves towards the encoder by the EMA rule
    with torch.no_grad():
        method.encoder.blocks[0].mlp[0].weight.add_(1.0)
    before = method.target_encoder.module.blocks[0].mlp[0].weight.clone()
    method.after_optimizer_step(0, 10)
    m = cfg.ema.base  # cosine schedule at step 0
    torch.testing.assert_close(method.target_encoder.module.blocks[0].mlp[0].weight,
                               m * before + (1 - m) * method.encoder.blocks[0].mlp[0].weight)


def test_resnet_and_backbone_registry():
    net = ResNet(ResNetConfig(in_channels=3, widths=(8, 16, 32), blocks=2))
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 32)
    bb = build_backbone(BackboneConfig(kind="resnet", resnet=ResNetConfig(in_channels=1, widths=(4, 8))))
    assert bb.embed_dim == 8
    with pytest.raises(ValueError, match="backbone.kind must be one of"):
        BackboneConfig(kind="mlp").validate()  # type: ignore[arg-type]
    cfg = BackboneConfig()
    cfg.set_input(image_size=24, in_channels=3)
    assert (cfg.vit.image_size, cfg.vit.in_channels, cfg.resnet.in_channels) == (24, 3, 3)


def test_heads():
    head = MLPHead(HeadConfig(hidden=16, out_dim=8, layers=3, norm="ln", last_norm=True), in_dim=4)
    assert head(torch.randn(5, 4)).shape == (5, 8)
    identity = MLPHead(HeadConfig(layers=0), in_dim=4)
    x = torch.randn(3, 4)
    assert torch.equal(identity(x), x) and identity.out_dim == 4
    dino = DINOHead(DINOHeadConfig(hidden=16, bottleneck=4, out_dim=10, layers=2), in_dim=6)
    with torch.no_grad():
        logits = dino(torch.randn(7, 6))
    assert logits.shape == (7, 10)
    assert float(logits.abs().max()) <= 1 + 1e-5  # unit bottleneck . unit prototypes = cosines
    torch.testing.assert_close(dino.embed(torch.randn(3, 6)).detach().norm(dim=1), torch.ones(3))
