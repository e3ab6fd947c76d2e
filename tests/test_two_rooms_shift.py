"""Shift benchmarks of Two Rooms: each shift is enforced by both collision rules and drawn where it is physical."""

from __future__ import annotations

import pytest
import torch

from jepa_world.config import from_dict
from jepa_world.envs.two_rooms import geometry as geo
from jepa_world.envs.two_rooms.batch import TwoRoomsBatch, TwoRoomsConfig, sample_episodes
from jepa_world.envs.two_rooms.physics import apply_action
from jepa_world.envs.two_rooms.render import render_walls
from jepa_world.envs.two_rooms.shift import Shift, in_keep_out, parse_shift

RULES = ("ebjepa", "strict")
WALL_X, DOOR_Y = torch.tensor([32]), torch.tensor([18])


def _walk(start, action, shift, physics, steps=30, seed=0):
    """Positions (steps + 1, 2) of one agent repeating ``action`` (noise drawn under 'ebjepa')."""
    g = torch.Generator().manual_seed(seed)
    p = torch.tensor([start], dtype=torch.float64)
    path = [p[0]]
    for _ in range(steps):
        p = apply_action(p, torch.tensor([action]), WALL_X, DOOR_Y, physics=physics, generator=g, shift=shift)
        path.append(p[0])
    return torch.stack(path)


@pytest.mark.parametrize("physics", RULES)
def test_gain_scales_and_drift_offsets_the_displacement_exactly_in_free_space(physics):
    p = torch.tensor([[12.0, 40.0], [45.0, 50.0]], dtype=torch.float64)
    a = torch.tensor([[1.5, -0.75], [-2.0, 1.0]], dtype=torch.float64)
    two = WALL_X.repeat(2), DOOR_Y.repeat(2)
    plain = apply_action(p, a, *two, physics=physics)
    half = apply_action(p, a, *two, physics=physics, shift=Shift(gain=0.5))
    drift = apply_action(p, torch.zeros_like(a), *two, physics=physics, shift=Shift(drift=(0.5, -0.25)))
    assert torch.equal(plain - p, a)
    assert torch.equal(half - p, 0.5 * a)
    assert torch.equal(drift - p, torch.tensor([[0.5, -0.25]] * 2, dtype=torch.float64))


def test_the_env_applies_the_gain():
    env = TwoRoomsBatch(3, TwoRoomsConfig(gain=0.5))
    env.reset(seed=1)
    before = env.pos.clone()
    env.step(torch.full((3, 2), 0.4))  # 0.57 px: free for starts >= 2.6 px from the walls
    assert torch.allclose(env.pos - before, torch.full((3, 2), 0.2), atol=1e-6)


@pytest.mark.parametrize("physics", RULES)
@pytest.mark.parametrize("obstacle", ["pillar", "segment"])
def test_an_agent_cannot_cross_a_new_obstacle(physics, obstacle):
    shift = Shift(obstacle=obstacle)
    c0, r0, c1, r1 = shift.blocks(WALL_X, DOOR_Y)[0, 0].tolist()  # the left room's block
    if obstacle == "pillar":  # walk right, through the pillar's middle row
        start, action, axis, face = (float(c0 - 4), float(r0 + 2)), (2.0, 0.0), 0, c0
    else:  # walk down, across the segment
        start, action, axis, face = (float(c1 - 3), float(r0 - 6)), (0.0, 2.0), 1, r0
    blocked = _walk(start, action, shift, physics)
    free = _walk(start, action, Shift(), physics)
    assert float(blocked[:, axis].max()) <= face, blocked[:, axis].max()  # never past the block's first face
    assert float(free[:, axis].max()) > (c1 if axis == 0 else r1) + 1  # the unshifted world lets it through


@pytest.mark.parametrize("physics", RULES)
def test_a_narrower_door_blocks_a_path_the_normal_door_allows(physics):
    y = float(DOOR_Y[0] + 3)  # inside the 9 px door, outside the 5 px one
    normal = _walk((26.0, y), (1.5, 0.0), Shift(), physics, steps=10)
    narrow = _walk((26.0, y), (1.5, 0.0), Shift(door_half=2), physics, steps=10)
    centre = _walk((26.0, float(DOOR_Y[0])), (1.5, 0.0), Shift(door_half=2), physics, steps=10)
    assert float(normal[-1, 0]) > 36 and float(centre[-1, 0]) > 36  # through the door
    assert float(narrow[:, 0].max()) <= 31.0  # stopped at the wall's face (x = wall_x - 1)


def test_each_physical_shift_is_drawn_as_wall_pixels():
    plain = render_walls(WALL_X, DOOR_Y)[0]
    for obstacle in ("pillar", "segment"):
        shift = Shift(obstacle=obstacle)
        drawn = render_walls(WALL_X, DOOR_Y, shift=shift)[0]
        for c0, r0, c1, r1 in shift.blocks(WALL_X, DOOR_Y)[0].tolist():
            assert bool((drawn[r0:r1 + 1, c0:c1 + 1] == 1).all())
        added = int((drawn - plain).sum())
        expected = 2 * 7 * 7 if obstacle == "pillar" else int(drawn.sum() - plain.sum())
        assert added == expected and bool((drawn >= plain).all())
    narrow = render_walls(WALL_X, DOOR_Y, shift=Shift(door_half=2))[0]
    diff = (narrow - plain).nonzero().tolist()  # rows door_y +- 3, +- 4 of the wall's 3 columns close
    assert sorted({r for r, _ in diff}) == [14, 15, 21, 22] and sorted({c for _, c in diff}) == [31, 32, 33]
    env = TwoRoomsBatch(2, TwoRoomsConfig(obstacle="pillar", door_half=2))
    obs, info = env.reset(seed=3)
    want = render_walls(info["wall_x"], info["door_y"], shift=Shift(obstacle="pillar", door_half=2))
    assert torch.equal(obs[:, 1], want) and torch.equal(info["goal_obs"][:, 1], want)


def test_episodes_keep_clear_of_obstacles_and_unshifted_ones_are_unchanged():
    shift = Shift(obstacle="pillar")
    ep = sample_episodes(400, generator=torch.Generator().manual_seed(0), shift=shift)
    blocks = shift.blocks(ep.wall_x, ep.door_y)
    for points in (ep.start, ep.goal):
        assert not bool(in_keep_out(points.double(), blocks, margin=geo.START_MARGIN - 1e-3).any())
    a = sample_episodes(50, generator=torch.Generator().manual_seed(4))
    b = sample_episodes(50, generator=torch.Generator().manual_seed(4), shift=Shift(gain=0.5))
    assert torch.equal(a.start, b.start) and torch.equal(a.goal, b.goal)


def test_shift_names_and_old_configs():
    assert parse_shift("gain0.5") == Shift(gain=0.5)
    assert parse_shift("drift0.5,-1+segment") == Shift(drift=(0.5, -1.0), obstacle="segment")
    assert parse_shift("none").is_none
    with pytest.raises(ValueError, match="'wobble'"):
        parse_shift("wobble")
    with pytest.raises(ValueError, match="door_half"):
        TwoRoomsConfig(door_half=0)
    old = from_dict(TwoRoomsConfig, {"fixed_wall": True, "max_steps": 200, "success_radius": 4.5,
                                     "max_action_norm": None, "physics": "strict", "walls": "arena"})
    assert old.shift().is_none and old.fixed_wall
