"""Atomic file writes (readers never see half a file, and an interrupted write leaves the old one intact) and the
readers of JSON and YAML files."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


def atomic_write(path: str | os.PathLike[str], text: str | Iterable[str]) -> Path:
    """Write `text` (a string or an iterable of chunks) to a temp file in the same folder, fsync, rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for chunk in [text] if isinstance(text, str) else text:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: str | Path, default: Any = None) -> Any:
    path = Path(path)
    if not path.is_file():
        return default
    return json.loads(path.read_text())


class _UniqueKeys:
    """A YAML constructor mixin that refuses a key given twice in one mapping (YAML would silently keep the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {line}; first given on line {seen[key]})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


class UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (the params profiles use it)."""


class _FastUniqueKeyLoader(_UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same with libyaml's parser where PyYAML has it (the generator's data files load at import)."""


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """A YAML data file shipped with the package: safe types only; a key given twice is an error."""
    with open(path, encoding="utf-8") as f:
        try:
            return yaml.load(f, Loader=_FastUniqueKeyLoader)
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: {e}") from None
