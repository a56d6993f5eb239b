"""What the sandbox writes to its log (``sandbox.log`` when detached, else the terminal).

Every HTTP 500 the sandbox answers is logged: a real bug with its traceback,
a fault injected on purpose (``python -m sandbox faults``) as such, so that a
failure seen by a client can always be told apart and explained.
"""
from __future__ import annotations

import logging
import sys

from flask import request

_logger = logging.getLogger("sandbox")
if not _logger.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    _logger.addHandler(_handler)
    _logger.setLevel(logging.INFO)
    _logger.propagate = False


def _where() -> str:
    try:
        return f"{request.method} {request.path}"
    except RuntimeError:  # outside a request
        return "(hors requête)"


def server_error(exc: BaseException) -> None:
    """An unexpected exception answered with HTTP 500: a bug of the sandbox, with its traceback."""
    _logger.error("HTTP 500 (erreur interne) sur %s", _where(), exc_info=(type(exc), exc, exc.__traceback__))


def injected_fault(kind: str) -> None:
    """A fault injected on purpose (``kind``: error_before, error_after, import_abort, hosting_fail…)."""
    _logger.warning("HTTP 500 (panne injectée : %s) sur %s", kind, _where())
