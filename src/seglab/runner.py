"""Run the numbered notebooks with papermill and write a self-contained HTML report per run."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import copy
import logging
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jinja2
import jupytext
import nbformat
import yaml
from jupyter_client import KernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import ensure_event_loop
from traitlets import DottedObjectName

from seglab import __version__
from seglab.config import (
    Config,
    apply_overrides,
    check_config_key,
    dump_config,
    parse_config,
    read_config_dict,
)
from seglab.errors import ConfigError, RunError, SeglabError
from seglab.intake import file_sha256
from seglab.io import to_json_text, write_json, write_text
from seglab.paths import ProjectPaths, RunPaths, project_root

TEMPLATES = Path(__file__).parent / "templates"
KERNEL = "python3"
#: Parameters every notebook declares; the runner sets them.
RUNNER_PARAMETERS = ("config", "run_id", "report_root")
_NB_PATTERN = re.compile(r"^(\d\d)-[\w-]+\.py$")
_VERSIONED = (
    "seglab",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "seaborn",
    "factor-analyzer",
    "duckdb",
    "pyarrow",
    "papermill",
    "nbconvert",
    "jupytext",
)
#: Kernel command-line arguments: the kernel's own start-up warnings are noise on the
#: console; cell errors still surface.
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)
#: Imported in every kernel started ahead, besides what the notebook itself imports.
AHEAD_IMPORTS = ("numpy", "pandas", "matplotlib.pyplot", "seglab")
#: Seconds a kernel started ahead may take to start and import; beyond that papermill
#: starts its own (papermill's own start timeout is 60 s, the imports come on top).
AHEAD_TIMEOUT = 120.0
_log = logging.getLogger(__name__)
# a library logs, the application decides what to show: no "No handlers" fallback to stderr
_log.addHandler(logging.NullHandler())


@dataclass
class NotebookSpec:
    """A shipped notebook: its reviewed jupytext source and declared parameters."""

    name: str
    path: Path
    parameters: dict[str, Any]
    title: str = ""
    requires: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        return self.name[:2]


def declared_parameters(nb: nbformat.NotebookNode, where: str = "notebook") -> dict[str, Any]:
    """The literals assigned in the cell tagged ``parameters``.

    Raises
    ------
    ConfigError
        When no cell carries the tag, or the cell holds anything but literal assignments.
    """
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(
            f"{where} needs exactly one cell tagged `parameters` (found {len(cells)})"
        )
    params: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise ConfigError(
                f"the parameters cell of {where} must hold only `name = literal` lines"
            )
        try:
            params[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            raise ConfigError(
                f"parameter `{node.targets[0].id}` of {where} is not a literal; derived values "
                "belong after the parameters cell"
            ) from None
    return params


def _title(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return ""


def discover_notebooks(folder: Path) -> list[NotebookSpec]:
    """The numbered notebooks (``NN-topic.py`` jupytext sources) of a folder, in run order."""
    specs = []
    for path in sorted(folder.glob("*.py")):
        if _NB_PATTERN.match(path.name):
            nb = jupytext.read(path)
            requires = tuple(nb.metadata.get("seglab", {}).get("requires", []))
            specs.append(
                NotebookSpec(
                    path.stem, path, declared_parameters(nb, path.name), _title(nb), requires
                )
            )
    if not specs:
        raise ConfigError(f"no numbered notebooks (NN-topic.py) found in {folder}")
    return specs


def select_notebooks(specs: list[NotebookSpec], only: list[str] | None) -> list[NotebookSpec]:
    """Pick notebooks by number (``02``) or name (``02-data-collection``, ``data-collection``)."""
    if not only:
        return specs
    chosen = []
    for token in only:
        hits = [s for s in specs if token in (s.number, s.name, s.name[3:])]
        if not hits:
            names = ", ".join(s.name for s in specs)
            raise ConfigError(f"--only {token!r} matches no notebook; choose from: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return sorted(chosen, key=lambda s: s.name)


def parse_sets(items: list[str] | None) -> dict[str, Any]:
    """``["key=value", ...]`` to a dict, values read as YAML (``3`` -> int, ``net`` -> str)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(
                f"--set {item!r}: write it as key=value, e.g. --set cleaning.returns=net"
            )
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _type_ok(default: Any, value: Any) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def split_sets(
    sets: dict[str, Any], specs: list[NotebookSpec]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split overrides into config settings and notebook parameters, validating both.

    Raises
    ------
    ConfigError
        For a name that is neither a config setting nor a parameter of a notebook to run
        (the message lists the allowed names), or a value of the wrong type.
    """
    declared: dict[str, tuple[str, Any]] = {}
    for s in specs:
        for name, default in s.parameters.items():
            if name not in RUNNER_PARAMETERS:
                declared.setdefault(name, (s.name, default))
    config_sets, nb_sets = {}, {}
    for key, value in sets.items():
        if key in RUNNER_PARAMETERS:
            raise ConfigError(
                f"`{key}` is set by `seglab run` itself; use --config/--run-id/--out instead"
            )
        if key in declared:
            owner, default = declared[key]
            if not _type_ok(default, value):
                raise ConfigError(
                    f"parameter `{key}` of {owner} expects {type(default).__name__} "
                    f"(default {default!r}), got {value!r}"
                )
            nb_sets[key] = value
            continue
        try:
            check_config_key(key)
        except ConfigError as exc:
            nb_names = ", ".join(sorted(declared)) or "none"
            raise ConfigError(f"{exc}\nNotebook parameters you can set: {nb_names}") from None
        config_sets[key] = value
    return config_sets, nb_sets


def missing_requirements(spec: NotebookSpec, config: Config) -> list[str]:
    """Config settings a notebook needs (its ``seglab.requires`` metadata) that are not set."""
    missing = []
    for key in spec.requires:
        node: Any = config
        for part in key.split("."):
            node = getattr(node, part, None)
        if node is None or node == [] or node == {}:
            missing.append(key)
    return missing


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape results."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _flatten(d: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if (
            isinstance(v, dict)
            and len(v) <= 12
            and all(not isinstance(x, dict) for x in v.values())
        ):
            rows.append((key, ", ".join(f"{a}: {_fmt(b)}" for a, b in v.items())))
        elif isinstance(v, dict):
            rows.extend(_flatten(v, key + "."))
        else:
            rows.append((key, _fmt(v)))
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v[:12]) + (" ..." if len(v) > 12 else "")
    return str(v)


def export_html(nb: nbformat.NotebookNode, out: Path, run_id: str, status: str) -> Path:
    """Write a notebook as HTML with code hidden and no network resources."""
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="seglab", extra_template_basedirs=[str(TEMPLATES / "nbconvert")]
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(
        nb, resources={"seglab_run_id": run_id, "seglab_status": status}
    )
    return write_text(out, body)


@dataclass
class NotebookRun:
    """Outcome of one notebook in a run."""

    name: str
    title: str
    status: str = "not run"
    seconds: float | None = None
    html: str | None = None
    ipynb: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cell: int | None = None


@dataclass
class RunResult:
    """What ``seglab run`` did."""

    run_id: str
    report_dir: Path
    notebooks: list[NotebookRun]

    @property
    def ok(self) -> bool:
        return all(n.status != "failed" for n in self.notebooks)

    @property
    def index(self) -> Path:
        return self.report_dir / "index.html"


def _new_run_id(reports: Path, name: str) -> str:
    base = f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    run_id, i = base, 2
    while (reports / run_id).exists():
        run_id, i = f"{base}-{i}", i + 1
    return run_id


def _inputs(config: Config, project: ProjectPaths) -> dict[str, dict]:
    out = {}
    for name in ("transactions", "customers", "survey", "campaigns"):
        src = getattr(config.data, name)
        if src is None:
            continue
        if src.path:
            p = project.resolve(src.path)
            out[name] = {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}
        else:
            out[name] = {
                "url": "(database URL, not recorded)",
                "table": src.table,
                "query": src.query,
            }
    return out


def _error_cell(nb: nbformat.NotebookNode) -> tuple[int | None, str]:
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error":
                return i, f"{o.get('ename')}: {o.get('evalue')}"
    return None, "unknown error"


def notebook_imports(nb: nbformat.NotebookNode) -> list[str]:
    """Modules a notebook imports at the top level of its code cells.

    ``from seglab import cleaning`` lists both ``seglab`` and ``seglab.cleaning``: the name
    may be a submodule; importing one that is not fails harmlessly ahead.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook.

    Returns
    -------
    list of str
        Module names, in order of appearance, without duplicates.
    """
    found: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:  # IPython magics: not plain Python
            continue
        for node in body:
            if isinstance(node, ast.Import):
                found.extend(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
                found.extend(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return list(dict.fromkeys(found))


def _import_code(modules: list[str]) -> str:
    """Code that imports modules without binding a name in the notebook's namespace."""
    return (
        "def _seglab_import_ahead(names):\n"
        "    import importlib\n"
        "    for name in names:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except ImportError:  # a name from `from x import name`, or missing: the\n"
        "            pass  # notebook raises it itself, in its own cell\n"
        f"_seglab_import_ahead({modules!r})\n"
        "del _seglab_import_ahead\n"
    )


class _HandOverKernelManager(KernelManager):
    """A kernel manager to hand to papermill, which the runner shuts down itself.

    nbclient (under papermill) drives a kernel through an asynchronous client, hence
    ``client_class``. Given a manager with a running kernel it neither shuts the kernel down
    nor stops the client it created (``owns_km`` is False), so the manager keeps the clients
    it hands out for :meth:`KernelAhead.close`.
    """

    client_class = DottedObjectName("jupyter_client.asynchronous.AsyncKernelClient")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clients: list[AsyncKernelClient] = []

    def client(self, **kwargs: Any) -> AsyncKernelClient:  # type: ignore[override]
        kc = super().client(**kwargs)
        self.clients.append(kc)
        return kc


def _close_thread_loop() -> None:
    """Close the event loop jupyter_client's blocking calls made for this thread.

    Left open, it is closed only when garbage-collected, with a ``ResourceWarning``.
    """
    ensure_event_loop().close()


async def _run_silently(km: KernelManager, code: str) -> str:
    """Run code in a started kernel without an execution count or outputs; the reply status."""
    kc = km.client()
    kc.start_channels(stdin=False, hb=False, control=False)
    try:
        await kc.wait_for_ready(timeout=AHEAD_TIMEOUT)
        reply = await kc.execute(
            code, silent=True, store_history=False, reply=True, timeout=AHEAD_TIMEOUT
        )
    finally:
        kc.stop_channels()
    return reply["content"]["status"]


class KernelAhead:
    """A fresh kernel for one notebook, started in the background with its imports done.

    Starting a kernel takes about 1.5 s, importing pandas, matplotlib and the seglab
    modules a notebook uses up to 2 s more; done while the previous notebook runs, that
    time is hidden. The kernel runs only the imports: each notebook still gets a fresh
    kernel of its own, and its first code cell execution count 1 (the import is ``silent``).

    Parameters
    ----------
    pool : ThreadPoolExecutor
        Where to start the kernel (one worker: kernels start one after the other).
    spec : NotebookSpec
        The notebook the kernel is for.
    """

    def __init__(self, pool: ThreadPoolExecutor, spec: NotebookSpec) -> None:
        self.name = spec.name
        self.km = _HandOverKernelManager(kernel_name=KERNEL, log=_log)
        self._closed = False
        self._started: Future[None] = pool.submit(self._start, spec.path)

    def _start(self, path: Path) -> None:
        modules = list(dict.fromkeys([*AHEAD_IMPORTS, *notebook_imports(jupytext.read(path))]))
        try:
            # as papermill would start it: papermill chdir()s to its `cwd` and nbclient starts
            # the kernel there (no `cwd` argument), with an in-memory IPython history
            self.km.start_kernel(
                cwd=str(path.parent),
                extra_arguments=[*KERNEL_ARGUMENTS, "--HistoryManager.hist_file=:memory:"],
            )
        finally:
            _close_thread_loop()
        status = asyncio.run(_run_silently(self.km, _import_code(modules)))
        if status != "ok":
            raise RuntimeError(f"importing ahead ended with status {status!r}")

    def take(self) -> KernelManager | None:
        """Wait for the kernel; the manager to hand to papermill, or None to let it start one.

        Returns
        -------
        KernelManager or None
            None (the kernel shut down) when the start or the imports failed or the
            kernel died since.
        """
        try:
            self._started.result()
            if self.km.is_alive():
                return self.km
            _log.debug("the kernel started ahead for %s died; papermill starts one", self.name)
        except Exception:
            _log.debug("no kernel ahead for %s; papermill starts one", self.name, exc_info=True)
        self.close()
        return None

    def close(self) -> None:
        """Shut the kernel down and stop its clients' channels; never raises, may repeat.

        Waits for a start under way first, so that no kernel is left behind.
        """
        if self._closed:
            return
        self._closed = True
        wait_for_futures([self._started])
        # jupyter_client shuts down on the calling thread's event loop: in the main thread
        # that is nbclient's, where Ctrl-C leaves its tasks pending; they would wake up and
        # report the kernel dead. A thread of its own leaves them be.
        stopper = threading.Thread(target=self._shutdown, name=f"seglab-stop-{self.name}")
        stopper.start()
        stopper.join()

    def _shutdown(self) -> None:
        for kc in self.km.clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
        try:
            if self.km.has_kernel:
                self.km.shutdown_kernel()
            else:  # never launched: the connection file may be there
                self.km.cleanup_resources()
        except Exception:
            _log.debug("shutting down the kernel for %s", self.name, exc_info=True)
            with contextlib.suppress(Exception):
                self.km.shutdown_kernel(now=True)
        finally:
            _close_thread_loop()


def run_pipeline(
    config: str | Path,
    sets: dict[str, Any] | None = None,
    only: list[str] | None = None,
    out: str | Path | None = None,
    run_id: str | None = None,
    progress: Callable[[str, NotebookRun | None], None] | None = None,
) -> RunResult:
    """Execute the numbered notebooks for a config and write ``reports/<run-id>/``.

    Parameters
    ----------
    config : str or Path
        Config file.
    sets : dict, optional
        Overrides: dotted config settings (``cleaning.returns``) or notebook parameters.
    only : list of str, optional
        Notebooks to run (number or name); default all, in order.
    out : str or Path, optional
        Folder for run folders (default ``reports/``).
    run_id : str, optional
        Reuse a run folder (e.g. to re-run one notebook on an earlier run's hand-off files).
    progress : callable, optional
        ``progress(event, notebook_run)`` with events ``start`` and ``done``; the CLI uses it.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Before anything runs, for an invalid config, override or parameter.
    RunError
        When a notebook fails; the partial report has been written first.
    """
    project = ProjectPaths(project_root())
    config_path = project.resolve(config)
    specs = discover_notebooks(project.notebooks)
    chosen = select_notebooks(specs, only)
    config_sets, nb_sets = split_sets(sets or {}, chosen)
    raw = read_config_dict(config_path)
    cfg = parse_config(apply_overrides(raw, config_sets), origin=str(config_path))

    from seglab.demo import ensure_demo

    ensure_demo(cfg, project)

    report_root = project.resolve(out) if out else project.reports
    run_id = run_id or _new_run_id(report_root, cfg.name)
    paths = RunPaths.create(project, run_id, report_root)
    write_text(paths.config, dump_config(cfg))
    started = datetime.now()
    runs = [NotebookRun(s.name, s.title) for s in chosen]
    # kernels inherit these: the project root, OpenMP threads that sleep rather than
    # spin while waiting (spinning threads made k-means 20-50x slower on a busy 2-core
    # box), and Arrow on the system allocator, which hands freed memory back (its default
    # pool kept ~0.5 GB: notebook 02 at 10M lines peaked at 3.0 GB, 2.7 GB with this)
    kernel_env = {
        "SEGLAB_ROOT": str(project.root),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        "ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "system"),
    }
    env_before = {k: os.environ.get(k) for k in kernel_env}
    os.environ.update(kernel_env)
    runnable = [s for s in chosen if not missing_requirements(s, cfg)]
    following = {s.name: t for s, t in zip(runnable, runnable[1:], strict=False)}
    failure = None
    # while a notebook runs, the kernel for the next one starts in a worker thread (after
    # the environment above is set: kernels copy it)
    starting = ThreadPoolExecutor(1, thread_name_prefix="seglab-kernel")
    current = ahead = None
    try:
        ahead = KernelAhead(starting, runnable[0]) if runnable else None
        for spec, nb_run in zip(chosen, runs, strict=True):
            params = {k: v for k, v in nb_sets.items() if k in spec.parameters}
            params.update(config=str(paths.config), run_id=run_id, report_root=str(report_root))
            nb_run.parameters = params
            lacking = missing_requirements(spec, cfg)
            if lacking:
                nb_run.status = "skipped"
                nb_run.error = "the config has no " + ", ".join(f"`{k}`" for k in lacking)
                if progress:
                    progress("done", nb_run)
                continue
            if progress:
                progress("start", nb_run)
            current, nxt = ahead, following.get(spec.name)
            ahead = KernelAhead(starting, nxt) if nxt else None
            failure = _execute(spec, params, paths, nb_run, current)
            if progress:
                progress("done", nb_run)
            if failure:
                break
    finally:
        # no kernel outlives the run: after a failure the one started ahead (once its start
        # ended), after Ctrl-C also the current one
        for kernel in (current, ahead):
            if kernel is not None:
                kernel.close()
        starting.shutdown()
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result = RunResult(run_id, paths.report, runs)
    _write_manifest(cfg, project, paths, result, started, config_sets)
    _write_index(cfg, paths, result, started)
    if failure:
        raise RunError(failure)
    return result


def _execute(
    spec: NotebookSpec,
    params: dict,
    paths: RunPaths,
    nb_run: NotebookRun,
    kernel: KernelAhead | None = None,
) -> str | None:
    """Run one notebook, in the kernel started ahead for it if any; return a failure or None."""
    import papermill as pm

    nb = jupytext.read(spec.path)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata["title"] = spec.title or spec.name
    out_nb = paths.report / f"{spec.name}.ipynb"
    t0 = time.perf_counter()
    failure = None
    try:
        executed = pm.execute_notebook(
            nb,
            str(out_nb),
            parameters=params,
            kernel_name=KERNEL,
            # None: papermill starts a kernel itself, as it would without `km`
            km=kernel.take() if kernel else None,
            cwd=str(spec.path.parent),
            progress_bar=False,
            log_output=False,
            extra_arguments=list(KERNEL_ARGUMENTS),
        )
        nb_run.status = "ok"
    except pm.PapermillExecutionError as exc:
        executed = nbformat.read(out_nb, as_version=4)
        nb_run.status = "failed"
        nb_run.cell, _ = _error_cell(executed)
        nb_run.error = f"{exc.ename}: {exc.evalue}"
        failure = f"notebook {spec.name} failed in cell {nb_run.cell}: {nb_run.error}"
    except Exception as exc:  # kernel died, timeout, ...: still leave what ran
        nb_run.status = "failed"
        nb_run.error = f"{type(exc).__name__}: {exc}"
        failure = f"notebook {spec.name} could not run: {nb_run.error}"
        executed = nbformat.read(out_nb, as_version=4) if out_nb.is_file() else nb
    finally:
        if kernel is not None:  # papermill leaves running a kernel it did not start
            kernel.close()
    nb_run.seconds = time.perf_counter() - t0
    nb_run.ipynb = out_nb.name
    html = paths.report / f"{spec.name}.html"
    export_html(executed, html, paths.run_id, nb_run.status)
    nb_run.html = html.name
    return failure


def _write_manifest(
    cfg: Config,
    project: ProjectPaths,
    paths: RunPaths,
    result: RunResult,
    started: datetime,
    config_sets: dict,
) -> None:
    import json

    previous = json.loads(paths.manifest.read_text()) if paths.manifest.is_file() else {}
    notebooks = previous.get("notebooks", {})
    notebooks.update({n.name: n.__dict__ for n in result.notebooks})
    results = json.loads(paths.results.read_text()) if paths.results.is_file() else {}
    inputs = _inputs(cfg, project)
    if "transactions" in inputs:
        inputs["transactions"]["rows"] = results.get("data", {}).get("rows_read")
    manifest = {
        "run_id": result.run_id,
        "config": cfg.name,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now().isoformat(timespec="seconds"),
        "status": "ok" if result.ok else "failed",
        "random_state": cfg.random_state,
        "overrides": config_sets,
        "inputs": inputs,
        "notebooks": dict(sorted(notebooks.items())),
        "versions": package_versions(),
        "platform": {"system": platform.platform(), "executable": sys.executable},
    }
    write_json(paths.manifest, manifest)


def _write_index(cfg: Config, paths: RunPaths, result: RunResult, started: datetime) -> None:
    import json

    from seglab.objectives import brief_table

    manifest = json.loads(paths.manifest.read_text())
    results = json.loads(paths.results.read_text()) if paths.results.is_file() else {}
    notebooks = [NotebookRun(**v) for v in manifest["notebooks"].values()]
    failed = next((n for n in result.notebooks if n.status == "failed"), None)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False)
    html = env.get_template("run_index.html.j2").render(
        title=cfg.report.title or f"Customer segmentation: {cfg.name}",
        run_id=result.run_id,
        config_name=cfg.name,
        started=started.strftime("%Y-%m-%d %H:%M"),
        version=__version__,
        brief=list(brief_table(cfg)["value"].items()),
        notebooks=notebooks,
        figures=_flatten(results),
        failed=failed,
        total_seconds=sum(n.seconds or 0 for n in notebooks),
    )
    write_text(paths.report / "index.html", html)


__all__ = ["SeglabError", "run_pipeline", "discover_notebooks", "to_json_text"]
