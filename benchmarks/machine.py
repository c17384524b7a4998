"""What ran the benchmark: the CPU, its cores, the GPU if any, the versions and the date."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def uptime() -> str:
    """What `uptime` says now (the load averages over 1, 5 and 15 minutes), or the averages."""
    try:
        done = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5)
        if done.returncode == 0 and done.stdout.strip():
            return " ".join(done.stdout.split())
    except (OSError, subprocess.SubprocessError):
        pass
    return f"load average: {load_average()}"


def describe(device: str) -> dict[str, Any]:
    import minigrad

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": None,
        "device": device,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "minigrad": minigrad.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": load_average(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info
