"""UAI (ex-RNE) identifiers of French établissements.

A UAI is 7 digits followed by a check letter. The letter is taken from the
alphabet ``ABCDEFGHJKLMNPRSTUVWXYZ`` (23 letters: no I, O, Q) at the index
``int(digits) % 23``. Example: 671234 % 23 = 2, so ``0671234`` -> ``0671234C``.
"""

from __future__ import annotations

import re

CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_UAI_RE = re.compile(r"^[0-9]{7}[A-Z]$")


def check_letter(digits: str) -> str:
    """Return the check letter of the 7 digits ``digits``."""
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"a UAI starts with 7 digits, got {digits!r}")
    return CHECK_LETTERS[int(digits) % 23]


def make_uai(digits: str) -> str:
    """Return the full UAI (digits + check letter) for ``digits``."""
    return digits + check_letter(digits)


def is_valid_uai(value: str) -> bool:
    """Tell whether ``value`` is a well-formed upper-case UAI with the right letter."""
    if not isinstance(value, str) or not _UAI_RE.match(value):
        return False
    return check_letter(value[:7]) == value[7]


def normalize_uai(value: str) -> str:
    """Strip and upper-case ``value``; raise ValueError when it is not a valid UAI."""
    candidate = (value or "").strip().upper()
    if not _UAI_RE.match(candidate):
        raise ValueError(f"« {value} » n'a pas la forme d'un UAI (7 chiffres et une lettre)")
    expected = check_letter(candidate[:7])
    if candidate[7] != expected:
        raise ValueError(f"« {value} » : la lettre de contrôle devrait être {expected}")
    return candidate
