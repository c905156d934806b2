"""Small helpers shared by every layer (L0)."""

from __future__ import annotations

from cirrusml.utils._memory import release_memory
from cirrusml.utils._names import camel_to_snake, name_key, nearest, suggestion

__all__ = ["camel_to_snake", "name_key", "nearest", "release_memory", "suggestion"]
