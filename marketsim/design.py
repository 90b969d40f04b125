"""Design points of an experiment: a grid, a Latin hypercube or a Sobol' (Saltelli) design.

Samplers are SALib's (``SALib.sample.latin``, ``SALib.sample.sobol``); a grid is
``itertools.product`` of the listed values. The result is a DataFrame with one row per design
point (index ``point``, 0..n-1) and one column per varied parameter, named by its dotted
scenario key and typed like the scenario field (integer fields are rounded to int).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from marketsim.experiment import Experiment

_DTYPES = {"int": "int64", "float": "float64", "bool": "bool"}


def salib_bounds(parameters: dict[str, Any], types: dict[str, str],
                 names: list[str]) -> list[list[float]]:
    """SALib bounds of lhs/sobol parameters (``{"low": .., "high": ..}`` or Range each).

    Integer parameters get bounds widened by half a unit on each side, so that rounding the
    sampled value gives every integer in ``[low, high]`` the same chance.
    """
    bounds = []
    for key in names:
        rng = parameters[key]
        low, high = (rng["low"], rng["high"]) if isinstance(rng, dict) else (rng.low, rng.high)
        if types[key] == "int":
            bounds.append([float(low) - 0.5, float(high) + 0.5])
        else:
            bounds.append([float(low), float(high)])
    return bounds


def salib_problem(experiment: Experiment) -> dict[str, Any]:
    """The SALib problem dict of an lhs or sobol experiment (its sampled parameters)."""
    names = list(experiment.parameters)
    return {"num_vars": len(names), "names": names,
            "bounds": salib_bounds(experiment.parameters, experiment.types, names)}


def sample_matrix(experiment: Experiment) -> np.ndarray:
    """The raw sample matrix (points × parameters) of an lhs or sobol design, before rounding."""
    from SALib.sample import latin, sobol

    problem = salib_problem(experiment)
    if experiment.method == "lhs":
        return latin.sample(problem, experiment.samples, seed=experiment.seed)
    if experiment.method == "sobol":
        return sobol.sample(problem, experiment.samples,
                            calc_second_order=experiment.second_order, scramble=True,
                            seed=experiment.seed)
    raise ValueError(f"no sample matrix for method {experiment.method!r}")


def design_points(experiment: Experiment) -> pd.DataFrame:
    """One row per design point, one column per varied parameter (dotted names).

    Grid: every combination of the listed values, the first parameter varying slowest.
    lhs: ``samples`` points. sobol: ``samples × (D + 2)`` points (``× (2D + 2)`` with
    ``second_order``), in SALib's order, which :mod:`marketsim.report` relies on for the
    Sobol' indices. The same experiment always gives the same points (SALib is seeded with
    the experiment's seed). An experiment with a list of scenarios runs each of them with
    every point: a ``scenario`` column (the scenario's name) comes first and varies slowest.
    """
    names = list(experiment.parameters)
    if experiment.method == "grid":
        rows = list(itertools.product(*(experiment.parameters[k] for k in names)))
        df = pd.DataFrame(rows, columns=names) if names else pd.DataFrame(index=range(1))
    else:
        x = sample_matrix(experiment)
        df = pd.DataFrame(x, columns=names)
        for key in names:
            if experiment.types[key] == "int":
                rng = experiment.parameters[key]
                df[key] = np.clip(np.rint(df[key]), rng.low, rng.high)  # type: ignore[union-attr]
    for key in names:
        dtype = _DTYPES.get(experiment.types[key])
        df[key] = df[key].astype(dtype) if dtype else df[key].astype(object)
    if experiment.scenarios:
        scen = pd.DataFrame({"scenario": pd.Series(list(experiment.scenarios), dtype=object)})
        df = scen.merge(df, how="cross")
    df.index = pd.RangeIndex(len(df), name="point")
    return df


def design_size(experiment: Experiment) -> int:
    """Number of design points without drawing them."""
    d = len(experiment.parameters)
    k = max(1, len(experiment.scenarios))
    if experiment.method == "grid":
        return k * int(np.prod([len(v) for v in experiment.parameters.values()]))
    if experiment.method == "lhs":
        return k * int(experiment.samples or 0)
    return int(experiment.samples or 0) * ((2 * d + 2) if experiment.second_order else (d + 2))
