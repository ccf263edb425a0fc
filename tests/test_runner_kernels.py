"""Runner: kernels started ahead for the next notebook, their fallback and their shutdown."""

import os
from concurrent.futures import ThreadPoolExecutor

import jupytext
import nbformat
import psutil
import pytest

from seglab import runner
from seglab.errors import RunError
from seglab.runner import KernelAhead, NotebookSpec, notebook_imports, run_pipeline

from .conftest import make_project

PARAMS = '# %% tags=["parameters"]\nconfig = ""\nrun_id = ""\nreport_root = ""\n\n'


def _kernel_children() -> list[psutil.Process]:
    """Kernel processes this test process started and that still run."""
    return [
        p
        for p in psutil.Process(os.getpid()).children(recursive=True)
        if p.is_running()
        and p.status() != psutil.STATUS_ZOMBIE
        and "ipykernel" in " ".join(p.cmdline())
    ]


@pytest.fixture
def kernels(monkeypatch):
    """Every KernelAhead a run creates, and what ``take`` handed to papermill."""
    made: list[KernelAhead] = []
    taken: dict[str, bool] = {}
    init, take = KernelAhead.__init__, KernelAhead.take

    def spy_init(self, pool, spec):
        init(self, pool, spec)
        made.append(self)

    def spy_take(self):
        km = take(self)
        taken[self.name] = km is not None
        return km

    monkeypatch.setattr(KernelAhead, "__init__", spy_init)
    monkeypatch.setattr(KernelAhead, "take", spy_take)
    return made, taken


def test_notebook_imports_lists_modules_and_possible_submodules():
    nb = jupytext.reads(
        "# %%\nimport numpy as np\nfrom seglab import cleaning, intake\n"
        "from IPython.display import Markdown\nfrom . import local\n\n"
        "# %%\n%matplotlib inline\nimport never_seen\n\n# %%\nimport numpy\nx = 1\n",
        fmt="py:percent",
    )
    assert notebook_imports(nb) == [
        "numpy",
        "seglab",
        "seglab.cleaning",
        "seglab.intake",
        "IPython.display",
        "IPython.display.Markdown",
    ]


def test_kernel_whose_imports_fail_is_shut_down_and_not_handed_over(tmp_path):
    # the kernel starts in the notebook's folder, so it imports this module from there
    (tmp_path / "boom.py").write_text('raise RuntimeError("import-time failure")\n')
    nb_path = tmp_path / "01-boom.py"
    nb_path.write_text(PARAMS + "# %%\nimport boom\n")
    spec = NotebookSpec("01-boom", nb_path, {})
    with ThreadPoolExecutor(1) as pool:
        ahead = KernelAhead(pool, spec)
        assert ahead.take() is None  # papermill starts its own kernel instead
    assert not ahead.km.is_alive() and not ahead.km.has_kernel
    assert all(not kc.channels_running for kc in ahead.km.clients)
    assert not _kernel_children()


@pytest.mark.slow
def test_kernels_started_ahead_give_the_outputs_of_fresh_kernels(tmp_path, monkeypatch, kernels):
    made, taken = kernels
    root = make_project(tmp_path, notebooks=("01-objectives", "02-data-collection"))
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    ahead = run_pipeline("configs/demo.yaml")
    assert taken == {"01-objectives": True, "02-data-collection": True}
    assert all(not k.km.is_alive() for k in made)
    assert all(not kc.channels_running for k in made for kc in k.km.clients)

    def no_start(self, **kwargs):
        raise OSError("planted: kernel start failed")

    monkeypatch.setattr(runner._HandOverKernelManager, "start_kernel", no_start)
    taken.clear()
    fresh = run_pipeline("configs/demo.yaml")  # papermill starts the kernels itself
    assert taken == {"01-objectives": False, "02-data-collection": False}
    assert ahead.ok and fresh.ok

    def outputs(report_dir, name):
        nb = nbformat.read(report_dir / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        kinds = [[(o.output_type, sorted(o.get("data", {}))) for o in c.outputs] for c in code]
        return [c.execution_count for c in code], kinds

    for name in ("01-objectives", "02-data-collection"):
        counts, kinds = outputs(ahead.report_dir, name)
        assert counts == list(range(1, len(counts) + 1))  # the silent import used no count
        assert (counts, kinds) == outputs(fresh.report_dir, name)
        html = [(r.report_dir / f"{name}.html").read_text() for r in (ahead, fresh)]
        assert html[0].count("<img") == html[1].count("<img")
    figures = sum("image/png" in k for cell in kinds for _, k in cell)
    assert figures >= 4  # 02-data-collection: the inline backend still works
    assert not _kernel_children()


def _planted_project(tmp_path):
    root = make_project(tmp_path, notebooks=("01-objectives",))
    nbs = root / "notebooks"
    (nbs / "01-objectives.py").unlink()
    (nbs / "01-ok.py").write_text(PARAMS + '# %%\nprint("ok")\n')
    (nbs / "02-broken.py").write_text(
        PARAMS + '# %%\nprint("before the failure")\n\n# %%\nraise ValueError("planted failure")\n'
    )
    (nbs / "03-after.py").write_text(PARAMS + '# %%\nprint("after")\n')
    return root


@pytest.mark.slow
def test_failing_notebook_stops_the_run_and_leaves_no_kernel(tmp_path, monkeypatch, kernels):
    made, taken = kernels
    root = _planted_project(tmp_path)
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    with pytest.raises(RunError, match="02-broken failed in cell"):
        run_pipeline("configs/demo.yaml")
    run_dir = next((root / "reports").glob("demo-retail-*"))
    assert "planted failure" in (run_dir / "02-broken.html").read_text()
    assert not (run_dir / "03-after.ipynb").exists()
    # the kernel started ahead for 03-after was never used, and is shut down too
    assert [k.name for k in made] == ["01-ok", "02-broken", "03-after"]
    assert taken == {"01-ok": True, "02-broken": True}
    assert all(not k.km.is_alive() for k in made)
    assert all(not kc.channels_running for k in made for kc in k.km.clients)
    assert not _kernel_children()


@pytest.mark.slow
def test_interrupted_run_leaves_no_kernel(tmp_path, monkeypatch, kernels):
    made, _ = kernels
    root = _planted_project(tmp_path)
    monkeypatch.setenv("SEGLAB_ROOT", str(root))
    execute = runner._execute

    def interrupted(spec, params, paths, nb_run, kernel=None):
        if spec.name == "02-broken":
            assert kernel.take() is not None  # Ctrl-C while the notebook runs in it
            raise KeyboardInterrupt
        return execute(spec, params, paths, nb_run, kernel)

    monkeypatch.setattr(runner, "_execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline("configs/demo.yaml")
    assert [k.name for k in made] == ["01-ok", "02-broken", "03-after"]
    assert all(not k.km.is_alive() for k in made)
    assert not _kernel_children()
