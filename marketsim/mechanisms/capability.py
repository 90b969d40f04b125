"""Mechanism 4, capability: effective training compute, algorithmic progress, open weights.

Effective compute (H100-months, algorithm-adjusted) accumulates from training GPUs with
algorithmic progress and decays as models age; capability is its log10 (scaling-law style).
Open-weight models trail the frontier by a lag and give every lab a floor: commoditisation.
Optionally (``capability.follow_lag`` > 0) labs that train at scale follow the frontier more
closely than open weights do: a follower floor.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from marketsim.agents import AILab
    from marketsim.model import MarketView


def algorithmic_multiplier(tick: int, progress_per_year: float) -> float:
    """Effective compute per GPU-month of training at ``tick`` relative to tick 0."""
    return float(progress_per_year ** (tick / 12.0))


def update_effective_compute(
    effective: np.ndarray, train_gpus: np.ndarray, multiplier: float, retention: float
) -> np.ndarray:
    """Next month's effective compute: ``retention × E + train_gpus × multiplier``."""
    return retention * effective + np.maximum(train_gpus, 0.0) * multiplier


def capability(effective: np.ndarray) -> np.ndarray:
    """Capability: log10 of effective compute (H100-month equivalents), floored at 0."""
    return np.log10(np.maximum(effective, 1.0))


def open_weight_floor(frontier_history: list[float], lag: int, gap: float) -> float:
    """Capability of the best open-weight model: the frontier ``lag`` months ago minus ``gap``."""
    if not frontier_history:
        return 0.0
    idx = max(len(frontier_history) - 1 - lag, 0)
    return frontier_history[idx] - gap


def train(labs: list[AILab], tick: int, cc: Any) -> None:
    """A month of training: each lab's effective compute grows by its training GPUs.

    ``cc``: the scenario's ``[capability]`` section (algorithmic progress, retention).
    """
    mult = algorithmic_multiplier(tick, cc.algorithmic_progress)
    effective = update_effective_compute(
        np.array([lab.effective_compute for lab in labs]),
        np.array([lab.total_gpus * lab.train_share for lab in labs]), mult, cc.retention)
    for lab, value in zip(labs, effective.tolist(), strict=True):
        lab.effective_compute = value


def move_frontier(labs: list[AILab], history: list[float], market: MarketView, cc: Any,
                  ) -> None:
    """Frontier = best active lab's own capability; open weights trail the best ever made.

    Appends the best capability ever to ``history`` and sets ``market.frontier`` and
    ``market.open_weight_floor``. With ``capability.follow_lag`` > 0, a lab training on at
    least the minimum efficient scale of GPUs (a frontier-sized cluster of its own) gets a
    follower floor, the best capability of ``follow_lag`` months ago minus ``follow_gap``:
    its staff know how the frontier was reached. Other labs get 0.
    """
    own = [math.log10(max(lab.effective_compute, 1.0)) for lab in labs]
    best_ever = history[-1] if history else 0.0
    frontier = max(own) if own else best_ever
    history.append(max(frontier, best_ever))
    market.frontier = frontier
    market.open_weight_floor = open_weight_floor(history, cc.open_weight_lag, cc.open_weight_gap)
    if cc.follow_lag > 0:
        follow = open_weight_floor(history, cc.follow_lag, cc.follow_gap)
        scale = max(market.min_efficient_scale, 1.0)  # GPUs
        for lab in labs:
            lab.follower_floor = follow if lab.total_gpus * lab.train_share >= scale else 0.0
