"""Provenance of results: which code, which files, which command produced them."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def file_hash(path: str | Path | None) -> str | None:
    """SHA-256 of a file's bytes (first 16 hex digits), None if there is no file."""
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def absolute(path: str | Path | None) -> str | None:
    """``path`` made absolute, for a manifest read from another folder (None stays None)."""
    return None if path is None else str(Path(path).resolve())


def build_manifest(*, argv: Sequence[str] | None, **fields: Any) -> dict[str, Any]:
    """A manifest dict: marketsim version, Python, platform, command line, time, plus fields."""
    from marketsim import __version__

    return {
        "marketsim_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": list(argv) if argv is not None else None,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and rename: never half-written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left if something failed
