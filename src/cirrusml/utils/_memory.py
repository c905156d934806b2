"""Giving freed memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

__all__ = ["release_memory"]


def release_memory() -> None:
    """Collect garbage, then ask the C allocator to return its free pages to the system.

    Large models (forests, boosted trees) keep their nodes in memory that the C allocator
    holds on to after the objects are gone; a process that hands its model to another one
    would otherwise keep paying for it. A no-op where the C library has no ``malloc_trim``.
    """
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
