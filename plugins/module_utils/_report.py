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
usable opened from disk. It is a Jinja2 template of the collection,
``templates/report/page.html.j2``, with its style and script beside it
(``page.css``, ``page.js``), so that the page can be read and changed as a
page; the Python here computes the data. The template is autoescaped: every
text and attribute is escaped, and stripped of the characters HTML cannot
hold (:func:`_finalize`).
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
    """Text an HTML (and XML) parser accepts: no control character, no surrogate."""
    return _NOT_XML.sub("\ufffd", text)


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


#: the page's template, style and script: data files of the collection, beside plugins/ (installed with it)
TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "templates", "report")


def _finalize(value: Any) -> Any:
    """Every value the template prints: None as nothing, text without what HTML cannot hold (then escaped)."""
    if value is None:
        return ""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return _xml(value)
    return value


_ENVIRONMENT: Any = None


def _environment() -> Any:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        import jinja2  # ships with ansible-core

        _ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                          finalize=_finalize, undefined=jinja2.StrictUndefined,
                                          extensions=["jinja2.ext.do"], keep_trailing_newline=True)
    return _ENVIRONMENT


def _asset(name: str) -> str:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as handle:
        return handle.read()


def to_html(data: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML5 page (French, inline CSS and JavaScript, nothing fetched), from
    ``templates/report/page.html.j2``."""
    kind, summary = data["kind"], data["summary"]
    css, js = _asset("page.css"), _asset("page.js")
    # Nothing but the inline style and script may run or load: no request of any kind.
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    page = _environment().get_template("page.html.j2").render(
        data=data, kind=kind, summary=summary, etabs=data["etablissements"], findings=data["findings"],
        steps=_steps_of(data), statuses={r["uai"]: r["status"] for r in data["etablissements"]},
        title=KINDS[kind], date=_date_fr(data["generated_at"]), coverage=_coverage(data), csp=csp, css=css, js=js,
        STATUSES=STATUSES, SEVERITIES=SEVERITIES, STEPS=STEPS, IDENTIFIER_OUTCOMES=IDENTIFIER_OUTCOMES,
        STATUS_ICONS=STATUS_ICONS, SEVERITY_ICONS=SEVERITY_ICONS, SEVERITY_LABELS=SEVERITY_LABELS,
        IDENTIFIER_LABELS=IDENTIFIER_LABELS, status_label=status_label, shown_status=shown_status, n=_n,
        plural=_plural, failed_steps=lambda r: [STEPS[s] for s, state in r["steps"].items() if state == "failed"])
    return page if page.endswith("\n") else page + "\n"


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
