"""Shipped notebooks: reviewable pairs, a parameters cell, thin cells, no outputs."""

import ast
import json

import jupytext
import pytest

from seglab.runner import RUNNER_PARAMETERS, declared_parameters, discover_notebooks

from .conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_notebooks_are_numbered_in_run_order():
    specs = discover_notebooks(REPO / "notebooks")
    assert [s.name for s in specs] == [p.stem for p in NOTEBOOKS]
    assert specs[0].name.startswith("01-") and specs[1].name.startswith("02-")


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync_and_stripped(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.is_file(), f"{ipynb.name} missing: run `make notebooks`"
    assert _cells(jupytext.read(py)) == _cells(jupytext.read(ipynb)), (
        f"{py.name} and {ipynb.name} differ: run `make notebooks` (jupytext --sync)"
    )
    raw = json.loads(ipynb.read_text())
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in raw["cells"]
        if c["cell_type"] == "code"
    ), f"{ipynb.name} carries outputs; commit it stripped"


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_and_thin_code(py):
    nb = jupytext.read(py)
    params = declared_parameters(nb, py.name)
    assert set(RUNNER_PARAMETERS) <= set(params), (
        "every notebook takes config, run_id and report_root"
    )
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        "open with a title"
    )
    assert "Decision this supports" in nb.cells[0].source
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source.replace(";\n", "\n").rstrip(";"))
        defs = [
            n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))
        ]
        assert not defs, (
            f"{py.name}: move functions into the package (no def/class/lambda in notebooks)"
        )
