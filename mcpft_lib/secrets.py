"""Keep secrets (Hugging Face tokens) out of everything the workbook writes."""

from __future__ import annotations

import os
import re
from typing import Any

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,}")
_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN")


def _known_tokens() -> list[str]:
    return [v for k in _ENV_VARS if (v := os.environ.get(k)) and len(v) >= 8]


def redact(obj: Any) -> Any:
    """Return `obj` with token-looking strings and the environment's token values replaced by ***."""
    if isinstance(obj, str):
        for tok in _known_tokens():
            obj = obj.replace(tok, "***")
        return _TOKEN_RE.sub("hf_***", obj)
    if isinstance(obj, dict):
        return {k: redact(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(redact(v) for v in obj)
    return obj
