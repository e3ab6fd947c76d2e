"""Summary statistics of a trajectory dataset (what `data show` prints and the tests check)."""

from __future__ import annotations

from jepa_world.data.two_rooms_gen import Trajectories, crossed_wall


def dataset_stats(traj: Trajectories) -> dict[str, float]:
    """Counts, step-length range and door-crossing rate."""
    steps = traj.actions.norm(dim=-1)
    moved = (traj.positions[:, 1:] - traj.positions[:, :-1]).norm(dim=-1)
    return {
        "trajectories": len(traj),
        "frames_per_trajectory": int(traj.positions.shape[1]),
        "layouts": int((traj.wall_x * 100 + traj.door_y).unique().numel()),
        "step_length_min": round(float(steps.min()), 4),
        "step_length_mean": round(float(steps.mean()), 4),
        "step_length_max": round(float(steps.max()), 4),
        "blocked_step_fraction": round(float((moved < steps - 1e-4).float().mean()), 4),
        "door_crossing_rate": round(float(crossed_wall(traj.positions, traj.wall_x).float().mean()), 4),
        "steered_fraction": round(float(traj.steered.float().mean()), 4),
    }
