"""The identifiers import of one établissement: decide every pair, then drive the six steps.

Reads the site's current identifiers and its directory, decides each person
of the file with :func:`._matching.decide`, and compares what the site would
hold after the import with what it holds now. Nothing to change: nothing is
uploaded. Otherwise the file is uploaded in its mode and each step is
validated with the decided account of every row (the ENT's own "reconnus"
included, an unsafe one emptied). Used by the engine (:mod:`._engine`), so a
run cut in the middle (server error, expired session, import closed by the
server) is started again from a fresh read and finished.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._errors import UnexpectedPageError, ValidationError
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import CATEGORIES, IdentifiersFile, Person
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import KdecoleConsole
from ansible_collections.ent.pronote.plugins.module_utils._matching import Account, MatchPlan, decide, outcome_state

MODES = ("complet", "partiel")
#: every outcome of a decision, in report order
OUTCOMES = ("ent", "assisted", "kept", "manual", "unmatched", "ambiguous", "skipped")
OUTCOME_LABELS = {
    "ent": "reconnu par l'ENT",
    "assisted": "rapprochement assisté",
    "kept": "déjà lié",
    "manual": "rapprochement manuel",
    "unmatched": "non rapproché",
    "ambiguous": "ambigu",
    "skipped": "écarté",
}
#: a step never comes back more often than this before the client gives up
MAX_PAGES = 3 * len(CATEGORIES)
MANUAL_COLUMNS = ("identifiant_pronote", "compte_ent")


def import_mode(requested: str, file: IdentifiersFile) -> str:
    """``complet`` or ``partiel``; ``auto`` follows the file's "Uniquement les utilisateurs sans identifiants CAS"."""
    if requested != "auto":
        return requested
    return "partiel" if file.only_without_cas else "complet"


@dataclass
class ImportState:
    """What the site holds: Identifiant PRONOTE -> ENT login."""

    pairs: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {"identifiers": len(self.pairs)}


@dataclass
class ImportPlan:
    final: dict[str, str]
    added: int
    replaced: int
    removed: int


class ImportHandler:
    """One établissement's import, for :func:`._engine.ensure`."""

    def __init__(self, console: KdecoleConsole, uai: str, file: IdentifiersFile, content: bytes, filename: str,
                 mode: str, *, manual: dict[str, str] | None = None, assisted: bool = True,
                 max_removed_share: float = 0.10, force: bool = False) -> None:
        self.console = console
        self.uai = uai
        self.file = file
        self.content = content
        self.filename = filename
        self.mode = mode
        self.manual = manual or {}
        self.assisted = assisted
        self.max_removed_share = max_removed_share
        self.force = force
        self.match: MatchPlan | None = None
        self.accounts: list[Account] = []
        self.uploaded = False

    def read(self) -> ImportState:
        current = {ident: pair.login for ident, pair in self.console.read_identifiers(self.uai).items()}
        self.accounts = [Account(a.login, a.profile, a.nom, a.prenom, a.birth_date, a.children)
                         for a in self.console.read_directory(self.uai)]
        self.match = decide(self.file.people, self.accounts, current, mode=self.mode, manual=self.manual,
                            assisted=self.assisted)
        return ImportState(current)

    def plan(self, before: ImportState) -> ImportPlan | None:
        assert self.match is not None
        final, added, replaced, removed = outcome_state(before.pairs, self.match, self.mode, self.file.people)
        if final == before.pairs:
            return None
        share = removed / len(before.pairs) if before.pairs else 0.0
        if self.mode == "complet" and share > self.max_removed_share and not self.force:
            raise ValidationError(
                f"Refused for {self.uai}: this mode complet import would remove {removed} of the "
                f"{len(before.pairs)} identifiers the ENT holds ({share:.0%}, more than the "
                f"{self.max_removed_share:.0%} allowed by max_removed_share). Is the file complete "
                f"({len(self.file.people)} people)? If this is really wanted, set force: true.")
        return ImportPlan(final, added, replaced, removed)

    def predict(self, before: ImportState, plan: ImportPlan) -> ImportState:
        return ImportState(dict(plan.final))

    def apply(self, before: ImportState, plan: ImportPlan) -> ImportState:
        assert self.match is not None
        logins = self.match.pairs()
        page = self.console.start_import(self.uai, self.mode, self.filename, self.content)
        self.uploaded = True
        for _ in range(MAX_PAGES):
            if page.finished:
                break
            page = self.console.validate_step(page, logins)
        else:
            raise UnexpectedPageError(f"The identifiers import of {self.uai} did not reach its end page "
                                      f"after {MAX_PAGES} validations.")
        return ImportState({ident: pair.login for ident, pair in self.console.read_identifiers(self.uai).items()})


# --- manual matches and the report ----------------------------------------------

def read_manual_matches(path: str) -> dict[str, str]:
    """A person's decisions: ``identifiant_pronote;compte_ent`` (CSV, ``;`` or ``,``, header line).

    Other columns are ignored and rows with an empty ``compte_ent`` skipped, so
    the file the report writes can be filled in and given back as it is.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise ValidationError(f"Cannot read the manual matches file {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ValidationError(f"The manual matches file {path} is not UTF-8 text.") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in MANUAL_COLUMNS if name not in header]
    if missing:
        raise ValidationError(f"The manual matches file {path} has no column {', '.join(missing)} on its line 1 "
                              f"(expected a header {';'.join(MANUAL_COLUMNS)}).")
    reader.fieldnames = header
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        ident = (row.get("identifiant_pronote") or "").strip().upper()
        login = (row.get("compte_ent") or "").strip()
        if not login:
            continue
        if len(ident) != 16 or not ident.isalnum() or not ident.isascii():
            raise ValidationError(f"{path}, line {line}: '{ident}' is not an Identifiant PRONOTE "
                                  "(16 letters and digits).")
        if ident in out and out[ident] != login:
            raise ValidationError(f"{path}, line {line}: {ident} is given two ENT accounts "
                                  f"(also on line {lines[ident]}).")
        out[ident], lines[ident] = login, line
    return out


def write_report(path: str, uai: str, file: IdentifiersFile, plan: MatchPlan, accounts: list[Account]) -> str:
    """Write, mode 0600, the per-person report (CSV for a spreadsheet) and the manual matches to fill in.

    Returns the path of the manual matches file (``<report>.correspondances.csv``).
    """
    people = {p.ident: p for p in file.people}
    by_login = {a.login: a for a in accounts}
    titles = {c.key: c.title for c in CATEGORIES}
    report_rows: list[list[str]] = []
    todo_rows: list[list[str]] = []
    for decision in plan.decisions:
        person = people[decision.ident]
        shown = "; ".join(_describe(by_login[login]) if login in by_login else login
                          for login in decision.candidates)
        report_rows.append([
            uai, titles.get(decision.category, decision.category), decision.ident, person.nom, person.prenom,
            _date(person), OUTCOME_LABELS.get(decision.outcome, decision.outcome), decision.login or "",
            decision.reason or "", shown,
        ])
        if decision.outcome in ("unmatched", "ambiguous"):
            todo_rows.append([decision.ident, "", person.nom, person.prenom, _date(person),
                              titles.get(decision.category, decision.category), " | ".join(decision.candidates)])
    _write_csv(path, ["uai", "catégorie", "identifiant_pronote", "nom", "prénom", "date_naissance", "résultat",
                      "compte_ent", "raison", "candidats"], report_rows)
    todo = _todo_path(path)
    _write_csv(todo, [*MANUAL_COLUMNS, "nom", "prenom", "date_naissance", "categorie", "candidats"], todo_rows)
    return todo


def _todo_path(path: str) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}.correspondances{ext or '.csv'}"


def _date(person: Person) -> str:
    return person.birth_date.strftime("%d/%m/%Y") if person.birth_date else ""


def _describe(account: Account) -> str:
    born = f", né(e) le {account.birth_date:%d/%m/%Y}" if account.birth_date else ""
    return f"{account.login} ({account.nom} {account.prenom}{born})"


def _write_csv(path: str, header: list[str], rows: list[list[str]]) -> None:
    """A ``;`` CSV with a byte order mark (spreadsheets open it right), readable by its owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)


def counts(plan: MatchPlan) -> dict[str, Any]:
    """Counts per category and outcome (no names), with totals."""
    per_category = plan.counts()
    out: dict[str, Any] = {}
    totals = dict.fromkeys(OUTCOMES, 0)
    for category in CATEGORIES:
        row = {outcome: per_category.get(category.key, {}).get(outcome, 0) for outcome in OUTCOMES}
        out[category.key] = row
        for outcome, n in row.items():
            totals[outcome] += n
    out["total"] = totals
    return out
