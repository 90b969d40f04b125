"""Checks on what agents' decision methods return, before the model uses it.

The built-in decisions always return valid values; a user's override may not (NaN, infinity,
a negative rent, an offer to a lab that has exited). Each check raises
:class:`~marketsim.errors.DecisionError` naming the class, the method and what is allowed.
"""

from __future__ import annotations

import copy
import inspect
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import marketsim.mechanisms.capital as capital  # a module: capital's negotiation uses these checks
from marketsim.errors import DecisionError

_INF = math.inf

#: Largest magnitude a decision may return ($bn, GPUs, $/M tokens, $/GPU-month): beyond it
#: no market figure means anything, and sums of such amounts lose the ledger's cents.
MOST = 1e18

#: Largest VC sentiment (1 is neutral; the built-in VCs stay between 0.2 and 2).
MOST_SENTIMENT = 100.0

_AMOUNT = f"amount: a number of $bn from 0 to {MOST:g}"
_PRE_MONEY = f"pre_money: a number of $bn > 0 and <= {MOST:g}"


class Described(str):
    """A description of a returned value, shown as is (no quotes) in the error message."""

    def __repr__(self) -> str:
        return str(self)


def overridden(agent: object, base: type, method: str) -> bool:
    """Does ``agent``'s class override ``base.method`` (or define a ``method`` base lacks)?

    The one place the model looks at which decisions a class overrides: the built-in Bass
    adoption draws its adopters as geometric gaps (about n × hazard draws) where an
    override of ``adopt`` is given one uniform per buyer, a different random stream; and
    :func:`guard_helpers` wraps the helpers a class overrides.
    """
    return getattr(type(agent), method, None) is not getattr(base, method, None)


def guard_helpers(agent: object) -> None:
    """Check each helper ``agent``'s class overrides, wherever marketsim reads it.

    The built-in decisions read helpers such as ``AILab.growth`` or
    ``VentureCapitalist.value_lab``, and a subclass may override a helper alone. The base
    class lists its helpers with their checks in ``HELPER_CHECKS`` (name → check, such as
    :func:`number`); for each one the agent's class overrides, the bound method is replaced
    on this instance by one passing its return through the check, so a bad value is one
    :class:`DecisionError` naming the class and the helper, whoever reads it. A subclass may
    list helpers of its own in its ``HELPER_CHECKS``: the tables add up along the classes.
    Built-in classes override none: no wrapper, no cost, and their methods read as the
    equations.
    """
    cls = type(agent)
    tables = [k for k in cls.__mro__ if "HELPER_CHECKS" in vars(k)]
    if not tables:
        return
    root = tables[-1]  # the built-in class; a subclass's own table adds to it
    checks: dict[str, Callable[[Any, object, str], Any]] = {}
    for k in reversed(tables):
        checks.update(vars(k)["HELPER_CHECKS"])
    for name, check in checks.items():
        if overridden(agent, root, name):
            setattr(agent, name, CheckedHelper(agent, name, check))


class CheckedHelper:
    """One agent's helper with its return passed through ``check(value, agent, name)``.

    Holds the class's own attribute (a method, or a static or class method) and binds it to
    the agent at each call; a copy of the agent (``copy.deepcopy`` of a model) gets a
    helper of its own, bound to the copy.
    """

    __slots__ = ("agent", "name", "check", "raw")

    def __init__(self, agent: object, name: str, check: Callable[[Any, object, str], Any]
                 ) -> None:
        self.agent, self.name, self.check = agent, name, check
        self.raw = inspect.getattr_static(type(agent), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the helper as the class defines it, on this agent; return the checked value."""
        method = self.raw.__get__(self.agent, type(self.agent))
        return self.check(method(*args, **kwargs), self.agent, self.name)

    def __deepcopy__(self, memo: dict[int, Any]) -> CheckedHelper:
        return CheckedHelper(copy.deepcopy(self.agent, memo), self.name, self.check)


#: What a decision may return as a number: Python's and NumPy's integers and reals. A bool
#: (``True`` would read as 1), a string (``"5"``), an array or a complex number is not one.
_REALS = (int, float, np.integer, np.floating)


def _as_float(value: Any) -> float:
    """``float(value)``, or NaN (which no check accepts) when it is not a real number."""
    if type(value) is float:  # the common case, without a call to isinstance()
        return value
    if isinstance(value, _REALS) and type(value) is not bool:
        try:
            return float(value)
        except OverflowError:  # an int beyond any float: refused whatever its sign
            return math.nan
    return math.nan


def number(value: Any, agent: object, method: str) -> float:
    """``value`` as a float within ±:data:`MOST` (the caller clips negatives where documented)."""
    x = _as_float(value)
    if not -MOST <= x <= MOST:  # also rejects NaN and infinity
        raise DecisionError(agent, method, value, f"a finite number, at most {MOST:g} in size")
    return x


def positive(value: Any, agent: object, method: str) -> float:
    """``value`` as a float > 0 and ≤ :data:`MOST` (prices and rents)."""
    x = _as_float(value)
    if not 0.0 < x <= MOST:  # also rejects NaN
        raise DecisionError(agent, method, value, f"a finite number > 0 and <= {MOST:g}")
    return x


def non_negative(value: Any, agent: object, method: str, *, most: float = MOST) -> float:
    """``value`` as a float ≥ 0 and ≤ ``most``."""
    x = _as_float(value)
    if not 0.0 <= x <= most:
        raise DecisionError(agent, method, value, f"a finite number >= 0 and <= {most:g}")
    return x


def non_negative_or_inf(value: Any, agent: object, method: str) -> float:
    """``value`` as a float ≥ 0, finite or +∞ (a price with no cap, a runway never ending).

    No upper bound short of ∞: a runway in months is cash over a burn that may be tiny.
    """
    x = _as_float(value)
    if not x >= 0.0:  # also rejects NaN
        raise DecisionError(agent, method, value, "a number >= 0, or math.inf")
    return x


def boolean(value: Any, agent: object, method: str) -> bool:
    """``value`` as a bool: True or False (NumPy's too), never a truthy string or NaN."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise DecisionError(agent, method, value, "True or False")


def offer(value: Any, agent: object, method: str, *, credits: bool) -> capital.Offer | None:
    """A funding offer the capital market can negotiate, or None.

    Allowed: None, or an :class:`~marketsim.mechanisms.capital.Offer` from ``agent`` itself
    (the money comes from the investor's account) to a lab still trading, with a finite
    ``amount`` ≥ 0 $bn (0: no offer), a finite ``pre_money`` > 0 $bn and a ``credit_share``
    in [0, 1] where the investor can give compute credits (``credits``: a hyperscaler), else 0.
    """
    if value is None:
        return None
    if not isinstance(value, capital.Offer):
        raise DecisionError(agent, method, value, "None or a marketsim.mechanisms.capital.Offer")
    try:
        checks = (
            (value.investor is agent, "investor: the agent making the offer (self)"),
            (0.0 <= value.amount <= MOST, _AMOUNT),
            (0.0 < value.pre_money <= MOST, _PRE_MONEY),
            (0.0 <= value.credit_share <= 1.0 if credits else value.credit_share == 0.0,
             "credit_share: a share from 0 to 1" if credits else
             "credit_share: 0 (only a hyperscaler gives compute credits)"),
            (getattr(value.lab, "active", False) is True,
             "an offer to a lab still trading (lab.active)"),
        )
    except TypeError:  # a field that is not a number
        checks = ((False, "amount, pre_money and credit_share: numbers"),)
    for ok, allowed in checks:
        if not ok:
            lab = getattr(value.lab, "unique_id", value.lab)
            investor = type(value.investor).__name__
            given = Described(f"Offer(investor={investor}, lab={lab!r}, amount={value.amount!r}, "
                               f"pre_money={value.pre_money!r}, "
                               f"credit_share={value.credit_share!r})")
            raise DecisionError(agent, method, given, allowed)
    return value


def among(value: Any, agent: object, method: str, *, choices: list[Any], allowed: str,
          known: set[int] | None = None) -> list[Any]:
    """``value`` as a list whose items are all in ``choices`` (a VC's screened labs).

    ``known``: the ``id`` of every choice, when the caller checks several answers against
    the same choices.
    """
    try:
        items = list(value)
    except TypeError:
        raise DecisionError(agent, method, value, allowed) from None
    if known is None:
        known = {id(c) for c in choices}
    stray = [x for x in items if id(x) not in known]
    if stray:
        raise DecisionError(agent, method, Described(f"a list holding {stray[0]!r}"), allowed)
    return items


def array(value: Any, agent: object, method: str, *, shape: tuple[int, ...],
          kind: str, allowed: str) -> np.ndarray:
    """``value`` as an array of ``shape`` whose dtype kind is in ``kind`` (NumPy kind codes)."""
    a = np.asarray(value)
    if a.shape != shape or a.dtype.kind not in kind:
        raise DecisionError(agent, method,
                            Described(f"an array of shape {a.shape}, dtype {a.dtype}"),
                            f"{allowed}, shape {shape}")
    return a


def mask(value: Any, agent: object, method: str, *, n: int) -> np.ndarray:
    """``value`` as ``n`` flags: booleans, or integers 0 and 1 (buyers adopting now)."""
    allowed = "a mask, one per buyer (booleans, or integers 0 and 1)"
    a = array(value, agent, method, shape=(n,), kind="biu", allowed=allowed)
    if a.dtype.kind != "b" and a.size and not ((a == 0) | (a == 1)).all():
        raise DecisionError(agent, method, Described(f"integers from {a.min()} to {a.max()}"),
                            allowed)
    return a


#: Largest finite float: the bound of quantities that are not money (tokens per unit size).
MOST_FINITE = sys.float_info.max


def amounts(value: Any, agent: object, method: str, *, n: int, most: float = MOST,
            ) -> np.ndarray:
    """``value`` as ``n`` floats from 0 to ``most``.

    Buyer sizes go up to :data:`MOST`; tokens per unit size up to :data:`MOST_FINITE`, as the
    built-in demand passes :data:`MOST` in long markets of fast-growing usage.
    """
    allowed = (f"numbers from 0 to {most:g}" if most < MOST_FINITE else
               "finite numbers >= 0")
    a = array(value, agent, method, shape=(n,), kind="biuf", allowed=allowed)
    if a.size and not (a.min() >= 0 and a.max() <= most):  # NaN fails both
        bad = a[~((a >= 0) & (a <= most))][:3].tolist()
        raise DecisionError(agent, method, Described(f"an array holding {bad}"), allowed)
    return a


def positions(value: Any, agent: object, method: str, *, n: int) -> np.ndarray:
    """``value`` as positions of buyers within a population of ``n``: integers 0 to n − 1."""
    allowed = f"an array of buyers' positions: integers from 0 to {n - 1}"
    a = np.asarray(value)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise DecisionError(agent, method,
                            Described(f"an array of shape {a.shape}, dtype {a.dtype}"), allowed)
    if a.size and (a.min() < 0 or a.max() >= n):
        raise DecisionError(agent, method, Described(f"positions from {a.min()} to {a.max()}"),
                            allowed)
    return a


def sizes(value: Any, agent: object, method: str, *, n: int) -> np.ndarray:
    """``value`` as ``n`` buyer sizes from 0 to :data:`MOST`, not all 0.

    Sizes all 0 would be buyers who never spend: no tokens per unit size could scale them to
    ``buyers.initial_spend`` at tick 0.
    """
    a = amounts(value, agent, method, n=n)
    if a.size and not a.sum() > 0:
        raise DecisionError(agent, method, Described(f"an array of {a.size} zeros"),
                            f"numbers from 0 to {MOST:g}, not all 0 (sizes of buyers who spend)")
    return a
