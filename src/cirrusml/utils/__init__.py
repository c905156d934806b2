"""Small helpers shared by every layer (L0)."""

from __future__ import annotations

from cirrusml.utils._files import file_lock, link_or_copy, write_json_atomic, write_text_atomic
from cirrusml.utils._logs import job_log
from cirrusml.utils._memory import release_memory
from cirrusml.utils._names import camel_to_snake, name_key, nearest, suggestion
from cirrusml.utils._processes import log_tail, read_state, reap_children, spawn_module

__all__ = ["camel_to_snake", "file_lock", "job_log", "link_or_copy", "log_tail", "name_key",
           "nearest", "read_state", "reap_children", "release_memory", "spawn_module",
           "suggestion", "write_json_atomic", "write_text_atomic"]
