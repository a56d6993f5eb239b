"""Per-établissement records that outlive a run, and the merge of many runs' records into one report.

A run (or one slice of an AWX sliced job) knows only its own hosts. So that
a region's report can be made from many runs, each run publishes its
records, one per établissement, in a *records document*:

- as the value of a ``set_stats`` key named by the run
  (``ent_pronote_records_<run id>``): AWX hands the artifacts of every slice
  to the next node of a workflow, merging them **by top-level key** (a
  ``dict.update``), so each run's key must be its own or the last slice
  would hide the others;
- as a file, ``<report dir>/records/<kind>-<run id>.json`` (mode 0644, never
  overwriting another run's: the run id is a UTC time and random hex).

:func:`merge` takes any number of such documents and keeps, per UAI, the
latest record (by the time of its run), saying what it took, what it left
and why. It never makes up a status: a record that does not follow the
report's format (``_report``) is left out, named, not repaired.

Records hold what the report holds: counts, codes and établissement names,
never a person's name (findings are whitelisted as in ``_report``).
"""
from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils import _report
from ansible_collections.ent.pronote.plugins.module_utils._files import make_dir, write_atomic

#: id of a records document's schema; a document of another schema is left out of a merge, named
SCHEMA = "ent.pronote/records/1"
#: the ``set_stats`` keys of the records: this prefix, then the run id
STATS_PREFIX = "ent_pronote_records_"
#: the directory of the records files, under the report directory
RECORDS_DIR = "records"
_RUN_ID = re.compile(r"[0-9]{8}T[0-9]{6}Z_[0-9a-f]{6,32}")
#: UAIs named in one warning about records left for a later run's, the others counted
SHOWN_UAIS = 10


def new_run_id(now: datetime | None = None) -> str:
    """``20260901T163000Z_3fa9c2``: sorts by time, unique enough that no two runs share one, a valid
    suffix of a variable name (the ``set_stats`` key) and of a file name."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}_{secrets.token_hex(3)}"


def product_version() -> str:
    """The collection's version: MANIFEST.json when installed, galaxy.yml in a checkout, else ``"?"``."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            return str(json.load(handle)["collection_info"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            found = re.search(r"^version:\s*['\"]?([^'\"\s#]+)", handle.read(), re.M)
        return found.group(1) if found else "?"
    except OSError:
        return "?"


# --- what a run covers -------------------------------------------------------------------------------------

def awx_slice_of(hosts: Iterable[str], inventory: Iterable[str]) -> tuple[int, int] | None:
    """``(K, N)`` when ``hosts`` are slice K of N of ``inventory`` as AWX cuts it (hosts in name order,
    every N-th from the K-th), with N > 1; None otherwise, or when it cannot be told (one host)."""
    names = sorted(set(inventory))
    chosen = set(hosts)
    index = [i for i, name in enumerate(names) if name in chosen]
    if len(index) < 2 or len(index) != len(chosen) or len(index) == len(names):
        return None
    step, first = index[1] - index[0], index[0]
    if first >= step or index != list(range(first, len(names), step)):
        return None
    return first + 1, step


def scope_of(hosts: list[str], inventory: list[str], extra: Mapping[str, Any]) -> dict[str, Any]:
    """What part of the region a run covers, for its records and its summary.

    ``slice``: ``{"number": K, "count": N}`` from the extra var ``ent_pronote_slice`` (``"K/N"``, set by
    whoever launches the slices), else from the run's hosts when they are an AWX slice of the inventory
    (``--limit``); ``partial``: the run left out some of the inventory's hosts, or is a slice. An AWX
    sliced job hands each slice only its hosts, and no slice number: such a slice is recognised from AWX's
    extra vars (``awx_job_launch_type`` ``workflow`` and a workflow named as the job template, which is how
    AWX names the workflow of a sliced job), ``awx_slice`` true, its number unknown.
    """
    scope: dict[str, Any] = {"hosts": len(hosts), "inventory_hosts": len(set(inventory)), "slice": None,
                             "partial": len(set(hosts)) < len(set(inventory))}
    given = extra.get("ent_pronote_slice")
    if isinstance(given, str) and re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", given):
        number, count = (int(n) for n in given.split("/"))
        if 1 <= number <= count and count > 1:
            scope["slice"] = {"number": number, "count": count}
    if scope["slice"] is None:
        found = awx_slice_of(hosts, inventory)
        if found:
            scope["slice"] = {"number": found[0], "count": found[1]}
    if (extra.get("awx_job_launch_type") == "workflow" and extra.get("awx_workflow_job_name")
            and extra.get("awx_workflow_job_name") == extra.get("awx_job_template_name")):
        scope["awx_slice"] = True
        if extra.get("awx_workflow_job_id") is not None:
            scope["awx_workflow_job_id"] = extra["awx_workflow_job_id"]
    scope["partial"] = bool(scope["partial"] or scope["slice"] or scope.get("awx_slice"))
    return scope


def scope_text(scope: Mapping[str, Any] | None) -> str | None:
    """The French line that says a run covered only part of the region; None for the whole region."""
    if not scope or not scope.get("partial"):
        return None
    region = " Ce n'est pas le rapport de la région : ansible-playbook ent.pronote.report."
    if scope.get("slice"):
        s = scope["slice"]
        return (f"Tranche {s['number']} sur {s['count']} : {scope['hosts']} établissement(s) de cette tranche "
                f"seulement.{region}")
    if scope.get("awx_slice"):
        job = scope.get("awx_workflow_job_id")
        return (f"Tranche d'un travail AWX en tranches{f' (travail {job})' if job is not None else ''} : "
                f"{scope['hosts']} établissement(s) de cette tranche seulement.{region}")
    return (f"Exécution partielle : {scope['hosts']} établissement(s) sur les {scope['inventory_hosts']} "
            f"de l'inventaire.{region}")


# --- a run's document --------------------------------------------------------------------------------------

def stored(record: Mapping[str, Any], index: int = 1) -> dict[str, Any]:
    """A report record as a records document keeps it: checked and whitelisted by ``_report``, without the
    fields ``_report`` derives (ValueError, naming the UAI, when it does not follow the format)."""
    checked = _report._record(record, index)  # the one place that knows the format
    return {key: checked[key] for key in _report.RECORD_KEYS}


def document(records: Iterable[Mapping[str, Any]], *, kind: str, run_id: str, generated_at: datetime,
             scope: Mapping[str, Any] | None = None, check_mode: bool = False) -> dict[str, Any]:
    """A run's records document (``docs/report.md``, *Records*). ``check_mode``: a dry run (``--check``), whose
    statuses are predictions: :func:`merge` takes them only when it is given nothing else."""
    if kind not in _report.KINDS:
        raise ValueError(f"kind must be one of {', '.join(_report.KINDS)}, not {kind!r}")
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"run id {run_id!r} is not one of new_run_id()")
    etabs: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records, 1):
        kept = stored(record, index)
        etabs[kept["uai"]] = kept
    if generated_at.utcoffset() is None:
        generated_at = generated_at.astimezone()
    return {"schema": SCHEMA, "kind": kind, "run_id": run_id, "generated_at": generated_at.isoformat(),
            "product_version": product_version(), "check_mode": bool(check_mode), "scope": dict(scope or {}),
            "etablissements": etabs}


def stats_key(run_id: str) -> str:
    return f"{STATS_PREFIX}{run_id}"


def write_document(report_dir: str, doc: Mapping[str, Any]) -> str:
    """Write ``<report_dir>/records/<kind>-<run id>.json`` (0644: counts and établissement names only).
    Never over another file: the run id is the run's own."""
    directory = os.path.join(report_dir, RECORDS_DIR)
    path = os.path.join(directory, f"{doc['kind']}-{doc['run_id']}.json")
    if os.path.exists(path):
        raise ValueError(f"{path} exists already: a run id is never used twice")
    make_dir(directory)
    write_atomic(path, (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"), 0o644)
    return path


# --- merge -------------------------------------------------------------------------------------------------

@dataclass(eq=False)  # one per document given: compared (and hashed) by identity
class Source:
    """One records document given to :func:`merge`, and what became of it."""

    origin: str  #: where it came from: a file's path, or ``set_stats`` key
    run_id: str | None = None
    generated_at: str | None = None
    product_version: str | None = None
    scope: dict[str, Any] | None = None
    taken: list[str] = field(default_factory=list)  #: UAIs taken from it
    superseded: list[str] = field(default_factory=list)  #: UAIs a later run's record replaced
    rejected: str | None = None  #: why the whole document was left out (French)

    def as_result(self) -> dict[str, Any]:
        return {"origin": self.origin, "run_id": self.run_id, "generated_at": self.generated_at,
                "product_version": self.product_version, "scope": self.scope, "taken": len(self.taken),
                "superseded": len(self.superseded), "rejected": self.rejected}


@dataclass
class Merged:
    records: list[dict[str, Any]]  #: one per UAI, the latest
    sources: list[Source]
    warnings: list[str]  #: French lines: what was left out or replaced, and why


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else when.astimezone()


def load_file(path: str) -> tuple[Any, str | None]:
    """A records file's content, or None and why not (French): unreadable, truncated, not JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"illisible ({exc.__class__.__name__}: {exc})"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"JSON incomplet ou invalide (fichier tronqué ?) : {exc}"


def record_files(report_dir: str, kind: str, run_ids: Iterable[str] | None = None) -> list[str]:
    """The records files of ``kind`` in ``<report_dir>/records``, oldest run first; only ``run_ids``'s
    when given."""
    directory = os.path.join(report_dir, RECORDS_DIR)
    wanted = set(run_ids) if run_ids is not None else None
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if not (name.startswith(f"{kind}-") and name.endswith(".json")):
            continue
        run_id = name[len(kind) + 1:-len(".json")]
        if wanted is None or run_id in wanted:
            out.append(os.path.join(directory, name))
    return out


def merge(documents: Iterable[tuple[str, Any, str | None]], *, kind: str) -> Merged:
    """The latest record per établissement over ``documents``: ``(origin, content or None, why not)``.

    A document is left out, with a warning naming it, when it could not be read, is not a records
    document of :data:`SCHEMA`, is of another kind, or is a dry run's (``check_mode``) among real runs'; a
    record, when it does not follow the report's format. Two records for one UAI: the one of the latest run (``generated_at``, then run id) is taken,
    and a warning names the UAI, the run taken and the runs left (one warning per run taken and runs left,
    naming up to :data:`SHOWN_UAIS` UAIs; ``Source.superseded`` has them all).
    """
    sources: list[Source] = []
    warnings: list[str] = []
    best: dict[str, tuple[tuple, dict[str, Any], Source]] = {}
    others: dict[str, list[Source]] = {}
    documents = list(documents)
    # A dry run's statuses are predictions: never over a real run's, but a merge of dry runs only is one of them.
    real_runs = any(isinstance(c, Mapping) and not c.get("check_mode") for _name, c, why in documents if why is None)
    for origin, content, why_not in documents:
        source = Source(origin)
        sources.append(source)
        if why_not is not None or not isinstance(content, Mapping):
            source.rejected = why_not or f"pas un document d'enregistrements (un {type(content).__name__})"
            warnings.append(f"Ignoré : {origin} — {source.rejected}.")
            continue
        source.run_id = content.get("run_id") if isinstance(content.get("run_id"), str) else None
        source.generated_at = content.get("generated_at") if isinstance(content.get("generated_at"), str) else None
        source.product_version = str(content.get("product_version")) if content.get("product_version") else None
        source.scope = content.get("scope") if isinstance(content.get("scope"), dict) else None
        when = _when(source.generated_at)
        if content.get("schema") != SCHEMA:
            source.rejected = (f"schéma {content.get('schema')!r} (version {source.product_version or '?'} du "
                               f"produit), attendu {SCHEMA!r}")
        elif content.get("kind") != kind:
            source.rejected = f"enregistrements de type {content.get('kind')!r}, pas {kind!r}"
        elif source.run_id is None or when is None:
            source.rejected = "sans identifiant d'exécution ou sans date valide"
        elif not isinstance(content.get("etablissements"), Mapping):
            source.rejected = "sans liste d'établissements"
        elif content.get("check_mode") and real_runs:
            source.rejected = "exécution à blanc (--check) : ses statuts sont des prévisions, pas ceux d'une exécution"
        if source.rejected:
            warnings.append(f"Ignoré : {origin} — {source.rejected}.")
            continue
        if source.product_version and source.product_version != product_version():
            warnings.append(f"Pris : {origin} — fait par la version {source.product_version} du produit "
                            f"(celle-ci : {product_version()}), même schéma {SCHEMA}.")
        order = (when, source.run_id)
        for index, (uai, raw) in enumerate(content["etablissements"].items(), 1):
            try:
                record = stored(raw, index)
                if record["uai"] != uai:
                    raise ValueError(f"record {uai}: filed under {uai} but its uai is {record['uai']}")
            except ValueError as exc:
                warnings.append(f"Ignoré : l'établissement {uai} de {origin} — enregistrement invalide : {exc}.")
                continue
            if uai in best and best[uai][0] >= order:
                others.setdefault(uai, []).append(source)
                source.superseded.append(uai)
                continue
            if uai in best:
                previous = best[uai][2]
                previous.taken.remove(uai)
                previous.superseded.append(uai)
                others.setdefault(uai, []).append(previous)
            best[uai] = (order, record, source)
            source.taken.append(uai)
    # One line per (run taken, runs left): a region run whole, then in slices, is a few lines, not thousands.
    grouped: dict[tuple[Source, tuple[Source, ...]], list[str]] = {}
    for uai in sorted(others):
        grouped.setdefault((best[uai][2], tuple(others[uai])), []).append(uai)
    for (source, left_out), uais in grouped.items():
        left = ", ".join(f"{s.run_id} ({s.generated_at})" for s in left_out)
        shown = ", ".join(uais[:SHOWN_UAIS]) + (f" et {len(uais) - SHOWN_UAIS} autre(s)" if len(uais) > SHOWN_UAIS else "")
        warnings.append(f"{shown} : enregistrement de l'exécution {source.run_id} ({source.generated_at}), la plus "
                        f"récente, pris ; laissé(s) : {left}.")
    return Merged([best[uai][1] for uai in sorted(best)], sources, warnings)
