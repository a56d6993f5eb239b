"""Files the collection writes on the controller: atomically, with exactly the mode asked.

Reports that name people, caches and RapprochementSSO files are readable by
their owner only (0600, directories 0700); the run's summary report is 0644.
A file is written to a temporary file next to it, then renamed over it:
readers see the old file or the new one, never a part, and an existing
file's mode never survives.
"""
from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any


def make_dir(directory: str) -> None:
    """Create ``directory`` (and its parents) mode 0700; an existing one is left as it is."""
    try:
        os.makedirs(directory, mode=0o700)
    except FileExistsError:
        if not os.path.isdir(directory):
            raise
    else:
        os.chmod(directory, 0o700)  # whatever the umask


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, the file ending with exactly ``mode``."""
    path = os.path.abspath(path)
    make_dir(os.path.dirname(path))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".part")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


#: a cell starting with one of these is a formula (or becomes one) for a spreadsheet
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet cannot run: a text it would take for a formula gets a leading apostrophe.

    Every CSV the collection writes goes through here (:func:`csv_text`);
    :func:`csv_uncell` undoes it for a file given back.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_uncell(value: str) -> str:
    """The text :func:`csv_cell` was given (an apostrophe it added before a formula start is taken away)."""
    if value[:1] == "'" and value[1:2] in FORMULA_STARTS and value[1:2]:
        return value[1:]
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A ``;`` CSV with a byte order mark (spreadsheets then read UTF-8), every cell through :func:`csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([csv_cell(v) for v in header])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return "\ufeff" + out.getvalue()


def write_private_csv(path: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A CSV (:func:`csv_text`), readable by its owner only."""
    write_atomic(path, csv_text(header, rows).encode("utf-8"), 0o600)
