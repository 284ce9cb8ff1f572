"""BFCL v4's test data, read straight from the `bfcl-eval` wheel in the user's cache.

The wheel is fetched once with `pip download --no-deps` (so the package's own dependencies never enter the
environment), checked against a pinned sha256, and read with `zipfile`: nothing of it is installed or imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcpft_lib.config import BFCL_CATEGORIES, BFCL_LIVE, BFCL_NON_LIVE
from mcpft_lib.modeling.loaders import cache_root

PACKAGE = "bfcl-eval"
VERSION = "2026.3.23"  # BFCL v4 as released on 2026-03-23 (Apache-2.0)
WHEEL = "bfcl_eval-2026.3.23-py3-none-any.whl"
SHA256 = "3bb6dfa5f0c68ad403c9ec50b00db2bb3b4cc9b38ab1ff33f48fe30d853d3a0a"

NON_LIVE, LIVE, CATEGORIES = BFCL_NON_LIVE, BFCL_LIVE, BFCL_CATEGORIES


class BFCLSourceError(RuntimeError):
    """The BFCL wheel cannot be fetched or read (offline, a changed file, a category it does not have)."""


@dataclass
class Item:
    """One BFCL test entry: the conversation, the offered functions and the allowed answers (none for the
    irrelevance categories, where the right answer is no call)."""

    id: str
    category: str
    messages: list[dict[str, Any]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, dict[str, list[Any]]]] = field(default_factory=list)


def wheel_path(download: bool = True) -> Path:
    """The sha-checked wheel in $MCPFT_CACHE/bfcl/ (fetched with pip on first use)."""
    folder = cache_root() / "bfcl"
    path = folder / WHEEL
    if not path.is_file() and download:
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               f"{PACKAGE}=={VERSION}", "-d", str(folder)]  # fmt: skip
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PIP_NO_INPUT": "1"}
        )
        if r.returncode != 0 or not path.is_file():
            raise BFCLSourceError(
                f"could not download {PACKAGE}=={VERSION} (needs PyPI or your pip index): "
                f"{(r.stderr or r.stdout).strip()[-500:]}\nBy hand: {' '.join(cmd[2:])}"
            )
    if not path.is_file():
        raise BFCLSourceError(f"{path} is missing: pip download --no-deps {PACKAGE}=={VERSION} -d {folder}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise BFCLSourceError(
            f"{path}: sha256 {digest} is not the pinned {SHA256}; delete it to fetch it again"
        )
    return path


def _jsonl(zf: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    with zf.open(name) as f:
        return [json.loads(line) for line in f.read().decode("utf-8").splitlines() if line.strip()]


@lru_cache(maxsize=len(CATEGORIES))
def load_category(category: str) -> tuple[Item, ...]:
    """Every entry of one category, with its ground truth joined by id."""
    if category not in CATEGORIES:
        raise BFCLSourceError(f"unknown BFCL category {category!r}: one of {', '.join(CATEGORIES)}")
    with zipfile.ZipFile(wheel_path()) as zf:
        rows = _jsonl(zf, f"bfcl_eval/data/BFCL_v4_{category}.json")
        answers = {}
        if not category.endswith("irrelevance"):
            answers = {
                a["id"]: a["ground_truth"]
                for a in _jsonl(zf, f"bfcl_eval/data/possible_answer/BFCL_v4_{category}.json")
            }
    items = []
    for row in rows:
        if len(row["question"]) != 1:
            raise BFCLSourceError(
                f"{category}/{row['id']}: {len(row['question'])} turns; single-turn expected"
            )
        if not category.endswith("irrelevance") and row["id"] not in answers:
            raise BFCLSourceError(f"{category}/{row['id']}: no ground truth")
        items.append(
            Item(row["id"], category, row["question"][0], row["function"], answers.get(row["id"], []))
        )
    return tuple(items)


def read_member(name: str) -> bytes:
    """A file of the wheel (e.g. the official checker's source, for the agreement test)."""
    with zipfile.ZipFile(wheel_path()) as zf:
        return zf.read(name)
