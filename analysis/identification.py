"""``python -m analysis.identification``: which 2025 statistic each fitted key moves.

The two tables of docs/calibration.md's "Free parameters and priors": for each key, over the
range :data:`KEYS` gives it (inside its prior), the change in ln of each summary
statistic of the fit (:func:`marketsim.fit_stats.summarise` over 13-month runs at 2,000
buyers), paired by seed, as a mean with its 95 % t interval over :data:`SEEDS`; and the
statistics' mean ± standard deviation at 10,000, 2,000 and 1,000 buyers (the fit runs 2,000).
About 15 s on one core.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from marketsim.fit_spec import DEFAULT_TARGETS
from marketsim.fit_stats import summarise
from marketsim.model import AIMarketModel
from marketsim.report import to_markdown
from marketsim.scenario import load_scenario

SEEDS = range(16)
#: (key, low, high): the fitted keys at their priors' usual ranges, and one key left unfitted.
KEYS: tuple[tuple[str, float, float], ...] = (
    ("buyers.initial_spend", 0.15, 0.6), ("buyers.usage_growth", 1.5, 6.0),
    ("vcs.capital_abundance", 0.5, 2.0), ("hyperscalers.margin", 0.4, 1.6),
    ("labs.initial_price", 2.0, 8.0), ("vcs.base_multiple", 10.0, 40.0),
    ("labs.size_exponent", 0.5, 1.5), ("buyers.quality_weight", 1.0, 3.0),
    ("labs.internal_multiple", 12.0, 40.0), ("buyers.price_weight", 0.75, 3.0),
)


def statistics(overrides: dict[str, float], seed: int, buyers: int = 2000) -> dict[str, float]:
    """The fit's summary statistics of one 13-month run of the default scenario."""
    sc = load_scenario("default", overrides={**overrides, "buyers.count": buyers,
                                              "horizon": 13})
    df = AIMarketModel(sc, rng=seed).run().datacollector.get_model_vars_dataframe()
    return summarise({c: df[c].to_numpy() for c in df.columns}, DEFAULT_TARGETS)


def key_effects() -> pd.DataFrame:
    """Rows ``key (low → high)``, columns statistics: ``"mean ± half-width"`` of the ln change."""
    rows = {}
    for key, low, high in KEYS:
        a = pd.DataFrame([statistics({key: low}, s) for s in SEEDS])
        b = pd.DataFrame([statistics({key: high}, s) for s in SEEDS])
        change = np.log(b / a)
        t = stats.t.ppf(0.975, len(change) - 1)
        half = t * change.std(ddof=1) / np.sqrt(len(change))
        rows[f"{key} ({low:g} → {high:g})"] = (change.mean().map("{:.2f}".format) + " ± "
                                               + half.map("{:.2f}".format))
    return pd.DataFrame(rows).T


def buyer_counts(counts: tuple[int, ...] = (10_000, 2_000, 1_000)) -> pd.DataFrame:
    """Rows buyer counts, columns statistics: ``"mean ± sd"`` over the seeds."""
    out = {}
    for n in counts:
        t = pd.DataFrame([statistics({}, s, buyers=n) for s in SEEDS])
        out[f"{n:,}"] = t.mean().map("{:.3g}".format) + " ± " + t.std(ddof=1).map("{:.2g}".format)
    return pd.DataFrame(out).T


if __name__ == "__main__":
    print(to_markdown(key_effects().rename_axis("key (low → high)")))
    print(to_markdown(buyer_counts().rename_axis("buyers")))
