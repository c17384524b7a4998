"""Hypothesis profiles, the devices every device-dependent test runs on, and where tests write."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import torch
from hypothesis import HealthCheck, settings

# ci: reproducible (same examples every run) and sized for 2 cores; dev: quicker, random;
# thorough: many more examples, for a long local run. Pick with HYPOTHESIS_PROFILE=...
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=25, deadline=None, print_blob=True)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Tests write only under temporary folders, never into the user's home: each folder below is
# one that minigrad, matplotlib, IPython or Jupyter would otherwise make under ~, pointed at a
# folder of this run unless the caller chose one (`make test` and .ci/run keep MINIGRAD_CACHE
# in the clone, so that the unpacked PNGs are reused from one run to the next).
SCRATCH = tempfile.mkdtemp(prefix="minigrad-tests-")
HOME_FOLDERS = {
    "MINIGRAD_CACHE": "minigrad-cache",  # else ~/.cache/minigrad
    "MPLCONFIGDIR": "matplotlib",  # else ~/.config/matplotlib and ~/.cache/matplotlib
    "IPYTHONDIR": "ipython",  # else ~/.ipython (the notebook tests start a kernel)
    "JUPYTER_RUNTIME_DIR": "jupyter-runtime",  # else ~/.local/share/jupyter/runtime
    "JUPYTER_DATA_DIR": "jupyter-data",  # else ~/.local/share/jupyter
    "JUPYTER_CONFIG_DIR": "jupyter-config",  # else ~/.jupyter
}
for variable, folder in HOME_FOLDERS.items():
    os.environ.setdefault(variable, os.path.join(SCRATCH, folder))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(SCRATCH, ignore_errors=True)


# Tests build tensors on the CPU, as torch's default device is, whether or not a GPU is there
# (minigrad's own default would be CUDA): the ones that take the `device` fixture run on CUDA
# too when a GPU is present. Set MINIGRAD_DEVICE=cuda to run the rest there as well.
os.environ.setdefault("MINIGRAD_DEVICE", "cpu")  # (subprocesses too: examples, torchrun)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Run the test on the CPU, and on CUDA too when a GPU is present."""
    return request.param
