"""System facts: the checkout, git, package versions, CPU and GPU, CUDA compatibility."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

TRACKED_PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "accelerate", "datasets", "mcp")


def project_root() -> Path:
    """The checkout: $MCPFT_ROOT, else the folder above mcpft_lib that holds params/ and notebooks/."""
    if env := os.environ.get("MCPFT_ROOT"):
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]  # mcpft_lib/core/system.py -> the checkout
    if (here / "notebooks").is_dir():
        return here
    return Path.cwd().resolve()


def cache_root() -> Path:
    """Downloads and installs kept between runs: $MCPFT_CACHE, else ~/.cache/mcpft."""
    return Path(os.environ.get("MCPFT_CACHE", Path.home() / ".cache" / "mcpft")).resolve()


def git_info(root: Path | None = None) -> dict:
    root = root or project_root()

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    sha = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "sha": sha or None,
        "short": sha[:7] if sha else "nogit",
        "dirty": dirty,
        "branch": git("branch", "--show-current"),
    }


def versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in TRACKED_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def hardware_summary() -> dict:
    """Cheap facts for run.json (the full report is notebook 00's hardware.json)."""

    smi = nvidia_smi()
    return {
        "cpu": cpu_info(),
        "gpus": (smi or {}).get("gpus", []),
        "driver": (smi or {}).get("driver_version"),
    }


GIB = 1024**3

# Minimum Linux driver for each CUDA toolkit release (NVIDIA CUDA release notes, table 3).
CUDA_MIN_DRIVER: dict[str, str] = {
    "11.8": "520.61.05",
    "12.0": "525.60.13",
    "12.1": "530.30.02",
    "12.2": "535.54.03",
    "12.3": "545.23.06",
    "12.4": "550.54.14",
    "12.5": "555.42.02",
    "12.6": "560.28.03",
    "12.8": "570.26",
    "12.9": "575.51.03",
    "13.0": "580.65.06",
}


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def _run(cmd: list[str], timeout: float = 10.0) -> str | None:
    """Output of a command, or None when it is missing or fails (never raises)."""
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def nvidia_smi() -> dict[str, Any] | None:
    """Driver version, the driver's highest CUDA version and the GPUs as `nvidia-smi` sees them, or None."""
    out = _run(["nvidia-smi", "--query-gpu=driver_version,name,memory.total", "--format=csv,noheader"])
    if not out or not out.strip():
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            mem = re.match(r"([\d.]+)\s*MiB", parts[2])
            gpus.append(
                {
                    "driver_version": parts[0],
                    "name": parts[1],
                    "memory_gib": round(float(mem.group(1)) / 1024, 2) if mem else None,
                }
            )
    if not gpus:
        return None
    header = _run(["nvidia-smi"]) or ""
    m = re.search(r"CUDA Version:\s*([\d.]+)", header)
    return {
        "driver_version": gpus[0]["driver_version"],
        "driver_cuda": m.group(1) if m else None,
        "gpus": gpus,
    }


def cpu_info() -> dict[str, Any]:
    """CPU model, logical/usable cores and RAM (from /proc where available)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("MemTotal", "MemAvailable"):
                mem[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    if "MemTotal" not in mem:
        try:
            mem["MemTotal"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "model": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_total_gib": round(mem["MemTotal"] / GIB, 2) if "MemTotal" in mem else None,
        "ram_available_gib": round(mem["MemAvailable"] / GIB, 2) if "MemAvailable" in mem else None,
    }


def check_compatibility(
    torch_cuda: str | None, cuda_available: bool, smi: dict[str, Any] | None
) -> tuple[bool, list[str]]:
    """Verdict on torch build vs driver vs GPU presence: (compatible, warnings). Pure, so it is testable."""
    warnings: list[str] = []
    gpu_present = smi is not None
    if torch_cuda is None:
        if gpu_present:
            warnings.append(
                "torch is a CPU-only build but an NVIDIA GPU is present: install the CUDA build of torch "
                "(README, 'GPU install')."
            )
            return False, warnings
        return True, warnings
    if not gpu_present:
        if not cuda_available:
            warnings.append(f"torch is built for CUDA {torch_cuda} but no NVIDIA driver/GPU was found.")
        return cuda_available, warnings
    compatible = True
    driver = smi.get("driver_version") or ""
    driver_cuda = smi.get("driver_cuda")
    build = _version_tuple(torch_cuda)[:2]
    if driver_cuda:
        supported = _version_tuple(driver_cuda)[:2]
        if build[0] > supported[0]:
            compatible = False
            warnings.append(
                f"torch is built for CUDA {torch_cuda}, driver {driver} supports up to CUDA {driver_cuda}: "
                "upgrade the driver or install a torch build for an older CUDA."
            )
        elif build > supported:
            warnings.append(
                f"torch is built for CUDA {torch_cuda}, newer than the driver's CUDA {driver_cuda} "
                f"(driver {driver}): minor-version compatibility usually works, but upgrading the driver "
                "is safer."
            )
    else:
        need = CUDA_MIN_DRIVER.get(".".join(map(str, build)))
        if need and _version_tuple(driver) < _version_tuple(need):
            compatible = False
            warnings.append(f"CUDA {torch_cuda} needs driver >= {need}, found {driver}: upgrade the driver.")
    if not cuda_available:
        compatible = False
        warnings.append("A GPU and a CUDA build of torch are present but torch.cuda.is_available() is False.")
    return compatible, warnings


def environment_report() -> dict[str, Any]:
    """Python/torch/CUDA/driver versions, devices, CPU and RAM, and a compatibility verdict (JSON-ready)."""
    import torch

    cuda_available = bool(torch.cuda.is_available())
    devices = []
    if cuda_available:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            devices.append(
                {
                    "index": i,
                    "name": p.name,
                    "total_memory_gib": round(p.total_memory / GIB, 2),
                    "compute_capability": f"{p.major}.{p.minor}",
                    "bf16": (p.major, p.minor) >= (8, 0),
                    "multiprocessors": p.multi_processor_count,
                }
            )
    smi = nvidia_smi()
    compatible, warnings = check_compatibility(torch.version.cuda, cuda_available, smi)
    if warnings:
        message = " ".join(warnings)
    elif cuda_available:
        message = f"OK: torch {torch.__version__} sees {len(devices)} CUDA device(s)."
    else:
        message = "CPU only: the default profile runs on CPU; QLoRA on a 24B model needs a 24 GB GPU."
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "cuda_available": cuda_available,
        "driver_version": smi["driver_version"] if smi else None,
        "driver_cuda": smi["driver_cuda"] if smi else None,
        "nvidia_smi_gpus": smi["gpus"] if smi else [],
        "devices": devices,
        "cpu": cpu_info(),
        "torch_threads": torch.get_num_threads(),
        "compatible": compatible,
        "warnings": warnings,
        "message": message,
    }


def cpu_has_fast_bf16() -> bool:
    """True when the CPU has bf16 matrix instructions (AMX or AVX512-BF16): autocast to bf16 pays off there."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags
