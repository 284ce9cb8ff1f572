"""Keep secrets (Hugging Face tokens) out of everything the workbook writes.

Known tokens come from the environment (HF_TOKEN and friends) and from the hub's login files (`hf auth
login` writes `$HF_HOME/token` and `stored_tokens`); anything shaped like a token (`hf_` + 20 or more
letters/digits) is masked too, so a token pasted into a description or an override is caught as well.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from typing import Any

_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{20,}")

_ENV_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "HF_API_TOKEN")

_MIN_LEN = 8  # shorter values are not treated as secrets (would mask ordinary words)


def token_files() -> list[Path]:
    """Where `huggingface_hub` keeps login tokens: $HF_TOKEN_PATH or $HF_HOME/token, and stored_tokens."""
    home = Path(os.path.expanduser(os.environ.get("HF_HOME") or "~/.cache/huggingface"))
    token = Path(os.path.expandvars(os.path.expanduser(os.environ.get("HF_TOKEN_PATH") or home / "token")))
    return [token, token.with_name("stored_tokens")]


def _file_tokens() -> list[str]:
    token, stored = token_files()
    out = []
    try:
        out.append(token.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(stored, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        pass
    out += [parser[s].get("hf_token", "").strip() for s in parser.sections()]
    return out


def known_tokens() -> list[str]:
    """The token values this process could use (environment and hub login), longest first."""
    found = [os.environ.get(k, "").strip() for k in _ENV_VARS] + _file_tokens()
    return sorted({t for t in found if len(t) >= _MIN_LEN}, key=len, reverse=True)


def redact(obj: Any) -> Any:
    """Return `obj` with token-looking strings and the known token values replaced by ***."""
    return _redact(obj, known_tokens())


def _redact(obj: Any, tokens: list[str]) -> Any:
    if isinstance(obj, str):
        for tok in tokens:
            obj = obj.replace(tok, "***")
        return _TOKEN_RE.sub("hf_***", obj)
    if isinstance(obj, dict):
        return {_redact(k, tokens): _redact(v, tokens) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_redact(v, tokens) for v in obj)
    return obj
