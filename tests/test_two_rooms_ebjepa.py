"""The 'ebjepa' Two Rooms rule against hand-computed wall crossings, and data generation == env stepping."""

from __future__ import annotations

import math

import pytest
import torch

from jepa_world.data.two_rooms_gen import TwoRoomsDataConfig, generate
from jepa_world.envs.two_rooms.batch import Episodes, TwoRoomsBatch, TwoRoomsConfig
from jepa_world.envs.two_rooms.ebjepa import FALLBACK, MEAN_PUSH, NOISE_STD, first_crossing, move_ebjepa
from jepa_world.envs.two_rooms.physics import apply_action

WX, DY = torch.tensor([32]), torch.tensor([18])  # faces x = 31 and 33, door rows 14..22


def move(p, a, noise=None, wx=WX, dy=DY):
    """One agent: p, a as lists -> new position as a list (noise given as standard-normal draws)."""
    n = None if noise is None else torch.tensor([noise], dtype=torch.float64)
    out = move_ebjepa(torch.tensor([p], dtype=torch.float64), torch.tensor([a], dtype=torch.float64), wx, dy,
                      noise=n)
    return out[0].tolist()


def test_free_moves_are_exact_and_unclipped():
    assert move([20.0, 40.0], [1.5, -0.5]) == pytest.approx([21.5, 39.5])
    assert move([10.0, 40.0], [5.0, 0.0]) == pytest.approx([15.0, 40.0])  # no norm clip in the env rule
    # the agent's centre may reach the wall pixels' centre lines: 4 and wall_x - 1
    assert move([4.5, 40.0], [-0.5, 0.0], noise=[0.0, 0.0]) == pytest.approx([4.3, 40.0])  # reached -> fallback


def test_middle_wall_face_stops_the_move_and_pushes_back():
    # from x = 30 right by 2 at y = 40 (no door): crosses x = 31 at t = 0.5
    assert move([30.0, 40.0], [2.0, 0.0], noise=[1.0, 0.4]) == pytest.approx([31.0 - 0.5, 40.0 + 0.2])
    assert move([30.0, 40.0], [2.0, 0.0], noise=[-1.0, 0.0]) == pytest.approx([30.5, 40.0])  # |noise| on the normal
    # diagonal: crossing at t = 0.5 -> (31, 41); noise-free model pushes back by E|N(0, 0.5^2)|
    assert move([30.0, 40.0], [2.0, 2.0]) == pytest.approx([31.0 - MEAN_PUSH, 41.0])
    # from the right room leftwards onto x = 33
    assert move([34.0, 30.0], [-2.0, 0.0], noise=[0.2, 0.0]) == pytest.approx([33.0 + 0.1, 30.0])


def test_move_through_the_door_slot_is_free():
    assert move([29.5, 18.0], [2.4, 0.0]) == pytest.approx([31.9, 18.0])  # into the slot
    assert move([30.5, 21.0], [2.4, 0.5]) == pytest.approx([32.9, 21.5])  # into the slot, below its edge
    assert move([31.5, 18.0], [2.0, 0.0]) == pytest.approx([33.5, 18.0])  # out of the slot on the other side


def test_vertical_move_inside_the_door_slot_stops_at_the_door_edge():
    # the reference lets an exactly vertical move pass through the door edge y = 22; here it stops
    out = move([32.0, 21.0], [0.0, 2.0], noise=[0.0, 1.0])
    assert out == pytest.approx([32.0, 22.0 - 0.5])
    out = move([32.5, 15.0], [0.0, -2.0], noise=[0.4, -1.0])  # door edge y = 14, from above (y decreasing)
    assert out == pytest.approx([32.5 + 0.2, 14.0 + 0.5])  # no clamp after a door-edge hit


def test_moves_along_and_across_the_border():
    # along the top border line y = 4 (never crossing it): free
    assert move([10.0, 4.5], [2.0, 0.0]) == pytest.approx([12.0, 4.5])
    # exactly vertical across the top border: stops on y = 4 (the reference gives NaN here)
    out = move([10.0, 5.0], [0.0, -2.0], noise=[0.0, 1.0])
    assert all(math.isfinite(v) for v in out) and out == pytest.approx([10.0, 4.5])
    # exactly vertical across the bottom border y = 60, with noise along the wall
    assert move([50.0, 59.0], [0.0, 2.0], noise=[0.6, -0.2]) == pytest.approx([50.3, 59.9])


def test_corner_takes_the_first_crossing_and_clamps_to_the_side():
    # heading down-left into the corner (4, 60): crosses x = 4 at t = 0.5 (y = 59.67); y = 60 only at x = 3.5
    out = move([5.0, 59.0], [-2.0, 1.333333], noise=[0.0, 2.0])
    # x pushed back by |0| stays on the line x = 4 and y = 59.67 + 1.0 is clamped to 60: both set FALLBACK inside
    assert out == pytest.approx([4.0 + FALLBACK, 60.0 - FALLBACK])
    t, k = first_crossing(torch.tensor([[5.0, 59.0]], dtype=torch.float64),
                          torch.tensor([[-2.0, 1.333333]], dtype=torch.float64), WX, DY)
    assert t.item() == pytest.approx(0.5) and k.item() == 0  # segment 0: x = 4


def test_noise_has_the_stated_law():
    n = 20_000
    p = torch.tensor([[30.0, 40.0]], dtype=torch.float64).expand(n, 2)
    a = torch.tensor([[2.0, 0.0]], dtype=torch.float64).expand(n, 2)
    g = torch.Generator().manual_seed(0)
    out = apply_action(p, a, WX.expand(n), DY.expand(n), physics="ebjepa", generator=g)
    push_x, along_y = out[:, 0] - 31.0, out[:, 1] - 40.0
    assert (push_x < 0).all()  # always back to the side it came from
    assert push_x.abs().mean().item() == pytest.approx(MEAN_PUSH, abs=0.01)
    assert along_y.std().item() == pytest.approx(NOISE_STD, abs=0.01) and abs(along_y.mean().item()) < 0.01


def test_data_generation_and_env_stepping_are_the_same_rule():
    """An env seeded like the generator's noise stream, given the data's starts and actions, replays the data."""
    n, cfg = 64, TwoRoomsDataConfig(length=33)
    traj = generate(n, cfg, generator=torch.Generator().manual_seed(5),
                    noise_generator=torch.Generator().manual_seed(11))
    env = TwoRoomsBatch(n, TwoRoomsConfig(max_steps=32))
    episodes = Episodes(traj.wall_x, traj.door_y, traj.positions[:, 0], traj.positions[:, -1])
    env.reset(seed=11, episodes=episodes)
    for t in range(32):
        _, info = env.step(traj.actions[:, t])
        assert (info["pos"] - traj.positions[:, t + 1]).abs().max() < 1e-4
    blocked = ((traj.positions[:, 1:] - traj.positions[:, :-1]) - traj.actions).norm(dim=-1) > 1e-4
    assert blocked.any()  # the replay went through collisions, noise included


def test_rules_are_validated():
    with pytest.raises(ValueError, match="physics"):
        TwoRoomsConfig(physics="bouncy")
    with pytest.raises(ValueError, match="walls"):
        TwoRoomsDataConfig(walls="none").validate()
