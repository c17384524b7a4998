"""Hypothesis profiles and the devices every device-dependent test runs on."""

from __future__ import annotations

import os

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

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Run the test on the CPU, and on CUDA too when a GPU is present."""
    return request.param
