"""Make a working copy of Azure's bank-marketing pipeline example that runs with our scripts.

    python examples/bankmarketing-pipeline/prepare.py [--dest FOLDER]

Azure's example (``cli-automl-classification-task-bankmarketing-pipeline``) was published
without its components' ``code: ./src/`` folder. This copies the example folder (found in
``$CIRRUS_SHARED/azure-examples`` or in ``../shared/azure-examples`` beside the repository) to
``examples/bankmarketing-pipeline/data/pipeline`` (or ``--dest``) and puts this folder's
``src/`` (``preprocess.py``, ``register.py``) into its ``components/src/``, so that its
``pipeline.yml`` runs unchanged:

    cirrus job create --file examples/bankmarketing-pipeline/data/pipeline/pipeline.yml --stream

The datasets stay out of the repository: the copy lives under ``data/``, which git ignores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

EXAMPLE = "cli-automl-classification-task-bankmarketing-pipeline"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def find_example() -> Path:
    candidates = []
    if os.environ.get("CIRRUS_SHARED"):
        candidates.append(Path(os.environ["CIRRUS_SHARED"]) / "azure-examples" / EXAMPLE)
    candidates.append(REPO.parent / "shared" / "azure-examples" / EXAMPLE)
    for candidate in candidates:
        if (candidate / "pipeline.yml").is_file():
            return candidate
    sys.exit("Azure's example folder was not found; looked in: "
             + ", ".join(map(str, candidates)) + ". Set CIRRUS_SHARED to the shared folder.")


def prepare(dest: Path) -> Path:
    source = find_example()
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(source, dest)
    shutil.copytree(HERE / "src", dest / "components" / "src",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description="Prepare the bank-marketing pipeline example.")
    parser.add_argument("--dest", type=Path, default=HERE / "data" / "pipeline")
    args = parser.parse_args()
    dest = prepare(args.dest.resolve())
    print(f"Prepared {dest}")
    print(f"Run it with: cirrus job create --file {dest / 'pipeline.yml'} --stream")


if __name__ == "__main__":
    main()
