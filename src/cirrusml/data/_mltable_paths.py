"""The ``paths`` of an MLTable: parsing the entries and finding the files they name.

A path entry is ``{file: ...}``, ``{folder: ...}`` or ``{pattern: ...}``. Relative values resolve
against the table's base folder (the folder of its ``MLTable`` file); a folder contributes every
data file under it (see :func:`~cirrusml.data._files.list_data_files`), a pattern every file it
matches, in sorted order. A path that names nothing is an error when the table is built, not
when it is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cirrusml.data._files import list_data_files, local_path
from cirrusml.data._mltable_checks import PATH_KINDS, Checker, did_you_mean
from cirrusml.exceptions import DataError

__all__ = ["TablePaths", "parse_paths", "path_list", "relative_text"]


def parse_paths(check: Checker, raw: Any) -> list[tuple[str, str]]:
    """The ``paths`` of a table as ``(kind, value)`` pairs, each checked for its shape."""
    if raw is None:
        raise check.fail("has no 'paths'; add e.g. paths: [{file: ./data.csv}].")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise check.fail(
            f"'paths' must be a non-empty list such as [{{file: ./data.csv}}], got {raw!r}."
        )
    out = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise check.fail(
                f"path #{index + 1} must be a mapping with one of file, folder or pattern "
                f"(e.g. {{file: ./data.csv}}), got {entry!r}."
            )
        kinds = [k for k in entry if k in PATH_KINDS]
        others = [k for k in entry if k not in PATH_KINDS]
        if len(kinds) != 1:
            hint = ""
            if others:
                hint = did_you_mean(others[0], PATH_KINDS)
            found = ", ".join(map(str, entry)) or "nothing"
            raise check.fail(
                f"path #{index + 1} must have exactly one of file, folder or pattern but "
                f"has {found}; {hint}write it like {{file: ./data.csv}}."
            )
        if others:
            raise check.fail(
                f"path #{index + 1} has unknown key '{others[0]}' beside '{kinds[0]}'; "
                "a path entry holds only one of file, folder or pattern."
            )
        value = entry[kinds[0]]
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        if not isinstance(value, str) or not value:
            raise check.fail(
                f"path #{index + 1} ({kinds[0]}) must be a non-empty string, got {value!r}."
            )
        out.append((kinds[0], value))
    return out


@dataclass(frozen=True)
class TablePaths:
    """Parsed path entries with the folder they are relative to."""

    entries: list[tuple[str, str]]
    base_dir: Path
    check: Checker

    def resolve(self, value: str) -> str:
        """Absolute, normalised local path text for a path entry value."""
        try:
            local = local_path(value)
        except DataError as err:
            raise self.check.fail(str(err)) from None
        text = os.fspath(local)
        if not os.path.isabs(text):
            text = os.path.join(self.base_dir, text)
        return os.path.normpath(text)

    def files_of(self, index: int, kind: str, value: str) -> list[Path]:
        """The files entry ``index`` names; it must name at least one."""
        resolved = self.resolve(value)
        label = f"path #{index + 1} ({kind}: {value})"
        if kind == "file":
            if not os.path.isfile(resolved):
                what = "is a folder, not a file" if os.path.isdir(resolved) else "does not exist"
                raise self.check.fail(
                    f"{label} {what} (looked for '{resolved}'); fix the path, "
                    "which is relative to the MLTable file's folder."
                )
            return [Path(resolved)]
        if kind == "folder":
            if not os.path.isdir(resolved):
                what = "is a file, not a folder" if os.path.isfile(resolved) else "does not exist"
                raise self.check.fail(
                    f"{label} {what} (looked for '{resolved}'); fix the path, "
                    "which is relative to the MLTable file's folder."
                )
            files = list_data_files(Path(resolved))
            if not files:
                raise self.check.fail(
                    f"{label} holds no data file ('{resolved}' is empty); add "
                    "files to it or remove the path."
                )
            return files
        # a glob pattern; the folder part of a relative pattern is escaped before joining
        pattern = value[len("file://") :] if value.startswith("file://") else value
        if not os.path.isabs(os.path.expanduser(pattern)):
            pattern = os.path.join(glob.escape(os.fspath(self.base_dir)), pattern)
        matches = sorted(
            p
            for p in glob.glob(os.path.expanduser(pattern), recursive=True)
            if os.path.isfile(p) and os.path.basename(p) != "MLTable"
        )
        if not matches:
            raise self.check.fail(
                f"{label} matches no file (searched '{pattern}'); fix the "
                "pattern, which is relative to the MLTable file's folder."
            )
        return [Path(os.path.normpath(p)) for p in matches]

    def files(self) -> list[Path]:
        """Every file of the table, in path order."""
        out: list[Path] = []
        for index, (kind, value) in enumerate(self.entries):
            out.extend(self.files_of(index, kind, value))
        return out


def path_list(paths: Any) -> list[dict[str, Any]]:
    """``paths`` as the list of ``{file|folder|pattern: ...}`` dicts Azure's package takes.

    A single dict, or plain path strings (a file, a folder, or a glob), are accepted too.
    """
    if isinstance(paths, dict):
        return [paths]
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[dict[str, Any]] = []
    for entry in paths:
        if isinstance(entry, (str, os.PathLike)):
            text = os.fspath(entry)
            if glob.has_magic(text):
                out.append({"pattern": text})
            elif os.path.isdir(text):
                out.append({"folder": text})
            else:
                out.append({"file": text})
        else:
            out.append(entry)
    return out


def relative_text(resolved: str, folder: Path) -> str:
    """``./x`` when ``resolved`` is inside ``folder`` (or ``./`` for the folder), else as is."""
    base = os.fspath(folder)
    if resolved == base:
        return "./"
    if resolved.startswith(base.rstrip(os.sep) + os.sep):
        return "./" + Path(os.path.relpath(resolved, base)).as_posix()
    return resolved
