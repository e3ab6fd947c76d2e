"""CIFAR-10 batch pickles are read without running code (issue 11)."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from jepa_world.data.images.cifar10 import load_cifar10_splits, read_cifar_batch


class _Payload:
    """Unpickling this creates ``target``: proof that a pickle ran code."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


def _batch(n: int, protocol: int = 4) -> bytes:
    data = np.arange(n * 3072, dtype=np.int64).astype(np.uint8).reshape(n, 3072)
    return pickle.dumps({b"data": data, b"labels": [i % 10 for i in range(n)], b"filenames": [b"x.png"] * n},
                        protocol=protocol)


def test_a_malicious_batch_is_refused_without_running_it(tmp_path):
    target = tmp_path / "pwned"
    root = tmp_path / "cifar"
    root.mkdir()
    (root / "data_batch_1").write_bytes(_batch(3))
    evil = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1], b"batch_label": _Payload(target)}
    (root / "test_batch").write_bytes(pickle.dumps(evil))
    with pytest.raises(ValueError, match=r"test_batch: not a readable CIFAR-10 pickle .*refusing to load global "
                                         r"posix.mkdir"):
        load_cifar10_splits(root)
    assert not target.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_of_every_pickle_protocol_still_load(tmp_path, protocol):
    path = tmp_path / "data_batch_1"
    path.write_bytes(_batch(3, protocol))
    images, labels = read_cifar_batch(path)
    assert images.shape == (3, 3, 32, 32) and labels.tolist() == [0, 1, 2]
    assert int(images[1, 0, 0, 0]) == 3072 % 256


def test_a_python2_era_batch_naming_numpy_core_loads(tmp_path):
    """The official archive was pickled by Python 2 and numpy 1: its arrays name numpy.core.multiarray."""
    blob = _batch(2, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in blob
    path = tmp_path / "data_batch_1"
    path.write_bytes(blob)
    images, _ = read_cifar_batch(path)
    assert images.shape == (2, 3, 32, 32)
