"""The bank-marketing pipeline's last step (``component_register_model.yaml``): register the
AutoML step's best model.

    python register.py --model_input_path <MLflow model folder> --model_base_name <name>

The model folder is registered with ``mlflow.register_model`` in the model registry of the
tracking URI the environment gives (``MLFLOW_TRACKING_URI``: the workspace, when the pipeline
runs it), as the next version of ``--model_base_name``; the name and version are printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mlflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_input_path", required=True)
    parser.add_argument("--model_base_name", required=True)
    args = parser.parse_args()
    folder = Path(args.model_input_path).resolve()
    if not (folder / "MLmodel").is_file():
        raise SystemExit(f"'{folder}' is not an MLflow model folder (it has no MLmodel file).")
    version = mlflow.register_model(model_uri=str(folder), name=args.model_base_name)
    print(f"Registered model {version.name} version {version.version} "
          f"(tracking URI {mlflow.get_tracking_uri()})")


if __name__ == "__main__":
    main()
