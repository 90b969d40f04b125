"""Errors a user can cause and fix: each names the file, the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type, message: str, state: dict[str, Any]) -> Exception:
    """Unpickle one of these errors: its message and attributes, without calling __init__."""
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class _Picklable(Exception):
    """Sent between processes whole (a sweep's worker reports a failed run with it)."""

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), str(self), dict(self.__dict__))


class ScenarioError(_Picklable, ValueError):
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


class SweepError(RuntimeError):
    """A sweep cannot go on (its worker processes cannot run); the finished runs are stored.

    The command line prints it as one line (exit code 1); running the same command again
    resumes.
    """


class DecisionError(_Picklable, ValueError):
    """An agent's decision method returned something the model cannot use.

    Raised as soon as the value comes back, so the error names the agent's class, the method,
    the value and what is allowed, rather than surfacing later as a bad ledger amount. It is
    a bug in a user's subclass. The command line prints it as one line on stderr and exits
    with code 1; ``--debug`` (``marketsim run --debug``) shows its traceback instead, which
    leads to the line of the subclass that returned the value.
    """

    def __init__(self, agent: object, method: str, given: object, allowed: str) -> None:
        cls = type(agent)
        self.agent_class = cls
        self.method = method
        self.given = given
        self.allowed = allowed
        text = (f"{cls.__module__}.{cls.__qualname__}.{method} returned {given!r}; "
                f"allowed: {allowed}")
        owner = next((k for k in cls.__mro__ if method in vars(k)), cls)
        if owner.__module__.startswith("marketsim."):
            # The built-in decisions are valid on valid inputs: the cause is upstream.
            text += (f" (marketsim's own {owner.__qualname__}.{method} computed this from what "
                     "it reads: values from other agents, such as a rent near 0 or a NaN "
                     "growth() from a class of your own, or extreme scenario settings)")
        super().__init__(text)
