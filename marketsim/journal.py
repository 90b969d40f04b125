"""The journal of a results directory: finished runs not yet in a part file.

Each record is one run's ``(row, ticks)`` DataFrames as a length-prefixed pickle, appended
and flushed to the OS as the run arrives (:meth:`marketsim.store.ResultStore.add`), so that it
survives the sweep being killed. A record cut short by a crash (the last one) is dropped.
"""

from __future__ import annotations

import pickle
import struct
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from marketsim.store_check import JOURNAL

_HEADER = struct.Struct("<Q")


def append_record(fh: BinaryIO, row: pd.DataFrame, ticks: pd.DataFrame) -> None:
    """Append one run to an open journal file and flush it to the OS."""
    blob = pickle.dumps((row, ticks), protocol=pickle.HIGHEST_PROTOCOL)
    fh.write(_HEADER.pack(len(blob)) + blob)
    fh.flush()


def read_journal(path: Path) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Records of a journal file; a record cut short by a crash (the last one) is dropped."""
    out: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    data = path.read_bytes()
    pos = 0
    while pos + _HEADER.size <= len(data):
        (n,) = _HEADER.unpack_from(data, pos)
        pos += _HEADER.size
        if pos + n > len(data):
            break
        try:
            out.append(pickle.loads(data[pos:pos + n]))
        except Exception:  # noqa: BLE001 - a damaged record: that run is simply run again
            break
        pos += n
    return out



def journal_runs(root: str | Path, exclude: set[int] | None = None,
                 ) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Finished runs still only in the journal (not yet in a part file), read without a lock.

    A sweep running now, or killed before its last flush, holds up to a minute of finished
    runs there. Each is ``(row, ticks)`` as :meth:`ResultStore.add` took it; run_ids in
    ``exclude`` (already in ``runs``) are left out, and each run appears once.
    """
    jdir = Path(root) / JOURNAL
    seen = set(exclude or ())
    out = []
    for jpath in sorted(jdir.glob("*.journal")) if jdir.is_dir() else []:
        try:
            records = read_journal(jpath)
        except FileNotFoundError:  # flushed meanwhile: its runs are in a part now
            continue
        for row, ticks in records:
            run_id = int(row["run_id"].iloc[0])
            if run_id not in seen:
                seen.add(run_id)
                out.append((row, ticks))
    return out
