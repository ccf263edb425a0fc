"""Command line: ``seglab run``, ``seglab validate``, ``seglab notebooks``, ``seglab demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from seglab.errors import RunError, SeglabError

app = typer.Typer(
    help="seglab: customer segmentation notebooks, run as HTML reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


def _fail(exc: Exception, code: int) -> None:
    console.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(code)


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="Run configuration (YAML).")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            help="Override: key=value (config setting or notebook parameter); repeatable.",
        ),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this notebook (number or name); repeatable."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for run folders (default reports/).")
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Reuse an existing run folder (e.g. with --only)."),
    ] = None,
) -> None:
    """Run the notebook pipeline for CONFIG and write reports/<run-id>/index.html."""
    from seglab.runner import parse_sets, run_pipeline

    status = None

    def progress(event: str, nb) -> None:
        nonlocal status
        if event == "start":
            status = console.status(f"running [bold]{nb.name}[/] ...")
            status.start()
        elif nb.status == "skipped":
            console.print(f"  {nb.name:<28} [yellow]skipped[/]  {nb.error}", highlight=False)
        else:
            status.stop()
            mark = "[green]ok[/]" if nb.status == "ok" else "[bold red]FAILED[/]"
            console.print(f"  {nb.name:<28} {mark}  {nb.seconds:6.1f} s", highlight=False)
            if nb.error:
                console.print(f"    cell {nb.cell}: {nb.error}", highlight=False)

    try:
        console.print(f"seglab run: {config}", highlight=False)
        result = run_pipeline(
            config, parse_sets(set_), only=only, out=out, run_id=run_id, progress=progress
        )
    except RunError as exc:
        if status is not None:
            status.stop()
        console.print(
            f"[bold red]run failed:[/] {exc}\npartial report written; see the run folder's index.html",
            highlight=False,
        )
        raise typer.Exit(1) from None
    except SeglabError as exc:
        _fail(exc, 2)
    console.print(f"[green]done[/]: {result.index}", highlight=False)
    typer.echo(str(result.index))


@app.command()
def validate(
    config: Annotated[Path, typer.Option("--config", "-c", help="Run configuration (YAML).")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="Override: key=value; repeatable.")
    ] = None,
) -> None:
    """Check a config, its overrides and its input files without running notebooks."""
    from seglab.config import apply_overrides, parse_config, read_config_dict
    from seglab.paths import ProjectPaths, project_root
    from seglab.runner import discover_notebooks, parse_sets, split_sets

    try:
        project = ProjectPaths(project_root())
        path = project.resolve(config)
        config_sets, _ = split_sets(parse_sets(set_), discover_notebooks(project.notebooks))
        cfg = parse_config(apply_overrides(read_config_dict(path), config_sets), origin=str(path))
    except SeglabError as exc:
        _fail(exc, 2)
    missing = [
        f"{name}: {project.resolve(src.path)}"
        for name in ("transactions", "customers", "survey", "campaigns")
        if (src := getattr(cfg.data, name)) is not None
        and src.path
        and not project.resolve(src.path).is_file()
    ]
    if missing and cfg.data.demo is None:
        _fail(SeglabError("input files not found:\n  " + "\n  ".join(missing)), 2)
    console.print(f"[green]{path} is valid[/] (config `{cfg.name}`)", highlight=False)
    if missing:
        console.print(
            "demo inputs will be generated on the first run: " + "; ".join(missing), highlight=False
        )


@app.command()
def score(
    model: Annotated[
        Path,
        typer.Option("--model", "-m", help="Saved model (segmentation_model.joblib of a run)."),
    ],
    data: Annotated[
        Path,
        typer.Option(
            "--data", "-d", help="Customer table to score (CSV or Parquet) with the basis columns."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output file (.csv or .parquet); default <data>-segments.csv."),
    ] = None,
    id_column: Annotated[
        str, typer.Option(help="Customer id column, copied to the output.")
    ] = "customer_id",
    engine: Annotated[
        str,
        typer.Option(
            help="python (in memory; refuses any bad row), duckdb or spark "
            "(in the engine: for millions of rows; bad rows get no segment "
            "and are counted)."
        ),
    ] = "python",
) -> None:
    """Assign customers to the segments of a saved model."""
    import pandas as pd

    from seglab.io import write_frame
    from seglab.scoring import load_model

    if engine not in ("python", "duckdb", "spark"):
        _fail(SeglabError(f"--engine must be python, duckdb or spark, got {engine!r}"), 2)
    try:
        fitted = load_model(model)
        if not data.is_file() and not (engine != "python" and data.is_dir()):
            raise SeglabError(f"data file {data} not found")
        if engine == "python":
            table = pd.read_parquet(data) if data.suffix == ".parquet" else pd.read_csv(data)
            result = pd.DataFrame({"segment_id": fitted.predict(table).to_numpy()})
            if id_column in table:
                result.insert(0, id_column, table[id_column].to_numpy())
            if fitted.names:
                result["segment"] = result["segment_id"].map(fitted.names)
        else:
            result = _score_in_engine(fitted, data, engine, id_column)
    except (SeglabError, ValueError) as exc:
        _fail(exc, 2)
    target = out or data.with_name(f"{data.stem}-segments.csv")
    write_frame(result, target)
    console.print(f"scored {len(result):,} customers -> {target}", highlight=False)


def _score_in_engine(fitted, data: Path, engine: str, id_column: str):
    """Segments computed by DuckDB or Spark; the same columns as the in-memory path."""
    import pandas as pd

    from seglab.engine_scoring import score_in_engine

    source = data if data.suffix == ".parquet" or data.is_dir() else pd.read_csv(data)
    scored = score_in_engine(fitted, source, engine=engine, id_column=id_column)
    return scored.reset_index().rename(columns={"segment_name": "segment"})


@app.command()
def notebooks() -> None:
    """List the notebooks of the pipeline and the parameters each one takes."""
    from seglab.paths import ProjectPaths, project_root
    from seglab.runner import RUNNER_PARAMETERS, discover_notebooks

    table = Table("notebook", "title", "parameters (default)")
    for spec in discover_notebooks(ProjectPaths(project_root()).notebooks):
        params = ", ".join(
            f"{k}={v!r}" for k, v in spec.parameters.items() if k not in RUNNER_PARAMETERS
        )
        table.add_row(spec.name, spec.title, params or "-")
    Console().print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the demo tables to.")] = Path(
        "data/raw/demo-retail"
    ),
    flavour: Annotated[str, typer.Option(help="retail (B2C) or b2b.")] = "retail",
    n_customers: Annotated[int, typer.Option(help="Customers (B2C) or accounts (B2B).")] = 20_000,
    n_lines: Annotated[int, typer.Option(help="Transaction lines.")] = 400_000,
    random_state: Annotated[int, typer.Option(help="Seed.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate the synthetic demo data (a fictional retailer, or a B2B supplier)."""
    from seglab import datasets

    if flavour not in ("retail", "b2b"):
        _fail(SeglabError(f"--flavour must be retail or b2b, got {flavour!r}"), 2)
    with console.status("generating demo data ..."):
        if flavour == "retail":
            data = datasets.make_retail(
                n_customers=n_customers, n_lines=n_lines, random_state=random_state
            )
        else:
            data = datasets.make_b2b(
                n_accounts=n_customers, n_lines=n_lines, random_state=random_state
            )
        paths = datasets.write_demo(data, out, fmt=fmt)
    for name, p in paths.items():
        console.print(f"  {name:<14} {p}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
