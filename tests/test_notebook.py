"""examples/notebook.ipynb runs top to bottom (nbclient), as a user would run it."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"


@pytest.mark.slow
def test_notebook_runs_top_to_bottom(tmp_path: Path) -> None:
    shutil.copy(NOTEBOOK, tmp_path)
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    # Raises CellExecutionError, naming the cell, if any cell fails.
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "regime at the end:" in text
    assert "12 runs" in text  # 3 x 2 grid x 2 seeds, all stored
    assert sorted(p.name for p in tmp_path.iterdir()) == [NOTEBOOK.name]  # nothing left behind
