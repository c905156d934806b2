"""``cirrus batch score``: score a file, folder or MLTable with a model, showing progress.

Thin: it resolves the model reference, calls :func:`cirrusml.serving.score_file` and draws a
rich progress bar from its progress callback. Errors reach ``main`` as cirrusml errors and are
printed there as one line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from cirrusml.exceptions import DataError

batch_app = typer.Typer(help="Score files in batch with a model (like `az ml batch-endpoint "
                        "invoke`, run locally).", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)


def resolve_model(ref: str) -> Path:
    """The local MLflow model folder that ``ref`` names.

    Today ``ref`` is a folder (a job's ``best_model`` output, or a downloaded model). A registry
    reference (``NAME:VERSION``) is resolved here once the model registry exists.
    """
    folder = Path(os.path.abspath(os.path.expanduser(ref)))
    if folder.is_dir() and (folder / "MLmodel").is_file():
        return folder
    if folder.is_dir():
        raise DataError(f"--model '{folder}' holds no MLmodel file; give an MLflow model "
                        "folder, such as a job's best_model output.")
    raise DataError(f"--model '{ref}' is not a model folder (it does not exist); give the "
                    "folder of an MLflow model, e.g. from cirrus job download --output-name "
                    "best_model.")


@batch_app.command("score")
def batch_score(
    model: Annotated[str, typer.Option("--model", "-m", help="The model: an MLflow model "
                                       "folder (a job's best_model output).")],
    input_: Annotated[Path, typer.Option("--input", "-i", help="A csv, Parquet or JSON-lines "
                                         "file, a folder of them, or an MLTable folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="predictions.csv or "
                                         "predictions.parquet.")] = Path("predictions.csv"),
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows per mini-batch "
                                            "(mini_batch_size).", min=1)] = 10_000,
    method: Annotated[str, typer.Option("--method", help="predict, or predict_proba to add "
                                        "one probability column per class.")] = "predict",
    concurrency: Annotated[int, typer.Option("--max-concurrency", help="Mini-batches scored "
                                             "at once (max_concurrency_per_instance).",
                                             min=1)] = 1,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Retries of a failing "
                                             "mini-batch.", min=0)] = 3,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a mini-batch may take "
                                           "before it is retried.")] = 30.0,
) -> None:
    """Score every row of a file with a model and write the predictions, in input order."""
    from cirrusml.serving import BatchRetrySettings, score_file

    folder = resolve_model(model)
    columns = [SpinnerColumn(), TextColumn("[bold]scoring"), BarColumn(),
               MofNCompleteColumn(), TextColumn("rows"), TimeElapsedColumn()]
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task("score", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        summary = score_file(folder, input_, output, method=method, mini_batch_size=chunk_size,
                             max_concurrency_per_instance=concurrency,
                             retry_settings=BatchRetrySettings(max_retries, timeout),
                             progress=progress)
        bar.update(task, completed=summary.rows, total=summary.rows)
    retried = f", {summary.retries} retried" if summary.retries else ""
    console.print(f"Scored {summary.rows} rows in {summary.mini_batches} mini-batch(es)"
                  f"{retried}; predictions in {summary.output}")
