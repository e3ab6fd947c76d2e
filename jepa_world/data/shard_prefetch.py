"""A bounded read-ahead of numbered items (shards of a dataset on disk), loaded by one background thread.

``get(i)`` returns item ``i`` (waiting for its load when it is still on its way); ``ahead(ids)`` starts
loading the items the reader will want next. At most ``capacity`` items are resident or in flight: the
ones asked for most recently are kept, so memory stays bounded however large the dataset is.

Examples:
    >>> loads = []
    >>> reader = Prefetcher(lambda i: loads.append(i) or i * 10, capacity=2)
    >>> reader.get(3), reader.get(3)
    (30, 30)
    >>> reader.ahead([4]); reader.get(4), sorted(reader.resident())
    (40, [3, 4])
    >>> reader.get(5); sorted(reader.resident()), loads
    50
    ([4, 5], [3, 4, 5])
    >>> reader.close()
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class Prefetcher(Generic[T]):
    """``get(i) -> load(i)`` with up to ``capacity`` items kept or loading (rule in the module docstring)."""

    def __init__(self, load: Callable[[int], T], capacity: int = 2) -> None:
        if capacity < 1:
            raise ValueError(f"Prefetcher capacity must be >= 1, got {capacity}")
        self.load, self.capacity = load, capacity
        self._items: OrderedDict[int, Future[T]] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-prefetch")

    def get(self, index: int) -> T:
        """Item ``index``; a load error is raised here, in the reader's thread."""
        return self._submit(index).result()

    def ahead(self, indices: Iterable[int]) -> None:
        """Start loading ``indices`` (those that fit beside the items in use) in the background."""
        for index in list(indices)[: self.capacity - 1]:
            if index not in self._items:
                self._submit(index, touch=False)

    def resident(self) -> list[int]:
        """The items kept or loading, oldest use first."""
        return list(self._items)

    def close(self) -> None:
        """Stop the background thread (pending loads are cancelled)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._items.clear()

    def _submit(self, index: int, *, touch: bool = True) -> Future[T]:
        future = self._items.get(index)
        if future is None:
            future = self._pool.submit(self.load, index)
            self._items[index] = future
        if touch:
            self._items.move_to_end(index)
        while len(self._items) > self.capacity:
            _, dropped = self._items.popitem(last=False)
            dropped.cancel()
        return future
