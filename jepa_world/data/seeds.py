"""Seeds mixed from integers: every (seed, position, tag) tuple gets an unrelated generator.

Examples:
    >>> mixed_seed(0, 1) == mixed_seed(0, 1), mixed_seed(0, 1) == mixed_seed(1, 0)
    (True, False)
"""

from __future__ import annotations

_MIX = 0x9E3779B97F4A7C15  # 64-bit golden-ratio constant: spreads (seed, step) pairs over seeds


def mixed_seed(*parts: int) -> int:
    """A 63-bit seed from integers (distinct tuples give unrelated generators)."""
    h = 0
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * _MIX + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h & 0x7FFFFFFFFFFFFFFF
