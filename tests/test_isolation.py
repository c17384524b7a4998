"""The test suite leaves the user's home alone: every folder it writes to is a temporary one, or
one the caller chose (make test and .ci/run keep MINIGRAD_CACHE inside the clone)."""

from __future__ import annotations

import os
from pathlib import Path

from minigrad.data.mnist import default_cache_dir

HOME = Path.home().resolve()
# Where minigrad, matplotlib, IPython and Jupyter write when nothing tells them otherwise.
DEFAULT_PLACES = [HOME / ".cache", HOME / ".config", HOME / ".local", HOME / ".ipython"]
DEFAULT_PLACES.append(HOME / ".jupyter")


def is_a_default_place(folder: Path) -> bool:
    folder = folder.resolve()
    return folder == HOME or any(p == folder or p in folder.parents for p in DEFAULT_PLACES)


def test_every_folder_the_tools_write_to_is_pointed_away_from_the_home_defaults():
    for variable in ("MINIGRAD_CACHE", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_RUNTIME_DIR"):
        assert variable in os.environ, f"tests/conftest.py should set {variable}"
        assert not is_a_default_place(Path(os.environ[variable])), os.environ[variable]
    assert not is_a_default_place(default_cache_dir())


def test_the_check_above_can_fail():
    assert is_a_default_place(HOME / ".cache" / "minigrad")
    assert not is_a_default_place(Path("/tmp/minigrad-tests-x/minigrad-cache"))
