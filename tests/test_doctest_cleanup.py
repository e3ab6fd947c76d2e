"""Doctests that write files clean up after themselves (issue 11)."""

import doctest
import importlib
import tempfile

import pytest

MODULES = ["jepa_world.train.checkpoint", "jepa_world.train.logger", "jepa_world.train.run_lock",
           "jepa_world.data.images.cifar10", "jepa_world.data.images.folder", "jepa_world.data.video.moving_mnist",
           "jepa_world.data.shard_stream"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests_leave_no_temporary_folders(tmp_path, monkeypatch, name):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, name
    assert list(tmp_path.iterdir()) == []
