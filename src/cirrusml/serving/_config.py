"""The settings of one scoring server: :class:`ServerConfig` (defined in ``cirrusml.spec``, so
that the client, a lower layer, can write the config files this package reads)."""

from __future__ import annotations

from cirrusml.spec._server import DEFAULT_MAX_REQUEST_BYTES, ServerConfig, generate_key

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ServerConfig", "generate_key"]
