"""Shortest paths in the maze (envs/maze/paths.py): closed forms in open rooms and a reference Dijkstra."""

import heapq
import math

import torch

from jepa_world.envs.maze.batch import MazeConfig, sample_episodes
from jepa_world.envs.maze.geometry import is_free
from jepa_world.envs.maze.layout import maze_grid, sample_layouts
from jepa_world.envs.maze.paths import free_lattice, shortest_path_length, shortest_steps
from jepa_world.envs.two_rooms.geometry import MAX_ACTION_NORM, SIZE


def _layout(seed: int = 0) -> torch.Tensor:
    return sample_layouts(1, maze_grid(3), generator=torch.Generator().manual_seed(seed))


def test_free_lattice_agrees_with_is_free():
    doors = _layout(1)
    xs = torch.arange(SIZE, dtype=torch.float64)
    points = torch.stack(torch.meshgrid(xs, xs, indexing="xy"), -1).reshape(-1, 2)  # (x, y) in row-major [y, x]
    ref = is_free(points, doors.expand(points.shape[0], -1)).view(SIZE, SIZE)
    assert torch.equal(free_lattice(doors)[0], ref) and 0 < int(ref.sum()) < SIZE * SIZE


def test_open_room_closed_forms():
    doors = _layout()
    start = torch.tensor([[8.0, 8.0], [8.0, 8.0], [12.0, 12.0]])
    goal = torch.tensor([[18.0, 8.0], [18.0, 18.0], [13.0, 12.0]])
    assert bool(is_free(torch.cat([start, goal]), doors.expand(6, -1)).all())
    length = shortest_path_length(doors.expand(3, -1), start, goal)
    # along an axis: first lattice point within 4.5 px of the goal is 6 px away; on the diagonal 7 diagonal moves;
    # already within the radius: 0
    assert torch.allclose(length, torch.tensor([6.0, 7 * math.sqrt(2), 0.0], dtype=torch.float64))
    assert shortest_steps(doors.expand(3, -1), start, goal).tolist() == [3, 5, 0]  # ceil(L / 2.45)


def _dijkstra(free: torch.Tensor, start, goal, radius: float = 4.5) -> float:
    """Reference: textbook Dijkstra with a heap over the 8-connected free lattice."""
    sx, sy = round(float(start[0])), round(float(start[1]))
    best, heap = {(sx, sy): 0.0}, [(0.0, sx, sy)]
    while heap:
        d, x, y = heapq.heappop(heap)
        if d > best[(x, y)]:
            continue
        if math.hypot(x - float(goal[0]), y - float(goal[1])) < radius:
            return d
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                nx, ny = x + dx, y + dy
                if (dx or dy) and 0 <= nx < SIZE and 0 <= ny < SIZE and bool(free[ny, nx]):
                    nd = d + math.hypot(dx, dy)
                    if nd < best.get((nx, ny), math.inf):
                        best[(nx, ny)] = nd
                        heapq.heappush(heap, (nd, nx, ny))
    return math.inf


def test_matches_a_reference_dijkstra_on_random_episodes():
    ep = sample_episodes(12, MazeConfig(rooms=3), generator=torch.Generator().manual_seed(3))
    length = shortest_path_length(ep.doors, ep.start, ep.goal)
    free = free_lattice(ep.doors)
    ref = torch.tensor([_dijkstra(free[i], ep.start[i], ep.goal[i]) for i in range(12)], dtype=torch.float64)
    assert torch.allclose(length, ref)
    straight = (ep.start - ep.goal).norm(dim=1).double() - 4.5
    assert bool((length >= straight - 1.0).all())  # never shorter than the straight line (up to the lattice)
    assert bool((length > straight + 5).any())  # >= 3 doors apart: some paths detour


def test_unreachable_goal_is_infinite_and_default_budget_leaves_room():
    doors = _layout()
    assert math.isinf(float(shortest_path_length(doors, torch.tensor([[8.0, 8.0]]), torch.tensor([[-30.0, -30.0]]))[0]))
    ep = sample_episodes(100, MazeConfig(), generator=torch.Generator().manual_seed(0))
    steps = shortest_steps(ep.doors, ep.start, ep.goal)
    assert int(steps.max()) * 1.5 < MazeConfig().max_steps  # the budget is >= 1.5x the longest shortest path
    assert float(steps.float().mean()) * MAX_ACTION_NORM > 30  # and the paths are long: several rooms
