"""Latent subgoal search: a novelty-pruned search tree over macro-actions through a high-level model.

The tree starts at the current latent z0 and grows for ``rounds`` rounds. Each round picks
``width`` nodes to expand per environment: a share ``greedy`` of them the nodes cheapest under the
planner's goal cost, the rest the nodes expanded least often so far (ties broken at random), so
the whole reachable region keeps growing and a node whose macro-actions all hit walls is tried
again with fresh ones. Each picked node gets ``branching`` macro-actions drawn from the model's
prior (:meth:`HighLevelModel.sample_macros`); of the children, up to ``width`` enter the tree,
each at least a *novelty radius* (L2 in latent space) from every node already in it, chosen by
farthest-point selection (the most novel first). The result is the path from the root to the
node with the lowest goal cost plus a small per-macro-action length penalty: a sequence of latent
subgoals, one macro-action apart, that goes around walls instead of into the local minimum of the
goal distance.

The novelty radius is ``novelty`` times the latent length of one macro-action (:func:`macro_scale`,
measured on the first round), so the search needs no knowledge of the latent space's units.
Distances between nodes are taken over the latent dimensions that some node moved away from the
root (:func:`moving_dims`): the others are equal in every node and add nothing to them, and a latent
with a static part (an occupancy map carried through the rollout) is searched at the cost of its
moving part (exact: the set is checked, and widened, every round). A model that predicts its moving dims
on their own (planning/moving.py) is searched with nodes holding only those, its static part read
once per environment.
Everything is batched over N environments; the Python loops run over rounds and beam slots only.

Examples:
    >>> import torch
    >>> from jepa_world.planning.costs import goal_distance_cost
    >>> from jepa_world.planning.high_level import HeldActionModel
    >>> class PointMass:
    ...     def encode(self, obs): return obs
    ...     def step(self, z, a): return z + a
    ...     def rollout(self, z0, actions): return z0[:, None] + actions.cumsum(dim=1)
    >>> high = HeldActionModel(PointMass(), steps=4, max_norm=1.0)
    >>> path = search_subgoals(high, torch.zeros(2, 2), torch.tensor([[10.0, 0.0], [0.0, -6.0]]),
    ...                        cost=goal_distance_cost("l2", reduce="last"),
    ...                        config=SubgoalSearchConfig(rounds=4, width=8, branching=8),
    ...                        generator=torch.Generator().manual_seed(0))
    >>> path.latents.shape[0], path.latents.shape[2], bool((path.cost < 2.5).all())
    (2, 2, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from jepa_world.planning.costs import moving_path
from jepa_world.planning.high_level import HighLevelModel
from jepa_world.planning.protocols import CostFn


@dataclass
class SubgoalSearchConfig:
    """Settings of the latent subgoal tree search."""

    rounds: int = 10
    """Expansion rounds (a path can be at most this many macro-actions long)."""
    width: int = 24
    """Nodes expanded per round and environment, and most nodes added per round."""
    branching: int = 8
    """Macro-actions tried from every expanded node."""
    novelty: float = 0.2
    """A new node lies at least novelty x (latent length of one macro-action, see macro_scale) from all others."""
    greedy: float = 0.25
    """Share of the expanded nodes chosen as the cheapest under the goal cost (the rest: least expanded first)."""
    length_penalty: float = 0.05
    """Cost per macro-action on the path, in units of the macro-action length: the shorter of two equal paths wins."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value."""
        for name in ("rounds", "width", "branching"):
            if getattr(self, name) < 1:
                raise ValueError(f"SubgoalSearchConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.novelty < 0 or self.length_penalty < 0:
            raise ValueError(f"SubgoalSearchConfig needs novelty >= 0 and length_penalty >= 0, got "
                             f"{self.novelty}, {self.length_penalty}")
        if not 0.0 <= self.greedy <= 1.0:
            raise ValueError(f"SubgoalSearchConfig.greedy must be in [0, 1], got {self.greedy}")


@dataclass
class SubgoalPath:
    """The best path of a search for N environments (L = the longest path among them)."""

    latents: Tensor
    """(N, L, D) the nodes after each macro-action, root excluded; rows shorter than L repeat their last node."""
    macros: Tensor
    """(N, L, M) the macro-actions leading to them (zeros in the padding)."""
    length: Tensor
    """(N,) int64 number of real nodes per row (0: no node beats staying at the root)."""
    cost: Tensor
    """(N,) goal cost of the path's last node (the root's when length is 0)."""
    nodes: Tensor
    """(N,) int64 nodes in each tree (for statistics)."""
    scale: Tensor
    """(N,) latent length of one macro-action (the unit of novelty, see macro_scale)."""


class _Tree:
    """N search trees in preallocated tensors of V slots: latents (N, V, D), macro (N, V, M), parent, depth,
    expansions (N, V) int64, goal cost (N, V), valid (N, V) bool; ``size`` slots are in use."""

    def __init__(self, z0: Tensor, goal_cost: Tensor, macro_dim: int, slots: int) -> None:
        n, d = z0.shape
        self.latents = z0.new_zeros(n, slots, d)
        self.macro = z0.new_zeros(n, slots, macro_dim)
        self.parent = torch.full((n, slots), -1, dtype=torch.long, device=z0.device)
        self.depth = torch.zeros(n, slots, dtype=torch.long, device=z0.device)
        self.expansions = torch.zeros(n, slots, dtype=torch.long, device=z0.device)
        self.goal_cost = z0.new_full((n, slots), float("inf"))
        self.valid = torch.zeros(n, slots, dtype=torch.bool, device=z0.device)
        self.latents[:, 0], self.goal_cost[:, 0], self.valid[:, 0] = z0, goal_cost, True
        self.size = 1

    def add(self, latents: Tensor, macro: Tensor, parent: Tensor, goal_cost: Tensor, valid: Tensor) -> None:
        """Append W nodes per row: latents (N, W, D), macro (N, W, M), parent (N, W), goal_cost (N, W), valid (N, W)."""
        rows = torch.arange(latents.shape[0], device=latents.device)[:, None]
        new = slice(self.size, self.size + latents.shape[1])
        self.latents[:, new], self.macro[:, new], self.parent[:, new] = latents, macro, parent
        self.depth[:, new] = self.depth[rows, parent] + 1
        self.goal_cost[:, new] = goal_cost.masked_fill(~valid, float("inf"))
        self.valid[:, new] = valid
        self.size += latents.shape[1]


def macro_scale(children: Tensor, z0: Tensor, *, quantile: float = 0.9) -> Tensor:
    """The latent length of one macro-action: children (N, C, D) of roots z0 (N, D) -> (N,) (the same for all rows).

    The ``quantile`` of the displacements pooled over the batch: a macro-action blocked by a wall
    right away moves little, so a per-row median would shrink in corners; the upper quantile of
    the pooled batch measures an unobstructed macro-action and is a property of the latent space.
    """
    moved = torch.linalg.vector_norm(children - z0[:, None], dim=-1).flatten()  # (N * C,)
    value = torch.quantile(moved.float(), quantile).to(z0.dtype).clamp_min(1e-6)
    return value.expand(z0.shape[0])


def moving_dims(children: Tensor, z0: Tensor, known: Tensor | None = None) -> Tensor:
    """Indices of the latent dims where some child (N, C, D) differs from its root z0 (N, D), joined with the
    ``known`` ones: (K,) int64, sorted. Node-to-node distances over them equal those over all D dims."""
    moved = (children != z0[:, None]).flatten(0, 1).any(dim=0)  # (D,)
    if known is not None:
        moved[known] = True
    return torch.nonzero(moved).flatten()


def _pick(tree: _Tree, width: int, greedy: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Nodes to expand: (N, F) indices and validity, F = min(width, size); greedy ones first."""
    size = tree.size
    f = min(width, size)
    valid = tree.valid[:, :size]
    jitter = torch.rand(valid.shape, generator=generator, device=generator.device).to(valid.device)
    depth = tree.depth[:, :size].float() / (tree.depth[:, :size].max() + 1)  # in [0, 1): shallow first
    least = (-tree.expansions[:, :size].float() - depth + jitter / (size + 1)).masked_fill(~valid, -float("inf"))
    cheap = (-tree.goal_cost[:, :size]).masked_fill(~valid, -float("inf"))
    g = min(greedy, f)
    picks = cheap.topk(g, dim=1).indices if g else cheap.new_zeros(cheap.shape[0], 0, dtype=torch.long)
    least = least.scatter(1, picks, -float("inf"))  # do not pick a node twice
    rest = least.topk(f - g, dim=1).indices
    index = torch.cat([picks, rest], dim=1)  # (N, F)
    return index, valid.gather(1, index)


class _NodeSpace:
    """What a tree node holds: the full latent, or only its moving dims (planning/moving.py) when the model predicts
    them on their own and the cost is a GoalDistanceCost; the static rest is z0's in every node."""

    def __init__(self, model: HighLevelModel, cost: CostFn, z0: Tensor, goal: Tensor) -> None:
        self.fast = moving_path(model, cost, z0.shape[1])
        self.model, self.cost, self.z0, self.goal = model, cost, z0, goal
        self.root = z0[:, : self.fast.moving_dims] if self.fast else z0  # (N, Dt)

    def step(self, parents: Tensor, macros: Tensor) -> Tensor:
        """parents (N, C, Dt), macros (N, C, M) -> children (N, C, Dt)."""
        n, c, dt = parents.shape
        if self.fast:
            children = self.fast(self.z0, macros.reshape(n * c, 1, -1), moving=parents.reshape(n * c, dt))
            return children[:, 0].reshape(n, c, -1)
        return self.model.step(parents.reshape(n * c, dt), macros.reshape(n * c, -1)).reshape(n, c, -1)

    def goal_cost(self, latents: Tensor) -> Tensor:
        """latents (N, V, Dt) -> cost (N, V) of each as a one-step trajectory."""
        if self.fast:
            return self.cost.moving(latents.unsqueeze(2), self.goal, static=self.z0[:, self.fast.moving_dims:])
        return self.cost(latents.unsqueeze(2), self.goal)

    def full(self, latents: Tensor) -> Tensor:
        """latents (N, L, Dt) -> (N, L, D)."""
        if not self.fast:
            return latents
        static = self.z0[:, None, self.fast.moving_dims:]
        return torch.cat([latents, static.expand(-1, latents.shape[1], -1)], dim=2)


def _expand(model: HighLevelModel, space: _NodeSpace, nodes: Tensor, branching: int,
            generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """nodes (N, F, Dt) -> children (N, F * B, Dt) and their macro-actions (N, F * B, M)."""
    n, f, _ = nodes.shape
    macros = model.sample_macros(n * f * branching, generator=generator).to(nodes)  # (N*F*B, M)
    parents = nodes.repeat_interleave(branching, dim=1)  # (N, F*B, Dt)
    macros = macros.view(n, f * branching, -1)
    return space.step(parents, macros), macros


def _select(children: Tensor, novelty: Tensor, *, radius: Tensor, width: int) -> tuple[Tensor, Tensor]:
    """Farthest-point selection of up to ``width`` children per row, each ``radius`` from the others.

    children (N, C, D), novelty (N, C) distance to the tree (-inf for invalid children), radius (N,)
    -> index (N, W), valid (N, W).
    """
    novelty = novelty.clone()
    picks, oks = [], []
    rows = torch.arange(children.shape[0], device=children.device)
    for _ in range(min(width, children.shape[1])):
        best = novelty.argmax(dim=1)  # (N,)
        picks.append(best)
        oks.append(novelty[rows, best] >= radius)
        d = torch.linalg.vector_norm(children - children[rows, best][:, None], dim=-1)  # (N, C)
        novelty = torch.minimum(novelty, d)
    return torch.stack(picks, 1), torch.stack(oks, 1)


@torch.no_grad()
def search_subgoals(model: HighLevelModel, z0: Tensor, goal: Tensor, *, cost: CostFn, config: SubgoalSearchConfig,
                    generator: torch.Generator) -> SubgoalPath:
    """Search latent subgoals from z0 (N, D) toward goal (N, D); see the module docstring."""
    n = z0.shape[0]
    space = _NodeSpace(model, cost, z0, goal)
    root = space.root  # (N, Dt)
    tree = _Tree(root, space.goal_cost(root[:, None])[:, 0], model.macro_dim, 1 + config.rounds * config.width)
    rows = torch.arange(n, device=z0.device)[:, None]
    greedy = round(config.greedy * config.width)
    radius = scale = dims = None
    for _ in range(config.rounds):
        index, ok = _pick(tree, config.width, greedy, generator)  # (N, F)
        tree.expansions[rows, index] += ok.long()
        children, macros = _expand(model, space, tree.latents[rows, index], config.branching, generator)  # (N, C, Dt)
        if scale is None:
            scale = macro_scale(children, root)
            radius = config.novelty * scale  # (N,)
        dims = moving_dims(children, root, dims)  # (K,): every node equals the root elsewhere
        moving = children[..., dims]  # (N, C, K)
        kept = tree.latents[:, :tree.size][..., dims]  # (N, V, K)
        novelty = torch.cdist(moving, kept).masked_fill(~tree.valid[:, None, :tree.size], float("inf")).amin(2)
        novelty = novelty.masked_fill(~ok.repeat_interleave(config.branching, dim=1), -float("inf"))  # (N, C)
        pick, fresh = _select(moving, novelty, radius=radius, width=config.width)  # (N, W)
        parent = index.repeat_interleave(config.branching, dim=1).gather(1, pick)
        latents = children[rows, pick]
        tree.add(latents, macros[rows, pick], parent, space.goal_cost(latents), fresh)
    path = _best_path(tree, scale=scale, config=config)
    path.latents = space.full(path.latents)
    return path


def _best_path(tree: _Tree, *, scale: Tensor, config: SubgoalSearchConfig) -> SubgoalPath:
    """The path from the root to the node of lowest goal cost + length penalty."""
    size = tree.size
    score = tree.goal_cost[:, :size] + config.length_penalty * scale[:, None] * tree.depth[:, :size]
    best = score.masked_fill(~tree.valid[:, :size], float("inf")).argmin(dim=1)  # (N,)
    rows = torch.arange(best.shape[0], device=best.device)
    length = tree.depth[rows, best]  # (N,)
    longest = int(length.max())
    out_z = tree.latents[:, :1].expand(-1, longest, -1).clone()  # rows of length 0 stay at the root
    out_m = tree.macro.new_zeros(best.shape[0], longest, tree.macro.shape[2])
    node = best.clone()
    for k in range(longest - 1, -1, -1):  # slot k holds the node at depth k + 1
        here = length > k
        out_z[here, k] = tree.latents[rows[here], node[here]]
        out_m[here, k] = tree.macro[rows[here], node[here]]
        node = torch.where(here, tree.parent[rows, node], node)
    for k in range(1, longest):  # padding repeats the last real node
        pad = length <= k
        out_z[pad, k] = out_z[pad, k - 1]
    return SubgoalPath(latents=out_z, macros=out_m, length=length, cost=tree.goal_cost[rows, best],
                       nodes=tree.valid[:, :size].sum(1), scale=scale)
