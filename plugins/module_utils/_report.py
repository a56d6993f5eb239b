"""The end-of-run report: one HTML page, one JSON document and two CSV files per run.

At the end of ``rentree.yml`` and ``diagnose.yml``, ``run_summary`` builds one
*record* per établissement from the host variables and hands them to
:func:`build`; :func:`write` writes the four files. Everything here is pure
but :func:`write` and :func:`write_detail` (through :mod:`._files`).
``docs/report.md`` documents the files for the ops teams (schema, columns,
jmespath queries).

A record, as :func:`build` takes it (keys other than these are refused)::

    {"uai": "0671632K",                       # required, unique
     "name": "Collège Jean Moulin",           # or "" / absent
     "project": "Mon Bureau Numérique",       # or "?" / absent
     "status": "failed",                      # failed | changed | ok | not_run
     "steps": {"service": "failed", ...},     # any of STEPS -> failed | changed | ok | skipped | not_run
     "failure": {"step": "task name", "msg": "text"} or None,
     "identifiers": {outcome: n, ...} or None,  # outcomes of IDENTIFIER_OUTCOMES
     "sign_on": {"ok": n, "failed": n} or None,
     "not_done": ["French reason", ...], "missing_files": ["path", ...],
     "findings": [{"code", "severity", "uai", "step", "message", "fix", "count", "subject"}, ...]}

Findings are kept by whitelist: a key not listed above is dropped, so that
nothing but counts ever reaches the report files. The report files hold
counts and établissement names only (mode 0644); the people behind the counts
go, only when a user asks, to a per-établissement file of mode 0600
(:func:`write_detail`).

The page is one self-contained HTML5 document: inline CSS and JavaScript, a
Content-Security-Policy that allows nothing else (no request of any kind),
usable opened from disk. It is built with lxml, which escapes every text and
attribute.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._requirements import lxml

from ansible_collections.ent.pronote.plugins.module_utils._files import (
    csv_text,
    make_dir,
    write_atomic,
    write_private_csv,
)
from ansible_collections.ent.pronote.plugins.module_utils._matching import OUTCOMES as IDENTIFIER_OUTCOMES

#: id of the JSON document's schema; bumped only on a breaking change (fields are only added within one)
SCHEMA = "ent.pronote/rapport/1"
#: kind -> title of the page
KINDS = {"rentree": "Rapport de rentrée PRONOTE", "diagnostic": "Diagnostic PRONOTE",
         "preflight": "Vérification préalable des écrans"}
#: statuses of an établissement, in display order
STATUSES = ("failed", "changed", "ok", "not_run")
#: statuses of a step, in display order
STEP_STATUSES = ("failed", "changed", "ok", "skipped", "not_run")
#: step -> column title, in display order
STEPS = {"delegation": "Délégation PRONOTE.net", "service": "Service ENT", "identifiers": "Identifiants",
         "sso": "Connexion", "diagnose": "Diagnostic", "preflight": "Écrans"}
#: most serious first (as ``_diagnose.SEVERITIES``)
SEVERITIES = ("erreur", "avertissement", "info")
SIGN_ON = ("ok", "failed")

RECORD_KEYS = ("uai", "name", "project", "status", "steps", "failure", "identifiers", "sign_on", "not_done",
               "missing_files", "findings")
FINDING_KEYS = ("code", "severity", "uai", "step", "subject", "message", "fix", "count")
_CODE = re.compile(r"[a-z][a-z0-9_]*")
#: what a file name made of a UAI may be: no separator, no leading dot
_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# --- French labels ----------------------------------------------------------------------------------------
#: status -> (singular, plural); "ok" reads "OK" in a diagnostic (nothing is ever changed there)
STATUS_LABELS = {"failed": ("En échec", "En échec"), "changed": ("Modifié", "Modifiés"),
                 "ok": ("Inchangé", "Inchangés"), "skipped": ("Ignoré", "Ignorés"),
                 "not_run": ("Non traité", "Non traités")}
STATUS_ICONS = {"failed": "✖", "changed": "●", "ok": "✔", "skipped": "–", "not_run": "○", "erreur": "✖"}
SEVERITY_LABELS = {"erreur": ("Erreur", "Erreurs"), "avertissement": ("Avertissement", "Avertissements"),
                   "info": ("Info", "Infos")}
SEVERITY_ICONS = {"erreur": "✖", "avertissement": "▲", "info": "ℹ\ufe0e"}
#: identifiers outcome -> (singular, plural), of PRONOTE accounts
IDENTIFIER_LABELS = {
    "ent": ("reconnu par l'ENT", "reconnus par l'ENT"),
    "assisted": ("rapproché par l'assistant", "rapprochés par l'assistant"),
    "kept": ("déjà lié", "déjà liés"), "manual": ("rapproché à la main", "rapprochés à la main"),
    "unmatched": ("sans compte ENT", "sans compte ENT"), "ambiguous": ("ambigu", "ambigus"),
    "skipped": ("écarté (sorti, doublon)", "écartés (sortis, doublons)"),
}
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def status_label(status: str, kind: str, *, plural: bool = False) -> str:
    """The French label of a status of an établissement or of a step."""
    if status == "ok" and kind in ("diagnostic", "preflight"):
        return "OK"
    if status == FLAGGED:
        return "Erreurs" if plural else "Erreur"
    return STATUS_LABELS[status][1 if plural else 0]


#: what a diagnosed établissement (or its Diagnostic step) whose findings hold an « Erreur » shows, where its run
#: status is "ok": never « ✔ OK » (the JSON keeps the run's status and gives the worst severity)
FLAGGED = "erreur"


def shown_status(record: Mapping[str, Any], status: str | None, kind: str) -> str | None:
    """The status the HTML and the CSV show for an établissement or one of its steps (see :data:`FLAGGED`)."""
    if kind == "diagnostic" and record.get("worst_severity") == "erreur" and status in ("ok", "changed"):
        return FLAGGED
    return status


# --- build: records -> the report's data ------------------------------------------------------------------

def _collate(text: str) -> tuple[str, str]:
    """Sort key: alphabetical, accents and case ignored (then exact, for a total order)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.casefold(), text


_SURROGATES = re.compile("[\ud800-\udfff]")


def _string(value: Any, uai: str, what: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"record {uai}: {what} must be text, not {type(value).__name__}")
    return _SURROGATES.sub("\ufffd", value)  # the files are UTF-8


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict)) else str(value)


def _count(value: Any, uai: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"record {uai}: {what} must be a count (integer >= 0), not {value!r}")
    return value


def _counts(value: Any, keys: Sequence[str], uai: str, what: str) -> dict[str, int] | None:
    """``{key: n}`` with every key (0 when absent), or None."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValueError(f"record {uai}: {what} must be a mapping or null, not {type(value).__name__}")
    unknown = sorted(str(k) for k in value if k not in keys)
    if unknown:
        raise ValueError(f"record {uai}: {what} has unknown key(s) {', '.join(unknown)} (expected {', '.join(keys)})")
    return {k: _count(value.get(k, 0), uai, f"{what}.{k}") for k in keys}


def _texts(value: Any, uai: str, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValueError(f"record {uai}: {what} must be a list of texts, not {type(value).__name__}")
    return [_string(v, uai, what) for v in value]


def _finding(raw: Any, uai: str, index: int) -> dict[str, Any]:
    where = f"finding #{index}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"record {uai}: {where} must be a mapping, not {type(raw).__name__}")
    code = raw.get("code")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise ValueError(f"record {uai}: {where} has no valid code ({code!r}; lower case, digits and _)")
    where = f"finding #{index} ({code})"
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        raise ValueError(f"record {uai}: {where}: unknown severity {severity!r} "
                         f"(expected {', '.join(SEVERITIES)})")
    if raw.get("uai") not in (None, uai):
        raise ValueError(f"record {uai}: {where} belongs to UAI {raw['uai']!r}")
    step = raw.get("step")
    if step is not None and step not in STEPS:
        raise ValueError(f"record {uai}: {where}: unknown step {step!r} (expected {', '.join(STEPS)})")
    count = raw.get("count")
    # Whitelisted keys only: anything else a finding may carry stays out of the report.
    return {"code": code, "severity": severity, "uai": uai, "step": step,
            "subject": _string(raw.get("subject"), uai, f"{where}: subject"),
            "message": _string(raw.get("message"), uai, f"{where}: message"),
            "fix": _string(raw.get("fix"), uai, f"{where}: fix"),
            "count": None if count is None else _count(count, uai, f"{where}: count")}


def _finding_key(finding: Mapping[str, Any]) -> tuple:
    return (SEVERITIES.index(finding["severity"]), finding["uai"], finding["code"], finding["subject"])


def _record(raw: Any, index: int) -> dict[str, Any]:
    """One record, checked and with every key."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"record #{index}: must be a mapping, not {type(raw).__name__}")
    uai = raw.get("uai")
    if not isinstance(uai, str) or not uai.strip():
        raise ValueError(f"record #{index} (name {raw.get('name')!r}): no uai")
    uai = uai.strip()
    unknown = sorted(str(k) for k in raw if k not in RECORD_KEYS)
    if unknown:
        raise ValueError(f"record {uai}: unknown key(s) {', '.join(unknown)} (expected {', '.join(RECORD_KEYS)})")
    status = raw.get("status")
    if status not in STATUSES:
        raise ValueError(f"record {uai}: status {status!r} is not one of {', '.join(STATUSES)}")
    steps = raw.get("steps") or {}
    if not isinstance(steps, Mapping):
        raise ValueError(f"record {uai}: steps must be a mapping, not {type(steps).__name__}")
    for step, state in steps.items():
        if step not in STEPS:
            raise ValueError(f"record {uai}: unknown step {step!r} (expected {', '.join(STEPS)})")
        if state not in STEP_STATUSES:
            raise ValueError(f"record {uai}: step {step}: status {state!r} is not one of {', '.join(STEP_STATUSES)}")
    failure = raw.get("failure") or None
    if failure is not None:
        if not isinstance(failure, Mapping):
            raise ValueError(f"record {uai}: failure must be a mapping or null, not {type(failure).__name__}")
        # What Ansible reported: text as a rule, but never worth losing the report over.
        failure = {"step": _string(_as_text(failure.get("step")), uai, "failure.step") or "?",
                   "msg": _string(_as_text(failure.get("msg")), uai, "failure.msg")}
    findings = raw.get("findings")
    if findings is None:
        findings = []
    elif isinstance(findings, (str, bytes, Mapping)) or not isinstance(findings, Iterable):
        raise ValueError(f"record {uai}: findings must be a list, not {type(findings).__name__}")
    findings = sorted((_finding(f, uai, i) for i, f in enumerate(findings, 1)), key=_finding_key)
    return {
        "uai": uai,
        "name": _string(raw.get("name"), uai, "name"),
        "project": _string(raw.get("project"), uai, "project") or "?",
        "status": status,
        "steps": {step: steps[step] for step in STEPS if step in steps},
        "failure": failure,
        "identifiers": _counts(raw.get("identifiers"), IDENTIFIER_OUTCOMES, uai, "identifiers"),
        "sign_on": _counts(raw.get("sign_on"), SIGN_ON, uai, "sign_on"),
        "not_done": _texts(raw.get("not_done"), uai, "not_done"),
        "missing_files": _texts(raw.get("missing_files"), uai, "missing_files"),
        "findings": findings,
        "findings_count": len(findings),
        "worst_severity": findings[0]["severity"] if findings else None,
    }


def build(records: Iterable[Mapping[str, Any]], *, kind: str, generated_at: datetime) -> dict[str, Any]:
    """The report's data (the JSON document, ``docs/report.md``) from one record per établissement.

    ``generated_at`` without a time zone is taken as local time. Raises ValueError, naming the UAI, on a
    record or finding that does not follow the format (module docstring).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(generated_at, datetime):
        raise ValueError(f"generated_at must be a datetime, not {type(generated_at).__name__}")
    if generated_at.utcoffset() is None:
        generated_at = generated_at.astimezone()
    etabs: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(records, 1):
        record = _record(raw, index)
        if record["uai"] in seen:
            raise ValueError(f"record {record['uai']}: the UAI is given twice")
        seen.add(record["uai"])
        etabs.append(record)
    etabs.sort(key=lambda r: (_collate(r["project"]), r["uai"]))

    by_status = dict.fromkeys(STATUSES, 0)
    by_project: dict[str, dict[str, int]] = {}
    steps = [step for step in STEPS if any(step in r["steps"] for r in etabs)]
    by_step = {step: dict.fromkeys(STEP_STATUSES, 0) for step in steps}
    sign_on = dict.fromkeys(SIGN_ON, 0)
    identifiers = dict.fromkeys(IDENTIFIER_OUTCOMES, 0)
    by_code: dict[str, int] = {}
    findings: list[dict[str, Any]] = []
    for r in etabs:
        by_status[r["status"]] += 1
        by_project.setdefault(r["project"], dict.fromkeys(STATUSES, 0))[r["status"]] += 1
        for step, state in r["steps"].items():
            by_step[step][state] += 1
        for key, n in (r["sign_on"] or {}).items():
            sign_on[key] += n
        for key, n in (r["identifiers"] or {}).items():
            identifiers[key] += n
        for code in {f["code"] for f in r["findings"]}:
            by_code[code] = by_code.get(code, 0) + 1
        findings += [{"uai": r["uai"], "project": r["project"], "name": r["name"], "severity": f["severity"],
                      "code": f["code"], "step": f["step"], "subject": f["subject"], "message": f["message"],
                      "fix": f["fix"], "count": f["count"]} for f in r["findings"]]
    findings.sort(key=_finding_key)  # stable: the order of a record's own findings is kept on a tie
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        by_severity[f["severity"]] += 1
    return {
        "schema": SCHEMA,
        "kind": kind,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "summary": {
            "total": len(etabs),
            "by_status": by_status,
            "by_project": {p: by_project[p] for p in sorted(by_project, key=_collate)},
            "by_step": by_step,
            "findings": {"total": len(findings), "by_severity": by_severity,
                         "by_code": {code: by_code[code] for code in sorted(by_code)}},
            "etablissements_with_findings": sum(1 for r in etabs if r["findings"]),
            "sign_on": sign_on,
            "identifiers": identifiers,
        },
        "etablissements": etabs,
        "findings": findings,
    }


def to_json(data: Mapping[str, Any]) -> str:
    """The JSON document: UTF-8 text (not ASCII-escaped), indented by 2, keys in :func:`build`'s order."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --- CSV --------------------------------------------------------------------------------------------------

def _steps_of(data: Mapping[str, Any]) -> list[str]:
    """The steps the report has columns for, in display order."""
    present = data["summary"].get("by_step") or {}
    return [step for step in STEPS if step in present]


_csv = csv_text  # the one CSV writer (_files): every cell a spreadsheet would run is neutralised


def etablissement_columns(data: Mapping[str, Any]) -> list[str]:
    """Header of ``<basename>-etablissements.csv``."""
    return ["uai", "nom", "projet", "statut", "libelle_statut", *(f"etape_{s}" for s in _steps_of(data)),
            "nb_constats", "gravite_max", "codes", "connexions_ok", "connexions_echec",
            *(f"identifiants_{o}" for o in IDENTIFIER_OUTCOMES), "echec_etape", "echec_message", "non_fait",
            "fichiers_absents"]


FINDING_COLUMNS = ["uai", "nom", "projet", "severite", "code", "etape", "sujet", "message", "correctif", "nombre"]


def to_csv_etablissements(data: Mapping[str, Any]) -> str:
    """One row per établissement (columns: :func:`etablissement_columns`, ``docs/report.md``)."""
    steps = _steps_of(data)
    rows = []
    for r in data["etablissements"]:
        sign_on, ids, failure = r["sign_on"] or {}, r["identifiers"] or {}, r["failure"] or {}
        rows.append([
            r["uai"], r["name"], r["project"], r["status"],
            status_label(shown_status(r, r["status"], data["kind"]), data["kind"]),
            *(r["steps"].get(s, "") for s in steps),
            r["findings_count"], r["worst_severity"], "|".join(dict.fromkeys(f["code"] for f in r["findings"])),
            sign_on.get("ok"), sign_on.get("failed"), *(ids.get(o) for o in IDENTIFIER_OUTCOMES),
            failure.get("step"), failure.get("msg"), " | ".join(r["not_done"]), " | ".join(r["missing_files"]),
        ])
    return _csv(etablissement_columns(data), rows)


def to_csv_findings(data: Mapping[str, Any]) -> str:
    """One row per finding (columns: :data:`FINDING_COLUMNS`, ``docs/report.md``)."""
    return _csv(FINDING_COLUMNS, ([f["uai"], f["name"], f["project"], f["severity"], f["code"], f["step"],
                                   f["subject"], f["message"], f["fix"], f["count"]] for f in data["findings"]))


# --- HTML -------------------------------------------------------------------------------------------------

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text lxml accepts (no control character)."""
    return _NOT_XML.sub("\ufffd", text)


def _h(tag: str, attrs: Mapping[str, Any] | None = None, *children: Any) -> lxml.html.HtmlElement:
    """An element; lxml escapes its text and attributes. None children and attributes are left out."""
    element = lxml.html.Element(tag)
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        element.set(key, "" if value is True else _xml(str(value)))
    _append(element, children)
    return element


def _append(element: lxml.html.HtmlElement, child: Any) -> None:
    if child is None:
        return
    if isinstance(child, (list, tuple)):
        for c in child:
            _append(element, c)
    elif isinstance(child, (str, int)):
        text = _xml(str(child))
        if len(element):
            element[-1].tail = (element[-1].tail or "") + text
        else:
            element.text = (element.text or "") + text
    else:
        element.append(child)


def _n(value: int) -> str:
    """A number the French way: 1 204 (narrow no-break space)."""
    return f"{value:,}".replace(",", "\u202f")


def _plural(n: int, singular: str, plural: str) -> str:
    return f"{_n(n)} {singular if n <= 1 else plural}"


def _date_fr(iso: str) -> str:
    """« 1er septembre 2025 à 18:30 (UTC+2) »."""
    when = datetime.fromisoformat(iso)
    day = "1er" if when.day == 1 else str(when.day)
    text = f"{day} {MONTHS[when.month - 1]} {when.year} à {when:%H:%M}"
    offset = when.utcoffset()
    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign, minutes = ("+" if minutes >= 0 else "−"), abs(minutes)
        hours = f"{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
        text += f" (UTC{sign}{hours})" if minutes else " (UTC)"
    return text


def _badge(status: str, kind: str) -> lxml.html.HtmlElement:
    return _h("span", {"class": f"badge st-{status}"}, _h("span", {"aria-hidden": "true"}, STATUS_ICONS[status]),
              " ", _h("span", {"class": "libelle"}, status_label(status, kind)))


def _severity_badge(severity: str) -> lxml.html.HtmlElement:
    return _h("span", {"class": f"badge sev-{severity}"},
              _h("span", {"aria-hidden": "true"}, SEVERITY_ICONS[severity]),
              " ", _h("span", {"class": "libelle"}, SEVERITY_LABELS[severity][0]))


def _none() -> lxml.html.HtmlElement:
    return _h("span", {"class": "vide", "title": "sans objet"}, "—")


def _th(title: str, column: str, sort: str | None = "texte", *, numeric: bool = False) -> lxml.html.HtmlElement:
    """A column header; a button sorts by the column when ``sort`` (texte, num, statut, severite)."""
    attrs = {"scope": "col", "data-colonne": column, "data-tri": sort, "class": "num" if numeric else None}
    if sort is None:
        return _h("th", attrs, title)
    return _h("th", attrs, _h("button", {"type": "button", "class": "tri", "title": f"Trier par « {title} »"},
                              title))


def _num_td(value: int | None, *, alert: bool = False, title: str | None = None) -> lxml.html.HtmlElement:
    if value is None:
        return _h("td", {"class": "num", "data-value": ""}, _none())
    cls = "num" + (" alerte" if alert and value else "") + (" zero" if not value else "")
    return _h("td", {"class": cls, "data-value": value, "title": title}, _n(value))


def _select(field: str, label: str, all_label: str, options: Iterable[tuple[str, str]], ident: str):
    return _h("label", {"class": "champ", "for": ident}, _h("span", None, label),
              _h("select", {"id": ident, "data-champ": field},
                 _h("option", {"value": ""}, all_label),
                 [_h("option", {"value": value}, text) for value, text in options]))


def _filters(table: str, search_hint: str, selects: list, total: int):
    return _h("div", {"class": "filtres", "data-filtres": table, "hidden": True, "role": "search",
                      "aria-controls": table},
              _h("label", {"class": "champ recherche", "for": f"{table}-texte"}, _h("span", None, "Rechercher"),
                 _h("input", {"type": "search", "id": f"{table}-texte", "data-champ": "texte",
                              "placeholder": search_hint, "autocomplete": "off"})),
              selects,
              _h("button", {"type": "button", "class": "reinitialiser", "data-reinitialiser": True},
                 "Réinitialiser"),
              _h("p", {"class": "affiches", "aria-live": "polite"}, "Affichés : ",
                 _h("strong", {"data-affiches": True}, _n(total)), f" sur {_n(total)}"))


def _summary_section(data: Mapping[str, Any]) -> lxml.html.HtmlElement:
    kind, summary = data["kind"], data["summary"]
    cards = [_h("div", {"class": "carte carte-total"},
                _h("span", {"class": "nombre", "data-compte": "total"}, _n(summary["total"])),
                _h("span", {"class": "libelle"}, "établissement" if summary["total"] <= 1 else "établissements"))]
    for status in STATUSES:
        n = summary["by_status"][status]
        cards.append(_h("div", {"class": f"carte st-{status}" + ("" if n else " zero")},
                        _h("span", {"class": "nombre", "data-compte": status}, _n(n)),
                        _h("span", {"class": "libelle"}, _h("span", {"aria-hidden": "true"}, STATUS_ICONS[status]),
                           " ", status_label(status, kind, plural=n > 1))))
    found = summary["findings"]
    finding_cards = []
    for severity in SEVERITIES:
        n = found["by_severity"][severity]
        finding_cards.append(_h("div", {"class": f"carte sev-{severity}" + ("" if n else " zero")},
                                _h("span", {"class": "nombre", "data-constats": severity}, _n(n)),
                                _h("span", {"class": "libelle"},
                                   _h("span", {"aria-hidden": "true"}, SEVERITY_ICONS[severity]), " ",
                                   SEVERITY_LABELS[severity][1 if n > 1 else 0])))
    concerned = summary["etablissements_with_findings"]
    finding_cards.append(_h("div", {"class": "carte carte-total" + ("" if concerned else " zero")},
                            _h("span", {"class": "nombre", "data-constats": "etablissements"}, _n(concerned)),
                            _h("span", {"class": "libelle"},
                               "établissement concerné" if concerned <= 1 else "établissements concernés")))
    facts = []
    sign_on = summary["sign_on"]
    if sum(sign_on.values()):
        facts.append(_h("p", {"class": "fait"}, _h("span", {"class": "intitule"}, "Connexions PRONOTE testées : "),
                        _h("strong", {"data-connexions": "ok"}, _n(sign_on["ok"])),
                        " réussie" if sign_on["ok"] <= 1 else " réussies", ", ",
                        _h("strong", {"data-connexions": "failed", "class": "alerte" if sign_on["failed"] else None},
                           _n(sign_on["failed"])), " en échec."))
    ids = summary["identifiers"]
    if sum(ids.values()):
        parts: list[Any] = []
        for outcome in IDENTIFIER_OUTCOMES:
            parts += [" · " if parts else "", _h("strong", {"data-identifiants": outcome}, _n(ids[outcome])),
                      f" {IDENTIFIER_LABELS[outcome][ids[outcome] > 1]}"]
        facts.append(_h("p", {"class": "fait"}, _h("span", {"class": "intitule"}, "Identifiants PRONOTE : "),
                        parts, "."))
    return _h("section", {"id": "synthese", "aria-labelledby": "titre-synthese"},
              _h("h2", {"id": "titre-synthese"}, "Synthèse"),
              _h("div", {"class": "groupes"},
                 _h("div", {"class": "groupe"}, _h("h3", None, "Établissements"),
                    _h("div", {"class": "cartes"}, cards)),
                 _h("div", {"class": "groupe"}, _h("h3", None, "Constats"),
                    _h("div", {"class": "cartes"}, finding_cards))),
              facts)


def _projects_section(data: Mapping[str, Any]) -> lxml.html.HtmlElement:
    kind, summary = data["kind"], data["summary"]
    head = _h("tr", None, _th("Projet ENT", "projet"),
              [_th(status_label(s, kind, plural=True), f"statut-{s}", "num", numeric=True) for s in STATUSES],
              _th("Total", "total", "num", numeric=True))
    rows = []
    for project, counts in summary["by_project"].items():
        rows.append(_h("tr", {"data-projet": project},
                       _h("th", {"scope": "row", "data-value": project}, project),
                       [_h("td", {"class": "num" + (" alerte" if s == "failed" and counts[s] else "")
                                  + ("" if counts[s] else " zero"),
                                  "data-statut": s, "data-value": counts[s]}, _n(counts[s])) for s in STATUSES],
                       _h("td", {"class": "num total", "data-statut": "total", "data-value": sum(counts.values())},
                          _n(sum(counts.values())))))
    totals = summary["by_status"]
    foot = _h("tr", {"class": "total"}, _h("th", {"scope": "row"}, "Total"),
              [_h("td", {"class": "num", "data-statut": s, "data-value": totals[s]}, _n(totals[s]))
               for s in STATUSES],
              _h("td", {"class": "num", "data-statut": "total", "data-value": summary["total"]}, _n(summary["total"])))
    return _h("section", {"id": "par-projet", "aria-labelledby": "titre-projets"},
              _h("h2", {"id": "titre-projets"}, "Par projet ENT"),
              _h("div", {"class": "defile"},
                 _h("table", {"id": "projets", "class": "triable"},
                    _h("thead", None, head), _h("tbody", None, rows), _h("tfoot", None, foot))))


def _todo_section(data: Mapping[str, Any]) -> lxml.html.HtmlElement | None:
    """Failures, then what was not done and the missing files: what the team has to take up."""
    kind = data["kind"]
    items: list[lxml.html.HtmlElement] = []

    def who(r: Mapping[str, Any]) -> list[Any]:
        return [_h("strong", {"class": "uai"}, r["uai"]), " ", r["name"] or None,
                _h("span", {"class": "projet"}, f" · {r['project']}")]

    etabs = data["etablissements"]
    for r in etabs:
        if r["status"] != "failed":
            continue
        if r["failure"]:
            what = [" — étape « ", _h("strong", None, r["failure"]["step"]), " » : ", r["failure"]["msg"]]
        else:
            failed = [STEPS[s] for s, state in r["steps"].items() if state == "failed"]
            what = [f" — en échec : {', '.join(failed)}" if failed else None]
        items.append(_h("li", {"class": "echec", "data-uai": r["uai"]}, _badge("failed", kind), " ", who(r), what))
    for r in etabs:
        for reason in r["not_done"]:
            items.append(_h("li", {"class": "non-fait", "data-uai": r["uai"]},
                            _h("span", {"class": "badge st-not_run"}, _h("span", {"aria-hidden": "true"}, "○"),
                               " Non fait"), " ", who(r), f" — {reason}"))
        for path in r["missing_files"]:
            items.append(_h("li", {"class": "non-fait", "data-uai": r["uai"]},
                            _h("span", {"class": "badge st-not_run"}, _h("span", {"aria-hidden": "true"}, "○"),
                               " Fichier absent"), " ", who(r), " — fichier d'identifiants absent : ",
                            _h("code", None, path)))
    if not items:
        return None
    return _h("section", {"id": "a-reprendre", "aria-labelledby": "titre-a-reprendre"},
              _h("h2", {"id": "titre-a-reprendre"}, "À reprendre"), _h("ul", {"class": "a-reprendre"}, items))


def _etablissements_section(data: Mapping[str, Any]) -> lxml.html.HtmlElement:
    kind, summary, etabs = data["kind"], data["summary"], data["etablissements"]
    steps = _steps_of(data)
    head = _h("tr", None, _th("UAI", "uai"), _th("Établissement", "nom"), _th("Projet ENT", "projet"),
              _th("Statut", "statut", "statut"),
              [_th(STEPS[s], f"etape-{s}", "statut") for s in steps],
              _th("Constats", "constats", "num", numeric=True),
              _th("Connexions réussies", "connexions-ok", "num", numeric=True),
              _th("Connexions en échec", "connexions-echec", "num", numeric=True))
    rows = []
    for r in etabs:
        sign_on = r["sign_on"] or {}
        step_cells = []
        for s in steps:
            state = r["steps"].get(s)
            shown = shown_status(r, state, kind) if s == "diagnose" else state
            step_cells.append(_h("td", {"data-value": state or "", "data-etape": s},
                                 _badge(shown, kind) if shown else _none()))
        worst = r["worst_severity"]
        rows.append(_h("tr", {"data-uai": r["uai"], "data-statut": r["status"], "data-projet": r["project"],
                              "class": f"st-{r['status']}"},
                       _h("td", {"class": "uai", "data-value": r["uai"]}, r["uai"]),
                       _h("td", {"class": "nom", "data-value": r["name"]}, r["name"] or _none()),
                       _h("td", {"class": "projet", "data-value": r["project"]}, r["project"]),
                       _h("td", {"data-value": r["status"]}, _badge(shown_status(r, r["status"], kind), kind)),
                       step_cells,
                       _h("td", {"class": "num" + (f" pire-{worst}" if worst else " zero"),
                                 "data-value": r["findings_count"],
                                 "title": f"Sévérité la plus haute : {SEVERITY_LABELS[worst][0].lower()}"
                                 if worst else None}, _n(r["findings_count"])),
                       _num_td(sign_on.get("ok")),
                       _num_td(sign_on.get("failed"), alert=True)))
    projects = summary["by_project"]
    selects = [
        _select("statut", "Statut", "Tous les statuts",
                [(s, f"{status_label(s, kind)} ({_n(summary['by_status'][s])})") for s in STATUSES],
                "etablissements-statut"),
        _select("projet", "Projet ENT", "Tous les projets",
                [(p, f"{p} ({_n(sum(c.values()))})") for p, c in projects.items()], "etablissements-projet"),
    ]
    return _h("section", {"id": "liste-etablissements", "aria-labelledby": "titre-etablissements"},
              _h("h2", {"id": "titre-etablissements"}, "Établissements"),
              _filters("etablissements", "UAI, nom, projet…", selects, len(etabs)),
              _h("div", {"class": "defile"},
                 _h("table", {"id": "etablissements", "class": "triable"},
                    _h("caption", {"class": "aide"}, "Cliquer sur un titre de colonne pour trier."),
                    _h("thead", None, head), _h("tbody", None, rows))),
              _h("p", {"class": "aucun", "id": "etablissements-aucun", "hidden": True},
                 "Aucun établissement ne correspond aux filtres."))


def _findings_section(data: Mapping[str, Any]) -> lxml.html.HtmlElement:
    findings, summary = data["findings"], data["summary"]
    statuses = {r["uai"]: r["status"] for r in data["etablissements"]}
    head = _h("tr", None, _th("Établissement", "etablissement"), _th("Sévérité", "severite", "severite"),
              _th("Code", "code"), _th("Étape", "etape"), _th("Message", "message", None),
              _th("Correctif", "correctif", None), _th("Nombre", "nombre", "num", numeric=True))
    rows = []
    for f in findings:
        rows.append(_h("tr", {"data-uai": f["uai"], "data-statut": statuses.get(f["uai"]), "data-projet": f["project"],
                              "data-severite": f["severity"], "data-code": f["code"], "data-etape": f["step"] or "",
                              "class": f"sev-{f['severity']}"},
                       _h("td", {"data-value": f["uai"], "class": "etablissement"},
                          _h("span", {"class": "uai"}, f["uai"]),
                          _h("span", {"class": "nom"}, f["name"]) if f["name"] else None),
                       _h("td", {"data-value": f["severity"]}, _severity_badge(f["severity"])),
                       _h("td", {"data-value": f["code"], "class": "code"}, _h("code", None, f["code"]),
                          _h("span", {"class": "sujet"}, f["subject"]) if f["subject"] else None),
                       _h("td", {"data-value": f["step"] or ""}, STEPS[f["step"]] if f["step"] else _none()),
                       _h("td", {"class": "message"}, f["message"]),
                       _h("td", {"class": "correctif"}, f["fix"]),
                       _num_td(f["count"])))
    by_code = summary["findings"]["by_code"]
    selects = [
        _select("severite", "Sévérité", "Toutes les sévérités",
                [(s, f"{SEVERITY_LABELS[s][0]} ({_n(summary['findings']['by_severity'][s])})")
                 for s in SEVERITIES], "constats-severite"),
        _select("code", "Code", "Tous les codes", [(c, c) for c in by_code], "constats-code"),
        _select("projet", "Projet ENT", "Tous les projets", [(p, p) for p in summary["by_project"]],
                "constats-projet"),
    ]
    table = _h("div", {"class": "defile", "hidden": not findings},
               _h("table", {"id": "constats", "class": "triable"},
                  _h("thead", None, head), _h("tbody", None, rows)))
    return _h("section", {"id": "liste-constats", "aria-labelledby": "titre-constats"},
              _h("h2", {"id": "titre-constats"}, "Constats"),
              _filters("constats", "UAI, nom, code, texte…", selects, len(findings))
              if findings else _h("p", {"class": "rien"}, "Aucun constat : rien à signaler."),
              table,
              _h("p", {"class": "aucun", "id": "constats-aucun", "hidden": True},
                 "Aucun constat ne correspond aux filtres."))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _coverage(data: Mapping[str, Any]) -> str | None:
    """« · tranche 2 sur 4 », « · exécution partielle », « · fusion de 4 exécutions » (``runs``), or None."""
    runs = data.get("runs") or []
    if len(runs) > 1:
        return f" · fusion de {len(runs)} exécutions"
    scope = (runs[0].get("scope") or {}) if runs else {}
    if scope.get("slice"):
        return f" · tranche {scope['slice']['number']} sur {scope['slice']['count']}, pas la région entière"
    if scope.get("partial"):
        return " · exécution partielle, pas la région entière"
    return None


def to_html(data: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML5 page (French, inline CSS and JavaScript, nothing fetched)."""
    kind, summary = data["kind"], data["summary"]
    title = KINDS[kind]
    date = _date_fr(data["generated_at"])
    # Nothing but the inline style and script below may run or load: no request of any kind.
    csp = (f"default-src 'none'; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
           "base-uri 'none'; form-action 'none'")
    n_projects = len(summary["by_project"])
    head = _h("head", None,
              _h("meta", {"charset": "utf-8"}),
              _h("meta", {"http-equiv": "Content-Security-Policy", "content": csp}),
              _h("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
              _h("meta", {"name": "generator", "content": f"ent.pronote ({data['schema']})"}),
              _h("title", None, f"{title} — {date}"),
              _h("style", None, _CSS))
    body = _h("body", None,
              _h("header", {"class": "entete"},
                 _h("div", {"class": "page"},
                    _h("h1", None, title),
                    _h("p", {"class": "sous-titre"}, "Généré le ",
                       _h("time", {"datetime": data["generated_at"]}, date), " · ",
                       _plural(summary["total"], "établissement", "établissements"), " · ",
                       _plural(n_projects, "projet ENT", "projets ENT"), _coverage(data)))),
              _h("main", {"class": "page"},
                 _summary_section(data),
                 _h("div", {"class": "deux-colonnes"}, _projects_section(data), _todo_section(data)),
                 _etablissements_section(data),
                 _findings_section(data)),
              _h("footer", {"class": "page pied"},
                 _h("p", None, "Ce rapport ne contient que des comptes et des noms d'établissements, jamais de noms "
                               "de personnes. Les mêmes données sont à côté de cette page : un fichier JSON (schéma ",
                    _h("code", None, data["schema"]), ") et deux fichiers CSV, établissements et constats.")),
              _h("script", None, _JS))
    page = _h("html", {"lang": "fr"}, head, body)
    return lxml.html.tostring(page, doctype="<!DOCTYPE html>", encoding="unicode", method="html") + "\n"


_CSS = """
:root {
  --texte: #1f2933; --discret: #52606d; --bord: #d3dce6; --fond: #f4f6f9; --carte: #fff; --bandeau: #1c3d5a;
  --rouge: #b42318; --rouge-fond: #fef3f2; --rouge-bord: #f4a09a;
  --bleu: #1849a9; --bleu-fond: #eff4ff; --bleu-bord: #a4bcfd;
  --vert: #067647; --vert-fond: #ecfdf3; --vert-bord: #96dbb5;
  --gris: #475467; --gris-fond: #f2f4f7; --gris-bord: #cfd4dc;
  --ambre: #93370d; --ambre-fond: #fffaeb; --ambre-bord: #f7c46c;
  --info: #065986; --info-fond: #f0f9ff; --info-bord: #8fd0f5;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html { font-size: 15px; }
body { margin: 0; background: var(--fond); color: var(--texte); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial, sans-serif; }
.page { max-width: 1480px; margin: 0 auto; padding: 0 24px; }
.entete { background: var(--bandeau); color: #fff; padding: 20px 0 18px; }
.entete h1 { margin: 0; font-size: 1.75rem; font-weight: 700; letter-spacing: .01em; }
.sous-titre { margin: 4px 0 0; color: #d7e3ef; }
main { padding-top: 8px; padding-bottom: 16px; }
section { margin: 24px 0; }
h2 { font-size: 1.3rem; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--bord); }
h3 { font-size: .85rem; text-transform: uppercase; letter-spacing: .06em; color: var(--discret); margin: 0 0 8px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .9em; }
.groupes { display: flex; flex-wrap: wrap; gap: 12px 28px; }
.groupe { flex: 1 1 auto; }
.cartes { display: flex; flex-wrap: wrap; gap: 10px; }
.carte { flex: 1 1 auto; min-width: 96px; background: var(--carte); border: 1px solid var(--bord);
  border-left: 6px solid var(--gris-bord); border-radius: 8px; padding: 10px 14px; }
.carte .nombre { display: block; font-size: 1.9rem; font-weight: 700; line-height: 1.1;
  font-variant-numeric: tabular-nums; }
.carte .libelle { color: var(--discret); font-weight: 600; white-space: nowrap; }
.carte.zero .nombre { color: #98a2b3; }
.carte-total { border-left-color: var(--bandeau); }
.carte.st-failed { border-left-color: var(--rouge); }
.carte.st-failed:not(.zero) { background: var(--rouge-fond); border-color: var(--rouge-bord);
  border-left-color: var(--rouge); }
.carte.st-failed:not(.zero) .nombre, .carte.st-failed:not(.zero) .libelle { color: var(--rouge); }
.carte.st-changed { border-left-color: var(--bleu); }
.carte.st-ok { border-left-color: var(--vert); }
.carte.st-not_run { border-left-color: #dc6803; }
.carte.sev-erreur { border-left-color: var(--rouge); }
.carte.sev-erreur:not(.zero) .nombre { color: var(--rouge); }
.carte.sev-avertissement { border-left-color: #dc6803; }
.carte.sev-info { border-left-color: #0086c9; }
.fait { margin: 12px 0 0; }
.fait .intitule { font-weight: 600; }
.alerte { color: var(--rouge); font-weight: 700; }
.deux-colonnes { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 0 24px;
  align-items: start; }
.a-reprendre { list-style: none; margin: 0; padding: 0; background: var(--carte); border: 1px solid var(--bord);
  border-radius: 8px; }
.a-reprendre li { padding: 8px 12px; border-top: 1px solid var(--bord); }
.a-reprendre li:first-child { border-top: 0; }
.a-reprendre li.echec { background: var(--rouge-fond); box-shadow: inset 4px 0 0 var(--rouge); }
.a-reprendre .badge { margin-right: 4px; }
.a-reprendre .projet { color: var(--discret); }
.defile { overflow-x: auto; background: var(--carte); border: 1px solid var(--bord); border-radius: 8px; }
table { width: 100%; border-collapse: collapse; font-size: .95rem; }
caption.aide { caption-side: bottom; text-align: left; padding: 6px 10px; color: var(--discret); font-size: .85rem; }
th, td { padding: 6px 8px; text-align: left; vertical-align: top; border-bottom: 1px solid #e4e9f0; }
thead th { background: #eaf0f6; color: #243b53; font-size: .85rem; position: sticky; top: 0; z-index: 1;
  border-bottom: 2px solid var(--bord); vertical-align: bottom; }
tbody th { font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) td, tbody tr:nth-child(even) th { background: #fafbfd; }
tbody tr:hover td, tbody tr:hover th { background: #f0f5fb; }
tfoot tr.total th, tfoot tr.total td { font-weight: 700; border-top: 2px solid var(--bord); border-bottom: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
td.zero { color: #98a2b3; }
td.uai, .uai { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  white-space: nowrap; font-weight: 600; }
button.tri { all: unset; cursor: pointer; font-weight: 700; }
button.tri::after { content: "\\2195"; margin-left: 4px; color: #9aa5b1; font-weight: 400; }
th[aria-sort="ascending"] button.tri::after { content: "\\25B2"; color: var(--bandeau); }
th[aria-sort="descending"] button.tri::after { content: "\\25BC"; color: var(--bandeau); }
button.tri:focus-visible, .filtres :focus-visible { outline: 3px solid #2e90fa; outline-offset: 2px;
  border-radius: 3px; }
tr.st-failed td { background: var(--rouge-fond) !important; }
tr.st-failed td:first-child { box-shadow: inset 5px 0 0 var(--rouge); }
tr.st-failed td.nom { font-weight: 700; color: #7a271a; }
td.pire-erreur { color: var(--rouge); font-weight: 700; }
td.pire-avertissement { color: var(--ambre); font-weight: 700; }
td.pire-erreur::before, td.pire-avertissement::before, td.pire-info::before { content: "\\25CF"; margin-right: 5px;
  font-size: .8em; }
td.pire-info::before { color: var(--info); }
.badge { display: inline-flex; align-items: center; gap: 3px; padding: 0 7px; border-radius: 999px; font-size: .8rem;
  font-weight: 600; white-space: nowrap; border: 1px solid; line-height: 1.5; }
.badge.st-failed, .badge.st-erreur { color: var(--rouge); background: #fee4e2; border-color: var(--rouge-bord); }
.badge.st-changed { color: var(--bleu); background: var(--bleu-fond); border-color: var(--bleu-bord); }
.badge.st-ok { color: var(--vert); background: var(--vert-fond); border-color: var(--vert-bord); }
.badge.st-skipped { color: var(--gris); background: var(--gris-fond); border-color: var(--gris-bord); }
.badge.st-not_run { color: var(--ambre); background: var(--ambre-fond); border-color: var(--ambre-bord); }
.badge.sev-erreur { color: var(--rouge); background: #fee4e2; border-color: var(--rouge-bord); }
.badge.sev-avertissement { color: var(--ambre); background: var(--ambre-fond); border-color: var(--ambre-bord); }
.badge.sev-info { color: var(--info); background: var(--info-fond); border-color: var(--info-bord); }
.vide { color: #9aa5b1; }
#etablissements td.nom { min-width: 170px; }
#etablissements td.projet { white-space: nowrap; }
#constats td.etablissement .nom { display: block; color: var(--discret); font-size: .88rem; }
#constats td.code .sujet { display: block; color: var(--discret); font-size: .85rem; }
#constats td.message { min-width: 260px; }
#constats td.correctif { min-width: 260px; color: #334e68; }
.filtres { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px 16px; margin: 0 0 10px; }
.champ { display: flex; flex-direction: column; gap: 2px; font-size: .85rem; font-weight: 600; color: var(--discret); }
.champ input, .champ select { font: inherit; font-weight: 400; color: var(--texte); padding: 6px 8px;
  border: 1px solid #bcccdc; border-radius: 6px; background: #fff; min-width: 190px; }
.champ.recherche input { min-width: 260px; }
.reinitialiser { font: inherit; font-size: .9rem; padding: 6px 12px; border: 1px solid #bcccdc; border-radius: 6px;
  background: #fff; color: var(--texte); cursor: pointer; }
.affiches { margin: 0 0 0 auto; color: var(--discret); align-self: center; }
.aucun, .rien { padding: 12px; background: var(--carte); border: 1px dashed var(--bord); border-radius: 8px;
  color: var(--discret); }
.pied { color: var(--discret); font-size: .85rem; padding-bottom: 24px; }
@media print {
  body { background: #fff; } .filtres, caption.aide { display: none !important; }
  thead th { position: static; } .entete { background: #fff; color: var(--texte); border-bottom: 2px solid; }
  .sous-titre { color: var(--discret); } .defile { overflow: visible; }
}
"""

_JS = r"""
(function () {
  "use strict";
  // Sort ranks of the coded columns: what needs attention first.
  var RANGS = {
    statut: {failed: 0, not_run: 1, changed: 2, skipped: 3, ok: 4},
    severite: {erreur: 0, avertissement: 1, info: 2}
  };
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  function simple(texte) {
    return texte.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function valeur(ligne, index) {
    var cellule = ligne.cells[index];
    if (!cellule) { return ""; }
    var v = cellule.getAttribute("data-value");
    return v === null ? cellule.textContent.trim() : v;
  }
  function comparer(type, x, y) {
    if (type === "num") { return Number(x) - Number(y); }
    if (RANGS[type]) {
      var rx = x in RANGS[type] ? RANGS[type][x] : 99, ry = y in RANGS[type] ? RANGS[type][y] : 99;
      return rx - ry;
    }
    return x.localeCompare(y, "fr", {sensitivity: "base", numeric: true});
  }
  function triable(table) {
    var titres = table.tHead.rows[table.tHead.rows.length - 1].cells;
    each(titres, function (th, index) {
      var bouton = th.querySelector("button.tri");
      if (!bouton) { return; }
      bouton.addEventListener("click", function () {
        var sens = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        var type = th.getAttribute("data-tri") || "texte";
        each(titres, function (autre) { autre.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", sens === 1 ? "ascending" : "descending");
        var corps = table.tBodies[0];
        var lignes = Array.prototype.map.call(corps.rows, function (ligne, ordre) {
          return {ligne: ligne, ordre: ordre, valeur: valeur(ligne, index)};
        });
        lignes.sort(function (a, b) {
          // Empty cells last, whatever the direction; equal values keep their order.
          if ((a.valeur === "") !== (b.valeur === "")) { return a.valeur === "" ? 1 : -1; }
          return sens * comparer(type, a.valeur, b.valeur) || a.ordre - b.ordre;
        });
        lignes.forEach(function (l) { corps.appendChild(l.ligne); });
      });
    });
  }
  function filtrable(barre) {
    var id = barre.getAttribute("data-filtres");
    var table = document.getElementById(id);
    var aucun = document.getElementById(id + "-aucun");
    var champs = barre.querySelectorAll("[data-champ]");
    var compteur = barre.querySelector("[data-affiches]");
    function appliquer() {
      var affiches = 0;
      each(table.tBodies[0].rows, function (ligne) {
        var visible = Array.prototype.every.call(champs, function (champ) {
          var v = champ.value.trim(), nom = champ.getAttribute("data-champ");
          if (!v) { return true; }
          if (nom === "texte") { return simple(ligne.textContent).indexOf(simple(v)) !== -1; }
          return ligne.getAttribute("data-" + nom) === v;
        });
        ligne.hidden = !visible;
        if (visible) { affiches += 1; }
      });
      compteur.textContent = affiches.toLocaleString("fr-FR");
      if (aucun) { aucun.hidden = affiches !== 0; }
    }
    each(champs, function (champ) {
      champ.addEventListener("input", appliquer);
      champ.addEventListener("change", appliquer);
    });
    var raz = barre.querySelector("[data-reinitialiser]");
    if (raz) {
      raz.addEventListener("click", function () {
        each(champs, function (champ) { champ.value = ""; });
        appliquer();
      });
    }
    barre.hidden = false;
    appliquer();
  }
  each(document.querySelectorAll("table.triable"), triable);
  each(document.querySelectorAll("[data-filtres]"), filtrable);
  document.documentElement.setAttribute("data-js", "pret");
})();
"""


# --- files ------------------------------------------------------------------------------------------------

def write(directory: str, data: Mapping[str, Any], *, basename: str = "rapport") -> dict[str, str]:
    """Write the report's four files in ``directory`` (created 0700 if new), each mode 0644, atomically.

    Returns the paths: ``html``, ``json``, ``csv`` (établissements), ``csv_constats`` (findings).
    """
    if not _FILE_STEM.fullmatch(basename):
        raise ValueError(f"basename {basename!r} is not a plain file name")
    # Everything is rendered first: a rendering error leaves the previous files in place.
    contents = {"html": to_html(data), "json": to_json(data), "csv": to_csv_etablissements(data),
                "csv_constats": to_csv_findings(data)}
    names = {"html": f"{basename}.html", "json": f"{basename}.json", "csv": f"{basename}-etablissements.csv",
             "csv_constats": f"{basename}-constats.csv"}
    make_dir(directory)
    paths = {}
    for key, text in contents.items():
        paths[key] = os.path.join(directory, names[key])
        write_atomic(paths[key], text.encode("utf-8"), 0o644)  # counts and établissement names only
    return paths


def write_detail(directory: str, uai: str, rows: Iterable[Sequence[Any]], *, header: Sequence[str]) -> str:
    """Write ``<uai>-diagnostic.csv`` in ``directory``: the people behind an établissement's findings.

    It may hold people's names: mode 0600 (even over an existing file), directory 0700 if new. Written only
    when a user asks for it. Returns its path.
    """
    if not isinstance(uai, str) or not _FILE_STEM.fullmatch(uai):
        raise ValueError(f"UAI {uai!r} cannot name a file")
    path = os.path.join(directory, f"{uai}-diagnostic.csv")
    write_private_csv(path, header, rows)
    return path
