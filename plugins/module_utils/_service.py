"""The PRONOTE service of an établissement in the ENT: pure logic, no I/O.

Values are keyed by the module's option names; see ``_kdecole.SERVICE_FIELDS``
for the labels the console shows.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from ansible_collections.ent.pronote.plugins.module_utils._errors import ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import SCREENS
from ansible_collections.ent.pronote.plugins.module_utils._pronote import base_url

#: the « Type de SSO » choices, as the console's screen shows them (_kdecole.SCREENS)
SSO_PRONOTE, SSO_STANDARD = SCREENS["service"].options["sso_type"]
SSO_TYPES = (SSO_PRONOTE, SSO_STANDARD)
DEFAULT_LABEL = "pronote"
UAI_PATTERN = re.compile(r"^[0-9]{7}[A-Z]$")
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
MANAGED_FIELDS = ("sso_type", "url", "xiti_type", "group", "show_block", "block_version",
                  "pronote_cas_url", "in_service_bar", "label", "anonymous")


def normalise_uai(uai: str) -> str:
    """Upper-case UAI, checked: 7 digits and the check letter."""
    value = (uai or "").strip().upper()
    if not UAI_PATTERN.match(value):
        raise ValueError(f"'{uai}' is not a UAI (7 digits and a letter, e.g. 0671234C)")
    expected = UAI_LETTERS[int(value[:7]) % 23]
    if value[7] != expected:
        raise ValueError(f"'{uai}' is not a valid UAI: its check letter should be {expected}")
    return value


def default_url(uai: str) -> str:
    """The PRONOTE.net address of an établissement hosted by Index Éducation (:func:`._pronote.base_url`)."""
    return base_url(uai)


def normalise_version(version: str | None) -> str | None:
    """'2024', 'pronote 2024' and 'PRONOTE 2024' all mean « PRONOTE 2024 »."""
    if version is None:
        return None
    text = " ".join(str(version).split())
    match = re.fullmatch(r"(?i)(?:pronote\s*)?(\d{4})", text)
    if not match:
        raise ValueError(f"block_version '{version}' is not a PRONOTE version such as 'PRONOTE 2024'")
    return f"PRONOTE {match.group(1)}"


def desired_fields(params: dict[str, Any], uai: str) -> dict[str, Any]:
    """The service's fields as asked; None marks a field left as it is."""
    return {
        "sso_type": params["sso_type"],
        "url": (params.get("url") or default_url(uai)).strip(),
        "xiti_type": params["xiti_type"],
        "group": params["group"],
        "show_block": params["show_block"],
        "block_version": normalise_version(params.get("block_version")),
        "pronote_cas_url": (params.get("pronote_cas_url") or "").strip(),
        "in_service_bar": params["in_service_bar"],
        "label": params["label"],
        "anonymous": params["anonymous"],
    }


def unsafe_settings(fields: dict[str, Any]) -> list[str]:
    """Settings that break sign-on (vendor guide and FAQ), as explanations."""
    problems = []
    if fields.get("sso_type") not in (None, SSO_PRONOTE):
        problems.append(f"« Type de SSO » '{fields['sso_type']}': only '{SSO_PRONOTE}' passes the idPronote "
                        "attribute, so users would not be signed in to PRONOTE")
    if fields.get("pronote_cas_url"):
        problems.append("« URL CAS de PRONOTE.net » is not empty: the vendor guide says to leave it empty")
    if fields.get("anonymous"):
        problems.append("« Service anonyme » ticked: everyone sees the tile, even signed out, and there is no SSO")
    return problems


def changes(before: dict[str, Any] | None, desired: dict[str, Any]) -> dict[str, Any]:
    """Fields whose desired value differs from ``before`` (all of them when absent)."""
    if before is None:
        return {k: v for k, v in desired.items() if v is not None}
    return {k: v for k, v in desired.items() if v is not None and before.get(k) != v}


def find_pronote_service(rows: Iterable[Any], label: str) -> tuple[Any | None, list[Any]]:
    """The établissement's PRONOTE service among the services list rows.

    A row is a candidate when it is not internal and either has the PRONOTE
    SSO type or the asked ``label`` (case-insensitive). Returns (the one
    candidate or None, all candidates): several candidates are ambiguous and
    the caller must ask for ``code``.
    """
    wanted = label.casefold()
    candidates = [r for r in rows if not r.internal and (r.sso_type == SSO_PRONOTE or r.label.casefold() == wanted)]
    return (candidates[0] if len(candidates) == 1 else None), candidates


def pick_service(rows: Iterable[Any], uai: str, *, code: str | None, label: str, purpose: str) -> Any | None:
    """The établissement's PRONOTE service row: the one of ``code`` if given, else the one candidate of
    :func:`find_pronote_service`; None when there is none. Several candidates are refused: the caller must
    be told which one ``purpose`` means (``code``)."""
    if code:
        return next((r for r in rows if r.code == code), None)
    row, candidates = find_pronote_service(rows, label)
    if len(candidates) > 1:
        codes = ", ".join(r.code for r in candidates)
        raise ValidationError(f"Several services of {uai} look like PRONOTE ({codes}): say which one to {purpose} "
                              "with the option code.")
    return row
