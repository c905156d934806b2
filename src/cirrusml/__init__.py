"""cirrusml: local-first AutoML for tabular data, shaped like Azure ML AutoML."""

from __future__ import annotations

from cirrusml._version import __version__

__all__ = ["__version__"]
