"""Checks of the files a command will write, made before its work starts."""

from __future__ import annotations

import os
from pathlib import Path


def check_output_file(given: str | Path, key: str) -> Path:
    """``given`` as a file path a command can write at the end of its work, or a clear error.

    Checked up front, so that a long run is not lost to a typo in the output's name: the
    path must not name a folder (nor end in a path separator), and its folder must exist
    and be writable.

    Raises:
        ScenarioError: the path names a folder, or its folder is missing or read-only.
    """
    from marketsim.errors import ScenarioError

    text = os.fspath(given)
    path = Path(text)
    allowed = "a file in a folder that exists and you can write to"
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise ScenarioError("is a folder, not a file", key=key, given=text, allowed=allowed)
    folder = path.resolve().parent
    if not folder.is_dir():
        raise ScenarioError(f"its folder {folder} does not exist", key=key, given=text,
                            allowed=allowed)
    if not os.access(folder, os.W_OK):
        raise ScenarioError(f"its folder {folder} cannot be written", key=key, given=text,
                            allowed=allowed)
    return path
