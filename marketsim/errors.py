"""Errors a user can cause and fix: each names the file, the key, the value and what is allowed."""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario, experiment or override that cannot be used as given.

    The message is one line: ``FILE: KEY: given VALUE; allowed: WHAT`` so that the command line
    can print it as is (exit code 2) and a notebook user sees where to look.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        given: object = None,
        allowed: str | None = None,
    ) -> None:
        self.file = file
        self.key = key
        self.given = given
        self.allowed = allowed
        parts = [p for p in (file, key) if p]
        text = message
        if given is not None:
            text += f"; given {given!r}"
        if allowed:
            text += f"; allowed: {allowed}"
        line = ": ".join([*parts, text])
        super().__init__(" ".join(line.split()))
