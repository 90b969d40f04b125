"""Downloads of the run shown: its model and lab tables (CSV or Parquet) and its charts.

The tables are the model's own reporters (one row per month) and
:func:`marketsim.reporters.lab_table` (one row per lab and month), as ``marketsim run``
writes them; a chart is a PNG or SVG file (:func:`marketsim.viz.charts.chart_file`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

from marketsim.reporters import lab_table
from marketsim.viz.data import reading

if TYPE_CHECKING:
    from marketsim.model import AIMarketModel

#: Table formats offered for download.
TABLE_FORMATS: tuple[str, ...] = ("csv", "parquet")


def model_frame(model: AIMarketModel) -> pd.DataFrame:
    """The model reporters, one row per month run so far."""
    with reading(model):
        return model.datacollector.get_model_vars_dataframe().reset_index(drop=True)


def lab_frame(model: AIMarketModel) -> pd.DataFrame:
    """The lab reporters, one row per lab and month run so far."""
    with reading(model):
        return lab_table(model)


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """``df`` as a ``"csv"`` or ``"parquet"`` file."""
    if fmt == "csv":
        return df.to_csv(index=False).encode()
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def file_stem(model: AIMarketModel) -> str:
    """Start of a downloaded file's name: scenario and seed (``default-seed0``)."""
    label = (getattr(model, "base_scenario", None) or model.scenario_config).label
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(label))
    return f"{safe}-seed{getattr(model, 'seed', 0)}"
