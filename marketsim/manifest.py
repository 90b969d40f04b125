"""Provenance of results: which code, which files, which command produced them.

Every manifest (a sweep's ``DIR/manifest.json``, ``marketsim run --out``'s) records the
marketsim version, the versions of its main dependencies and, when marketsim runs from a git
checkout, the commit (and whether the checkout had uncommitted changes).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
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


#: Distributions whose versions every manifest records (their results may depend on them).
DEPENDENCIES: tuple[str, ...] = ("mesa", "numpy", "pandas", "pyarrow", "SALib", "dask")


def dependency_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`DEPENDENCIES` (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in DEPENDENCIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state() -> dict[str, Any]:
    """``git_commit`` (None outside a checkout) and ``git_dirty`` of marketsim's own code."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():  # an installed wheel, not a checkout
        return {"git_commit": None, "git_dirty": None}
    commit = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def build_manifest(*, argv: Sequence[str] | None, **fields: Any) -> dict[str, Any]:
    """A manifest dict: versions, git commit, Python, platform, command line, time, fields."""
    from marketsim import __version__

    return {
        "marketsim_version": __version__,
        "versions": dependency_versions(),
        **git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "command": list(argv) if argv is not None else None,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **fields,
    }


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename: never half-written."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left if something failed


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and rename: never half-written."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def make_folder(path: str | Path, key: str = "--out") -> Path:
    """Make the output folder ``path`` (and its parents) if missing; return it.

    Raises:
        ScenarioError: it cannot be made or written (``key`` names the option that gave it).
    """
    from marketsim.errors import ScenarioError

    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScenarioError(f"cannot make or write the folder ({exc.strerror or exc})",
                            key=key, given=str(path), allowed="a folder you can write to"
                            ) from None
    return folder
