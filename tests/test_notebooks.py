"""The notebooks run top to bottom on the demo data, and are stored without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_are_there() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["01-quickstart.ipynb", "02-team-deep-dive.ipynb", "03-org-review.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CADENCE_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("CADENCE_CONFIG", str(tmp_path / "absent.toml"))  # no credentials, no config
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the cell on any error
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    figures = [o for o in shown if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) >= 3, f"{path.name} drew {len(figures)} figures"
    assert not [o for o in shown if o.get("output_type") == "error"]
