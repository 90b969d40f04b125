"""Mechanism 4, capability: effective training compute, algorithmic progress, open weights.

Effective compute (H100-months, algorithm-adjusted) accumulates from training GPUs with
algorithmic progress and decays as models age; capability is its log10 (scaling-law style).
Open-weight models trail the frontier by a lag and give every lab a floor: commoditisation.
"""

from __future__ import annotations

import numpy as np


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
