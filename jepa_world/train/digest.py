"""A sha256 of the *content* of a saved object, so a file can carry its own checksum.

A checkpoint or weight file cannot hold the hash of its own bytes, but it can hold the hash of what
it stores: :func:`content_digest` walks nested dicts, lists and tuples of tensors, numbers, strings,
bytes and None, and hashes each value with its type, dtype and shape. Saving records the digest
beside the content; loading recomputes it over what was read back, so any flipped byte that changes
a stored value (a weight, an optimizer moment, a step count, a metadata string) is caught, however
the file format parsed it.

Examples:
    >>> import torch
    >>> a = content_digest({"w": torch.ones(2), "step": 3})
    >>> a == content_digest({"w": torch.ones(2), "step": 3}), a == content_digest({"w": torch.ones(2), "step": 4})
    (True, False)
    >>> len(a)
    64
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch


def content_digest(obj: Any) -> str:
    """Hex sha256 of ``obj`` (nested containers of tensors and plain values); TypeError on other types."""
    hasher = hashlib.sha256()
    _feed(hasher, obj)
    return hasher.hexdigest()


def _feed(hasher: Any, obj: Any) -> None:
    """Hash a type tag, then the value; containers recurse in their own (insertion) order."""
    if isinstance(obj, torch.Tensor):
        _feed_tensor(hasher, obj)
    elif isinstance(obj, Mapping):
        _tag(hasher, f"dict:{len(obj)}")
        for key, value in obj.items():
            _feed(hasher, key)
            _feed(hasher, value)
    elif isinstance(obj, list | tuple):
        _tag(hasher, f"{type(obj).__name__}:{len(obj)}")
        for item in obj:
            _feed(hasher, item)
    elif obj is None or isinstance(obj, bool | int | str):
        _tag(hasher, f"{type(obj).__name__}:{obj!r}")
    elif isinstance(obj, float):
        _tag(hasher, f"float:{obj.hex()}")
    elif isinstance(obj, bytes | bytearray):
        _tag(hasher, f"bytes:{len(obj)}")
        hasher.update(bytes(obj))
    else:
        raise TypeError(f"cannot checksum a {type(obj).__name__}; expected tensors, containers or plain values")


def _feed_tensor(hasher: Any, tensor: torch.Tensor) -> None:
    t = tensor.detach().to("cpu").contiguous()
    _tag(hasher, f"tensor:{t.dtype}:{tuple(t.shape)}")
    if t.numel():
        hasher.update(t.reshape(-1).view(torch.uint8).numpy().data)


def _tag(hasher: Any, text: str) -> None:
    data = text.encode("utf-8")
    hasher.update(len(data).to_bytes(8, "little"))
    hasher.update(data)
