"""World-model presets: ``jepa-world train --preset two-rooms`` (``two-rooms-fixed``, ``two-rooms-mlp``, ``maze``).

``two-rooms`` (the default) is the keypoint world model (``methods.keypoint_world_model``): a
keypoint + occupancy-map latent and a ray-marching predictor, chosen by measurement on a 2-core CPU
(docs/world_model.md): a residual MLP over a flat latent does not learn Two Rooms collisions in a
CPU budget, even from the true state, and MPC then plans through the wall. ``two-rooms-mlp`` keeps
the generic recipe (IMPALA CNN with spatial-softmax keypoints, flat latent, residual-MLP predictor,
PLDM-style loss) for other environments and for comparison.

Every run saves ``{"architecture": ..., "env": ..., **model config}``: ``rebuild_world_model`` rebuilds
the model from it, and ``jepa-world eval`` plans in the environment it was trained on.

Examples:
    >>> cfg = two_rooms_config()
    >>> cfg.model.encoder.embed_dim == cfg.model.predictor.latent_dim
    True
    >>> keypoint_config().model.encoder.latent_dim
    1026
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from jepa_world.config import from_dict, to_dict
from jepa_world.data.maze_gen import MazeDataConfig
from jepa_world.data.maze_stream import MazeStream
from jepa_world.data.pointmaze_shards import PointMazeWindows, PointMazeWindowsConfig
from jepa_world.data.pusht_stream import PushTStreamConfig, PushTWindows
from jepa_world.data.shards import read_meta
from jepa_world.data.stream import TwoRoomsStream
from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig
from jepa_world.methods.keypoint_world_model import KeypointWorldModel, KeypointWorldModelConfig
from jepa_world.methods.pixel_world_model import PixelWorldModel, PixelWorldModelConfig
from jepa_world.methods.spatial_world_model import SpatialWorldModel, SpatialWorldModelConfig
from jepa_world.methods.world_model import JEPAWorldModel, LossWeights, WorldModelConfig
from jepa_world.nn.encoders import ImpalaConfig
from jepa_world.nn.predictors import PredictorConfig
from jepa_world.nn.spatial_backbone import SpatialBackboneConfig
from jepa_world.nn.spatial_encoder import SpatialEncoderConfig
from jepa_world.nn.spatial_predictor import SpatialPredictorConfig
from jepa_world.presets import Preset, RunSpec, register_method, register_preset
from jepa_world.train.config import TrainConfig

KIND = "world_model"
"""Method kind of runs trained by these presets."""


@dataclass
class WorldModelRunConfig:
    """A world-model training run on Two Rooms trajectories streamed on the fly."""

    model: WorldModelConfig = field(default_factory=WorldModelConfig)
    """Encoder, predictor and loss."""
    data: TwoRoomsDataConfig = field(default_factory=TwoRoomsDataConfig)
    """The trajectory distribution (length = frames per training window)."""
    batch_size: int = 32
    """Trajectory windows per step (each of data.length frames)."""
    data_seed: int = 0
    """Seed of the data stream: batch k is a pure function of (data_seed, k)."""
    model_seed: int = 0
    """Seed of the weight initialisation."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation, schedule, budget, logging."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        self.model.validate()
        self.data.validate()
        self.train.validate()
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (VICReg statistics need a batch), got {self.batch_size}")


@dataclass
class KeypointRunConfig(WorldModelRunConfig):
    """A keypoint world-model training run on Two Rooms trajectories streamed on the fly."""

    model: KeypointWorldModelConfig = field(default_factory=KeypointWorldModelConfig)
    """Keypoint + map encoder, ray-marching predictor, loss."""


@dataclass
class MazeKeypointRunConfig(KeypointRunConfig):
    """A keypoint world-model training run on maze random-walk trajectories streamed on the fly."""

    data: MazeDataConfig = field(default_factory=MazeDataConfig)  # type: ignore[assignment]
    """The maze trajectory distribution (rooms per side, doors, random walk; length = frames per window)."""


@dataclass
class SpatialRunConfig(WorldModelRunConfig):
    """A generic (spatial-latent) world-model training run on Two Rooms trajectories streamed on the fly."""

    model: SpatialWorldModelConfig = field(default_factory=SpatialWorldModelConfig)
    """Convolutional spatial encoder and predictor, loss, frameskip."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field (windows must hold whole frameskip chunks)."""
        super().validate()
        if (self.data.length - 1) % self.model.frameskip:
            raise ValueError(f"data.length - 1 ({self.data.length - 1}) must be a multiple of model.frameskip "
                             f"({self.model.frameskip})")


@dataclass
class MazeSpatialRunConfig(SpatialRunConfig):
    """A generic world-model training run on maze random-walk trajectories streamed on the fly."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per window)."""


@dataclass
class PushTSpatialRunConfig(SpatialRunConfig):
    """A generic world-model training run on PushT exploration data read from disk."""

    data: PushTStreamConfig = field(default_factory=PushTStreamConfig)  # type: ignore[assignment]
    """The dataset directory and the window length (frames per window)."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field; the dataset's frames must be the encoder's size."""
        super().validate()
        enc = self.model.encoder
        if self.model.encoder_kind == "conv" and enc.in_channels != 3:
            raise ValueError(f"PushT frames are RGB: model.encoder.in_channels must be 3, got {enc.in_channels}")


@dataclass
class PixelRunConfig(SpatialRunConfig):
    """A generative (pixel-predicting) world-model training run on Two Rooms trajectories streamed on the fly."""

    model: PixelWorldModelConfig = field(default_factory=PixelWorldModelConfig)  # type: ignore[assignment]
    """The generic model's encoder and predictor, a decoder, the pixel loss, frameskip."""


@dataclass
class MazePixelRunConfig(PixelRunConfig):
    """A generative world-model training run on maze random-walk trajectories streamed on the fly."""

    data: MazeDataConfig = field(default_factory=lambda: MazeDataConfig(length=21))  # type: ignore[assignment]
    """The maze trajectory distribution (length = frames per window)."""


def _generic_train() -> TrainConfig:
    return TrainConfig(steps=2000, lr=1e-3, weight_decay=0.0, warmup_steps=100, time_budget_s=1800.0,
                       log_every=50, diag_every=500, ckpt_every=500)


def generic_config() -> SpatialRunConfig:
    """The generic recipe on Two Rooms: conv encoder -> 16 x 9 x 9 latent, conv predictor, frameskip 5."""
    return SpatialRunConfig(model=SpatialWorldModelConfig(), batch_size=64, data=TwoRoomsDataConfig(length=21),
                            train=_generic_train())


def maze_generic_config() -> MazeSpatialRunConfig:
    """The same generic recipe (same model and hyperparameters) on 3 x 3 maze random walks."""
    return MazeSpatialRunConfig(model=SpatialWorldModelConfig(), batch_size=64, data=MazeDataConfig(length=21),
                                train=_generic_train())


def pixel_config() -> PixelRunConfig:
    """The generative baseline on Two Rooms: two-rooms-generic's data, batch, encoder, predictor and time budget,
    trained to predict frames (methods/pixel_world_model.py)."""
    generic = generic_config()
    return PixelRunConfig(model=PixelWorldModelConfig(), batch_size=generic.batch_size, data=generic.data,
                          train=generic.train)


def maze_pixel_config() -> MazePixelRunConfig:
    """The generative baseline on 3 x 3 maze random walks, with maze-generic's data, batch and time budget."""
    generic = maze_generic_config()
    return MazePixelRunConfig(model=PixelWorldModelConfig(), batch_size=generic.batch_size, data=generic.data,
                              train=generic.train)


def pusht_generic_config() -> PushTSpatialRunConfig:
    """The generic recipe on PushT exploration data: RGB 64 x 64 frames, 2-D relative actions, frameskip 5
    (DINO-WM's), so the predictor's action is 5 x 2 = 10 numbers."""
    model = SpatialWorldModelConfig(encoder=SpatialEncoderConfig(in_channels=3, image_size=64),
                                    predictor=SpatialPredictorConfig(action_dim=10), frameskip=5)
    return PushTSpatialRunConfig(model=model, batch_size=64, data=PushTStreamConfig(length=21), train=_generic_train())


def _keypoint_train() -> TrainConfig:
    return TrainConfig(steps=6000, lr=3e-3, weight_decay=0.0, warmup_steps=50, time_budget_s=1200.0,
                       log_every=50, diag_every=500, ckpt_every=500)


def keypoint_config(fixed_wall: bool = False) -> KeypointRunConfig:
    """The default recipe: keypoint + occupancy-map latent, ray-marching predictor (docs/world_model.md)."""
    return KeypointRunConfig(model=KeypointWorldModelConfig(), batch_size=64,
                             data=TwoRoomsDataConfig(length=17, fixed_wall=fixed_wall), train=_keypoint_train())


def maze_config() -> MazeKeypointRunConfig:
    """The same recipe on 3 x 3 maze random walks (short windows: the data never holds a start-to-goal path)."""
    return MazeKeypointRunConfig(model=KeypointWorldModelConfig(), batch_size=64, data=MazeDataConfig(length=17),
                                 train=_keypoint_train())


DataConfig = TwoRoomsDataConfig | MazeDataConfig | PushTStreamConfig | PointMazeWindowsConfig
"""The data configs of world-model runs: generated on the fly (Two Rooms, maze) or read from a dataset on disk."""


def make_stream(data: DataConfig, batch_size: int, *, seed: int):
    """The training stream of a data config: TwoRoomsStream or MazeStream (on the fly), PushTWindows or
    PointMazeWindows (windows of a dataset on disk)."""
    if isinstance(data, PushTStreamConfig):
        return PushTWindows(data.path, batch_size, data.length, seed=seed)
    if isinstance(data, PointMazeWindowsConfig):
        return PointMazeWindows(data.path, batch_size, length=data.length, frame_stack=data.frame_stack, seed=seed)
    cls = MazeStream if isinstance(data, MazeDataConfig) else TwoRoomsStream
    return cls(batch_size, data, seed=seed)


def two_rooms_config(fixed_wall: bool = False) -> WorldModelRunConfig:
    """The generic recipe: IMPALA encoder, flat latent, residual-MLP predictor (``two-rooms-mlp``)."""
    dim = 32
    encoder = ImpalaConfig(channels=(16, 32), blocks=1, input_pool=2, embed_dim=dim, keypoints=16,
                           flat_dims=12)
    model = WorldModelConfig(encoder=encoder, predictor=PredictorConfig(latent_dim=dim, hidden=128),
                             weights=LossWeights(pred=1.0, var=16.0, cov=8.0, time=1.0, idm=4.0))
    train = TrainConfig(steps=4000, lr=2e-3, warmup_steps=50, time_budget_s=1200.0, log_every=50,
                        diag_every=500, ckpt_every=500)
    return WorldModelRunConfig(model=model, data=TwoRoomsDataConfig(length=17, fixed_wall=fixed_wall),
                               train=train)


def measure_input_stats(data: TwoRoomsDataConfig | MazeDataConfig, *, seed: int, batch: int = 64
                        ) -> tuple[tuple, tuple]:
    """Per-channel mean and std of observations from the stream: ((C,), (C,)) rounded to 4 digits."""
    obs = make_stream(data, batch, seed=seed + 7919)(0)["obs"]  # (B, T+1, C, H, W)
    mean = obs.mean(dim=(0, 1, 3, 4))
    std = obs.std(dim=(0, 1, 3, 4)).clamp_min(1e-4)
    return tuple(round(float(v), 4) for v in mean), tuple(round(float(v), 4) for v in std)


ARCHITECTURES = {"mlp": (JEPAWorldModel, WorldModelConfig), "keypoint": (KeypointWorldModel, KeypointWorldModelConfig),
                 "spatial": (SpatialWorldModel, SpatialWorldModelConfig),
                 "pixel": (PixelWorldModel, PixelWorldModelConfig)}
"""The ``architecture`` saved in a world-model run's model_config -> (module class, config class)."""


def resolved_model(cfg: WorldModelRunConfig) -> Any:
    """The model config with the input statistics filled in (measured when not given)."""
    enc = cfg.model.encoder
    if enc.input_mean and enc.input_std:
        return cfg.model
    mean, std = measure_input_stats(cfg.data, seed=cfg.data_seed)
    enc = replace(enc, input_mean=enc.input_mean or mean, input_std=enc.input_std or std)
    return replace(cfg.model, encoder=enc)


def build_world_model_run(cfg: WorldModelRunConfig) -> RunSpec:
    """config -> RunSpec: the seeded model (architecture from the config's type), the stream, the settings."""
    cfg.validate()
    if isinstance(cfg.data, PushTStreamConfig):
        _check_pusht_frames(cfg)
    model_cfg = resolved_model(cfg)
    arch = next(name for name, (_, cls) in ARCHITECTURES.items() if isinstance(model_cfg, cls))
    torch.manual_seed(cfg.model_seed)
    method = ARCHITECTURES[arch][0](model_cfg)
    source = make_stream(cfg.data, cfg.batch_size, seed=cfg.data_seed)
    return RunSpec(kind=KIND, method=method, source=source, train=cfg.train,
                   model_config={"architecture": arch, "env": trained_env(cfg.data), **to_dict(model_cfg)},
                   batch_size=cfg.batch_size)


def _check_pusht_frames(cfg: PushTSpatialRunConfig) -> None:
    """The dataset's frame size must be the encoder's (ValueError naming both)."""
    size = read_meta(cfg.data.path)["config"]["image_size"]
    if cfg.model.encoder_kind == "conv" and cfg.model.encoder.image_size != size:
        raise ValueError(f"{cfg.data.path} holds {size} x {size} frames but model.encoder.image_size is "
                         f"{cfg.model.encoder.image_size}; set model.encoder.image_size={size}")


def trained_env(data: TwoRoomsDataConfig | MazeDataConfig | PushTStreamConfig) -> dict[str, Any]:
    """What a run's model_config records of its environment, so that ``eval`` plans in the same one:
    ``{"name": "two_rooms", "fixed_wall": ..., "physics": ..., "walls": ...}``, ``{"name": "maze", "rooms": ...}`` or
    ``{"name": "pusht", "image_size": ..., "action_scale": ...}`` (read from the dataset)."""
    if isinstance(data, PushTStreamConfig):
        made = read_meta(data.path)["config"]
        return {"name": "pusht", "image_size": made["image_size"], "action_scale": made["action_scale"]}
    if isinstance(data, MazeDataConfig):
        return {"name": "maze", "rooms": data.rooms}
    return {"name": "two_rooms", "fixed_wall": data.fixed_wall, "physics": data.physics, "walls": data.walls}


def rebuild_world_model(model_config: dict[str, Any]) -> nn.Module:
    """A saved ``model_config`` -> an untrained world model of the same architecture and shape."""
    config = dict(model_config)
    arch = config.pop("architecture", "mlp")
    config.pop("env", None)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown world-model architecture {arch!r}; valid: {sorted(ARCHITECTURES)}")
    module_cls, config_cls = ARCHITECTURES[arch]
    if arch == "spatial" and "encoder_kind" not in config:  # runs saved before the backbone encoder existed
        config.update(encoder_kind="conv", backbone=to_dict(SpatialBackboneConfig()))
    return module_cls(from_dict(config_cls, config))


register_method(KIND, rebuild_world_model)
register_preset(Preset("two-rooms", config=keypoint_config, build=build_world_model_run,
                       help="keypoint JEPA world model on Two Rooms, random wall (the default; 20 min on 2 cores)"))
register_preset(Preset("two-rooms-fixed", config=lambda: keypoint_config(fixed_wall=True),
                       build=build_world_model_run, help="keypoint JEPA world model on Two Rooms, fixed wall"))
register_preset(Preset("maze", config=maze_config, build=build_world_model_run,
                       help="keypoint JEPA world model on 3x3 maze random walks (for hierarchical planning)"))
register_preset(Preset("two-rooms-generic", config=generic_config, build=build_world_model_run,
                       help="generic JEPA world model (conv spatial latent, conv predictor, frameskip 5), Two Rooms"))
register_preset(Preset("maze-generic", config=maze_generic_config, build=build_world_model_run,
                       help="generic JEPA world model (the two-rooms-generic recipe) on 3x3 maze random walks"))
register_preset(Preset("two-rooms-pixel", config=pixel_config, build=build_world_model_run,
                       help="generative baseline: two-rooms-generic's encoder and predictor trained to predict frames"))
register_preset(Preset("maze-pixel", config=maze_pixel_config, build=build_world_model_run,
                       help="generative baseline (the two-rooms-pixel recipe) on 3x3 maze random walks"))
register_preset(Preset("pusht-generic", config=pusht_generic_config, build=build_world_model_run,
                       help="generic JEPA world model on PushT exploration data (data.path; extra [pusht])"))
register_preset(Preset("two-rooms-mlp", config=two_rooms_config, build=build_world_model_run,
                       help="generic JEPA world model (IMPALA CNN, flat latent, MLP predictor) on Two Rooms"))
