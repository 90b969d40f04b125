"""Summary statistics and distance of a fit: plain functions over arrays.

A run's tick table gives one value per :class:`~marketsim.fit_spec.FitTarget`
(:func:`summarise`). Each value is scored on a log scale against its tolerance band: the
score ``z = ln(value / centre) / half_width``, with ``centre = sqrt(low * high)`` (the band's
geometric middle, which is the public figure for every CALIBRATION.md row) and
``half_width = ln(high / low) / 2``; ``|z| <= 1`` exactly when the value is inside the band.
The distance is the root mean square of the scores, so an ABC epsilon of 1 means "on
average at the edge of the bands" whatever the figures' units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from marketsim.fit_spec import FitTarget

#: Score of a value that is missing (NaN) or not positive: ten half-widths from the centre,
#: far outside any band, so such a draw is only accepted while epsilon is still huge.
OUTSIDE = 10.0


def measure(table: Mapping[str, Sequence[float]], target: FitTarget) -> float:
    """The target's statistic over its ticks of one run (``table``: reporter -> per-tick)."""
    values = np.asarray(table[target.reporter], dtype=float)
    if values.size <= target.last:
        return float("nan")
    window = values[target.first: target.last + 1]
    if target.statistic == "at":
        return float(values[target.first])
    if target.statistic == "mean":
        return float(window.mean())
    if target.statistic == "sum":
        return float(window.sum())
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero price: NaN, scored OUTSIDE
        return float(values[target.first] / values[target.last])


def summarise(table: Mapping[str, Sequence[float]],
              targets: Sequence[FitTarget]) -> dict[str, float]:
    """One value per target (its name -> the statistic), the fit's summary statistics."""
    return {t.name: measure(table, t) for t in targets}


def centres(targets: Sequence[FitTarget]) -> dict[str, float]:
    """Each band's geometric middle: the 'observed' summary statistics of the fit."""
    return {t.name: float(np.sqrt(t.low * t.high)) for t in targets}


def half_widths(targets: Sequence[FitTarget]) -> dict[str, float]:
    """Each band's half-width in natural log units."""
    return {t.name: float(np.log(t.high / t.low) / 2.0) for t in targets}


def band_scores(values: np.ndarray, centre: np.ndarray, half_width: np.ndarray) -> np.ndarray:
    """``ln(values / centre) / half_width``; NaN or non-positive values score ±OUTSIDE."""
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(values / centre) / half_width
    z = np.where(np.isnan(values), OUTSIDE, z)
    z = np.where(values <= 0, -OUTSIDE, z)
    return np.clip(z, -OUTSIDE, OUTSIDE)


def rms(scores: np.ndarray) -> float:
    """Root mean square of the band scores: the distance."""
    return float(np.sqrt(np.mean(np.square(scores))))


class BandDistance:
    """The fit's distance as pyabc calls it: ``d(x, x0)`` over summary-statistic dicts.

    ``x0`` holds each band's centre (:func:`centres`); the half-widths are fixed at
    construction. A plain class rather than a closure, so Dask workers can unpickle it.
    """

    def __init__(self, half_width: Mapping[str, float]) -> None:
        self.names = list(half_width)
        self.half_width = np.array([half_width[n] for n in self.names], dtype=float)

    def scores(self, x: Mapping[str, float], x0: Mapping[str, float]) -> np.ndarray:
        """Band score per statistic, in the order of ``names``."""
        values = np.array([x[n] for n in self.names], dtype=float)
        centre = np.array([x0[n] for n in self.names], dtype=float)
        return band_scores(values, centre, self.half_width)

    def __call__(self, x: Mapping[str, float], x0: Mapping[str, float]) -> float:
        """Root mean square band score of ``x`` against the centres ``x0``."""
        return rms(self.scores(x, x0))
