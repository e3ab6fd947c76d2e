"""The frozen encoder's feature cache: bitwise the loss of encoding on the fly; stale caches detected."""

import pytest
import torch

from jepa_world.config import apply_overrides
from jepa_world.data.feature_cache import FeatureCache, build_feature_cache, cache_key, load_or_build
from jepa_world.presets import get_preset
from jepa_world.presets.world_model import make_stream

TINY = ["model.frameskip=2", "model.predictor.action_dim=4", "data.length=5", "model.predictor.hidden=8",
        "model.idm_hidden=8", "model.backbone.latent_channels=4", "model.backbone.backbone.vit.dim=16",
        "model.backbone.backbone.vit.depth=1", "model.backbone.backbone.vit.heads=2",
        "model.backbone.backbone.vit.patch_size=16", "batch_size=6", "cache.windows=24", "cache.chunk=8"]


def config(*extra):
    return apply_overrides(get_preset("two-rooms-frozen").config(), ["encoder=random", *TINY, *extra])


def frozen_run(*extra):
    return get_preset("two-rooms-frozen").build(config(*extra))


def test_cached_features_give_bitwise_the_loss_of_encoding_on_the_fly():
    run = frozen_run()
    method, cache = run.method, run.source
    method.train()  # as the training loop does; the frozen encoder stays in eval mode
    step = 3
    idx = cache.indices(step)
    cfg = config()
    chunks = [make_stream(cfg.data, cfg.cache.chunk, seed=cfg.cache.seed)(k) for k in range(3)]  # the cached windows
    windows = {key: torch.cat([c[key] for c in chunks])[idx] for key in ("obs", "actions", "positions")}
    cached = cache(step)
    assert torch.equal(cached["actions"], windows["actions"]) and torch.equal(cached["positions"], windows["positions"])
    loss_cached, metrics_cached = method.training_step(cached, step)
    loss_fly, metrics_fly = method.training_step(windows, step)
    assert torch.equal(loss_cached, loss_fly)
    assert metrics_cached == metrics_fly and metrics_cached["pred"] > 0


def test_batches_are_a_pure_function_of_seed_and_step():
    cache = frozen_run().source
    assert torch.equal(cache(5)["features"], cache(5)["features"])
    assert not torch.equal(cache.indices(5), cache.indices(6))
    assert cache(0)["features"].shape == (6, 3, 4 * 4 * 4)  # (B, T+1, C' h w): 2 model steps, 4 x 4 ViT grid


def toy_windows(k):
    g = torch.Generator().manual_seed(k)
    return {"obs": torch.rand(4, 3, 1, 4, 4, generator=g), "actions": torch.rand(4, 2, 2, generator=g),
            "positions": torch.rand(4, 3, 2, generator=g)}


def toy_cache(weight, key):
    return build_feature_cache(toy_windows, lambda x: weight * x.flatten(1), windows=8, frameskip=2, batch_size=2,
                               seed=0, key=key)


def test_a_stale_cache_is_detected_and_rebuilt(tmp_path):
    path = tmp_path / "cache.safetensors"
    weights = {"w": torch.ones(3)}
    key = cache_key(weights, data={"length": 3}, frameskip=2, windows=8, seed=0)
    cache, status = load_or_build(path, lambda: toy_cache(1.0, key), key=key, batch_size=2, seed=0)
    assert status == "built" and path.is_file()
    again, status = load_or_build(path, lambda: pytest.fail("rebuilt a valid cache"), key=key, batch_size=2, seed=0)
    assert status == "loaded" and torch.equal(again.features, cache.features)
    changed = cache_key({"w": torch.tensor([1.0, 1.0, 1.0 + 1e-6])}, data={"length": 3}, frameskip=2, windows=8, seed=0)
    other_data = cache_key(weights, data={"length": 5}, frameskip=2, windows=8, seed=0)
    other_skip = cache_key(weights, data={"length": 3}, frameskip=1, windows=8, seed=0)
    assert len({key, changed, other_data, other_skip}) == 4
    with pytest.raises(ValueError, match="stale feature cache"):
        FeatureCache.load(path, key=changed, batch_size=2, seed=0)
    fresh, status = load_or_build(path, lambda: toy_cache(2.0, changed), key=changed, batch_size=2, seed=0)
    assert status.startswith("rebuilt: ") and "stale" in status
    assert torch.equal(fresh.features, 2 * cache.features)
    assert FeatureCache.load(path, key=changed, batch_size=2, seed=0).key == changed  # the file was replaced


def test_the_preset_rebuilds_the_cache_when_the_encoder_changes(tmp_path, capsys):
    path = tmp_path / "fc.safetensors"
    frozen_run(f"cache.path={path}")
    assert "built" in capsys.readouterr().err
    frozen_run(f"cache.path={path}")
    assert ", loaded;" in capsys.readouterr().err
    frozen_run(f"cache.path={path}", "model_seed=1")  # another random encoder
    assert "rebuilt: " in capsys.readouterr().err
    frozen_run(f"cache.path={path}", "model_seed=1", "data.step_max=1.5")  # same encoder, other data
    assert "rebuilt: " in capsys.readouterr().err


def test_an_unreadable_cache_file_is_rebuilt(tmp_path):
    path = tmp_path / "cache.safetensors"
    path.write_bytes(b"not a cache")
    _, status = load_or_build(path, lambda: toy_cache(1.0, "k"), key="k", batch_size=2, seed=0)
    assert status.startswith("rebuilt: ") and "unreadable" in status
