"""``python -m cirrusml.serving --config CONFIG.json [flags]``: run a scoring server here.

Flags override the config file's values; without a config file, ``--model-path`` is needed.
``--code-path FOLDER --scoring-script score.py`` serves a scoring script (its ``init()`` and
``run()``) instead of the MLflow model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cirrusml.exceptions import CirrusMLError
from cirrusml.serving._config import ServerConfig
from cirrusml.serving._server import serve

#: The flags, each a field of ServerConfig.
_FLAGS: dict[str, type] = {
    "model_path": str, "host": str, "port": int, "auth_mode": str, "primary_key": str,
    "secondary_key": str, "instance_count": int, "request_timeout_ms": int,
    "max_concurrent_requests_per_instance": int, "max_request_bytes": int, "log_file": str,
    "state_file": str, "code_path": str, "scoring_script": str, "model_name": str,
    "model_version": str,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cirrusml.serving",
        description="Serve one MLflow model folder, or a scoring script, over HTTP (POST /score). "
                    "See docs/serving.md.")
    parser.add_argument("--config", help="a JSON file of settings (ServerConfig fields)")
    for name, kind in _FLAGS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None,
                            help=f"the {name} setting")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    values: dict[str, Any] = {k: getattr(args, k) for k in _FLAGS}
    try:
        if args.config:
            config = ServerConfig.from_file(args.config, **values)
        else:
            config = ServerConfig.make(**{k: v for k, v in values.items() if v is not None})
        serve(config)
    except CirrusMLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
