"""Windows of trajectories as a PyTorch Dataset, observations rendered from state on access."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from jepa_world.data.shards import load_trajectories
from jepa_world.data.two_rooms_gen import Trajectories
from jepa_world.envs.two_rooms.render import render_trajectories


def window_batch(traj: Trajectories, rows: Tensor, starts: Tensor, window: int) -> dict[str, Tensor]:
    """Cut windows of ``window`` steps: rows, starts (B,) -> dict with
    obs (B, window+1, 2, 65, 65) float32, actions (B, window, 2), positions (B, window+1, 2).
    """
    t_obs = starts.unsqueeze(1) + torch.arange(window + 1)  # (B, window+1)
    pos = traj.positions[rows.unsqueeze(1), t_obs]  # (B, window+1, 2)
    act = traj.actions[rows.unsqueeze(1), t_obs[:, :-1]]  # (B, window, 2)
    obs = render_trajectories(pos, traj.wall_x[rows], traj.door_y[rows], walls=traj.walls)
    return {"obs": obs, "actions": act, "positions": pos}


class TrajectoryWindows(Dataset):
    """Every window of ``window`` steps in a set of trajectories.

    Item i -> dict(obs (W+1, 2, 65, 65) float32, actions (W, 2), positions (W+1, 2)).
    :meth:`batch` serves many windows in one vectorised call (what the trainers use).

    Examples:
        >>> import torch
        >>> from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
        >>> traj = generate(4, TwoRoomsDataConfig(length=9), generator=torch.Generator().manual_seed(0))
        >>> ds = TrajectoryWindows(traj, window=4)
        >>> len(ds), ds[0]["obs"].shape
        (20, torch.Size([5, 2, 65, 65]))
    """

    def __init__(self, traj: Trajectories, window: int):
        steps = traj.actions.shape[1]
        if not 1 <= window <= steps:
            raise ValueError(f"window must be in [1, {steps}] for trajectories of {steps} steps, got {window}")
        self.traj = traj
        self.window = window
        self.per_traj = steps - window + 1

    @classmethod
    def from_dir(cls, directory: str | Path, window: int) -> TrajectoryWindows:
        """Load a dataset written by ``jepa-world data generate`` (rendered with the walls it was generated with;
        datasets written before the ``walls`` option existed used the 'arena' style)."""
        traj, meta = load_trajectories(Path(directory))
        traj.walls = meta.get("config", {}).get("walls", "arena")
        return cls(traj, window)

    def __len__(self) -> int:
        return len(self.traj) * self.per_traj

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} windows")
        out = self.batch(torch.tensor([index % len(self)]))
        return {k: v[0] for k, v in out.items()}

    def batch(self, indices: Tensor) -> dict[str, Tensor]:
        """indices (B,) -> batched windows (see :func:`window_batch`)."""
        rows = torch.div(indices, self.per_traj, rounding_mode="floor")
        return window_batch(self.traj, rows, indices % self.per_traj, self.window)

    def sample(self, batch_size: int, *, generator: torch.Generator) -> dict[str, Tensor]:
        """A random batch of windows."""
        return self.batch(torch.randint(0, len(self), (batch_size,), generator=generator))
