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

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.ent.pronote.plugins.module_utils._engine import ensure, pause, retrying
from ansible_collections.ent.pronote.plugins.module_utils._errors import (
    EntPronoteError,
    SessionExpiredError,
    TransientError,
    UnexpectedPageError,
    ValidationError,
)
from ansible_collections.ent.pronote.plugins.module_utils._files import csv_uncell, write_private_csv
from ansible_collections.ent.pronote.plugins.module_utils._identifiers import (
    CATEGORIES,
    IdentifiersFile,
    Person,
    read_bounded,
    read_identifiers,
)
from ansible_collections.ent.pronote.plugins.module_utils._kdecole import (
    ImportClosedError,
    ImportPage,
    ImportPages,
    KdecoleConsole,
    directory_of,
    identifiers_of,
)
from ansible_collections.ent.pronote.plugins.module_utils._marks import Mark, import_mark
from ansible_collections.ent.pronote.plugins.module_utils._matching import (
    Account,
    WITHDRAWN,
    Decision,
    MatchPlan,
    decide,
    outcome_state,
)
from ansible_collections.ent.pronote.plugins.module_utils._session_cache import cache_root, write_private_json

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
#: failures in a row on one import step that are resumed in place before the ensure cycle takes over
STEP_RETRIES = 2
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
                 max_removed_share: float = 0.10, force: bool = False, pages: ImportPages | None = None,
                 mark: Mark | None = None, retries: int = STEP_RETRIES) -> None:
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
        #: pages already read, used by the first :meth:`read`
        self._pages = pages
        #: digest of the pages of the latest :meth:`read`
        self.pages_digest = ""
        #: the import this handler started and has not finished (a failed attempt resumes it)
        self.current: ImportPage | None = None
        #: how many times an attempt went on with the import an earlier attempt left
        self.resumed = 0
        #: the steps (« k/6 ») of imports left in progress by an earlier run, interrupted before uploading
        self.abandoned: list[int] = []
        #: set while an import of this handler is « en cours » (a killed run leaves it for the next: _marks)
        self.mark = mark
        #: a failed step or upload goes again in place this many times (never more than the module's retries)
        self.retries = min(STEP_RETRIES, max(0, retries))

    def progress(self) -> int | None:
        """Where the import this handler drives stands (its step, None when there is none): a failed attempt
        that got further than the one before is progress for :func:`._engine.ensure`, though no pair changed
        yet (the console binds them all at the end)."""
        return self.current.step if self.current is not None else None

    def read(self) -> ImportState:
        pages, self._pages = self._pages or self.console.read_import_pages(self.uai), None
        self.pages_digest = pages.digest
        current = {ident: pair.login for ident, pair in identifiers_of(pages.identifiers, self.uai).items()}
        self.accounts = [Account(a.login, a.profile, a.nom, a.prenom, a.birth_date, a.children)
                         for a in directory_of(pages.directory, self.uai)]
        self.match = decide(self.file.people, self.accounts, current, mode=self.mode, manual=self.manual,
                            assisted=self.assisted)
        return ImportState(current)

    def plan(self, before: ImportState) -> ImportPlan | None:
        if self.match is None:  # a caller's bug, not bad input
            raise AssertionError("self.match is not set")
        final, added, replaced, removed = outcome_state(before.pairs, self.match, self.mode, self.file.people)
        if final == before.pairs:
            return None
        share = removed / len(before.pairs) if before.pairs else 0.0
        if self.mode == "complet" and share > self.max_removed_share and not self.force:
            kinds = withdrawn(self.match)
            why = ", ".join(f"{n} {WITHDRAWN[k]}" for k, n in kinds.items() if n)
            why = f" ; parmi eux, des paires que les règles ne feraient pas : {why}" if why else ""
            raise ValidationError(
                f"Refusé pour {self.uai} : cet import en mode complet retirerait {removed} des "
                f"{len(before.pairs)} identifiants que l'ENT tient ({share:.0%}, plus que les "
                f"{self.max_removed_share:.0%} permis par max_removed_share{why}). Le fichier est-il complet "
                f"({len(self.file.people)} personnes) ? Si c'est bien voulu : force: true.")
        return ImportPlan(final, added, replaced, removed)

    def predict(self, before: ImportState, plan: ImportPlan) -> ImportState:
        return ImportState(dict(plan.final))

    def apply(self, before: ImportState, plan: ImportPlan) -> ImportState:
        if self.match is None:  # a caller's bug, not bad input
            raise AssertionError("self.match is not set")
        logins = self.match.pairs()
        page = self._resumed() or self._started()
        stalled = 0
        for _page in range(MAX_PAGES):
            if page.finished:
                break
            try:
                page = self.console.validate_step(page, logins)
            except TransientError:
                # A 500 or an expired session on a step: the console keeps the steps it validated, so read
                # where the import stands (signing in again) and go on from there, rather than read the
                # établissement's pages again. Given up to the ensure cycle after self.retries at one step.
                stalled += 1
                if stalled > self.retries:
                    raise
                pause(0.25, stalled)
                resumed = self._resumed()
                if resumed is None:
                    raise
                page = resumed
                continue
            stalled = 0
            self.current = page
        else:
            raise UnexpectedPageError(f"The identifiers import of {self.uai} did not reach its end page "
                                      f"after {MAX_PAGES} validations.")
        self.current = None
        if self.mark is not None:
            self.mark.clear()
        return ImportState({ident: pair.login for ident, pair in self.console.read_identifiers(self.uai).items()})

    def _started(self) -> ImportPage:
        self.current = None
        if self.mark is not None:
            self.mark.set()
        page, left = self._uploaded()
        if left is not None:
            # An earlier run was killed in the middle of its import: « Interrompre » was pressed on it first.
            self.abandoned.append(left)
        self.uploaded = True
        self.current = page
        return page

    def _uploaded(self) -> tuple[ImportPage, int | None]:
        """:meth:`KdecoleConsole.start_import`, again when the console sent the upload to the CAS instead (the
        console session the workers of a run share ended for all of them): nothing was imported then, so
        the file goes again, signed in anew, up to ``self.retries`` times."""
        expired = 0
        while True:
            try:
                return self.console.start_import(self.uai, self.mode, self.filename, self.content)
            except SessionExpiredError:
                expired += 1
                if expired > self.retries:
                    raise
                pause(0.25, expired)

    def _resumed(self) -> ImportPage | None:
        """The import an earlier attempt of this run left in progress (a 500, an expired session), where it
        stands now: the console keeps its validated steps, so the steps left are validated, not all six
        again after a new upload. None when there is none, or when the console closed it."""
        if self.current is None or self.current.finished:
            return None
        try:
            page = self.console.read_import(self.uai, self.current.url)
        except ImportClosedError:
            self.current = None  # nothing left in progress: the next attempt uploads again
            return None
        self.resumed += 1
        self.current = page
        return page

    def interrupt(self) -> bool:
        """Press « Interrompre » on the import this handler left in progress (it gives up). Whether it did."""
        page, self.current = self.current, None
        if page is None or page.finished or page.form is None:
            return False
        try:
            self.console.interrupt_import(page)
        except EntPronoteError:
            return False  # the mark stays: the next run interrupts it first, and says so
        if self.mark is not None:
            self.mark.clear()
        return True


# --- one établissement, from the options to the result -------------------------

def run_import(console: KdecoleConsole, uai: str, params: dict[str, Any], check_mode: bool,
               verdicts: VerdictCache | None = None) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    """Import ``params["src"]`` into ``uai``: the result (counts only) and the identifiers per profile before/after.

    Everything local (file, UAI, manual matches) is checked before the ENT is
    read. With ``verdicts``, a run whose file, options and two pages are
    byte for byte those of a run that found nothing to change returns that
    run's result without deciding again (see :class:`VerdictCache`).
    """
    share = params["max_removed_share"]
    if not 0.0 <= share <= 1.0:
        raise ValidationError(f"max_removed_share doit être entre 0 et 1, pas {share}.")
    src = params["src"]
    content = read_bounded(src, params["max_file_size"])
    manual = read_manual_matches(params["manual_matches"]) if params.get("manual_matches") else {}
    inputs = _digest(_CODE, uai, content, json.dumps(
        [params["mode"], params["assisted"], share, params["force"], params["max_file_size"], sorted(manual.items())]))
    # A report or a RapprochementSSO file needs every decision: they always decide.
    wants_decisions = params.get("report") or params.get("rapprochement")
    record = verdicts.load() if verdicts is not None and not wants_decisions else None
    known = record is not None and record.get("inputs") == inputs
    # This very file was checked for this établissement by the run that stored the verdict.
    identifiers = None if known else _checked_file(src, content, uai, params["max_file_size"])
    abandoned = [] if check_mode else _interrupt_left_import(console, uai, params["retries"] + 1)
    pages = retrying(lambda: console.read_import_pages(uai), params["retries"] + 1)
    if record is not None and known and record.get("pages") == pages.digest and not abandoned:
        return {**record["result"], "reused_verdict": True}, record["profiles"], record["profiles"]
    if identifiers is None:
        identifiers = _checked_file(src, content, uai, params["max_file_size"])
    mode = import_mode(params["mode"], identifiers)

    def handler_for(read: ImportPages | None) -> ImportHandler:
        return ImportHandler(console, uai, identifiers, content, os.path.basename(src), mode, manual=manual,
                             assisted=params["assisted"], max_removed_share=share, force=params["force"], pages=read,
                             mark=None if check_mode else import_mark(console.base, uai), retries=params["retries"])

    handler = handler_for(pages)
    handler.abandoned += abandoned
    try:
        outcome = ensure(handler, check_mode, attempts=params["retries"] + 1)
    except EntPronoteError as exc:
        if handler.interrupt():
            exc.args = (f"{exc} The import in progress was interrupted (« Interrompre »): the steps the console "
                        "had validated stay saved, and the next run finishes the rest.",)
        raise
    plan = outcome.plan
    result = _result(uai, mode, handler, outcome.before.pairs, outcome.after.pairs, plan)
    result["changed"] = outcome.changed
    before, after = _by_profile(outcome.before.pairs, handler), _by_profile(outcome.after.pairs, handler)
    if params.get("report"):
        result["report"] = params["report"]
        result["manual_matches_template"] = write_report(
            params["report"], uai, identifiers, handler.match, handler.accounts)
    if params.get("rapprochement"):
        # ENT -> PRONOTE: the pairs decided with certainty, for PRONOTE's « Identifiant CAS » in bulk.
        # Imported here: every other run does without it (and its schema).
        from ansible_collections.ent.pronote.plugins.module_utils import _rapprochement as rapprochement

        result["rapprochement"] = {"path": params["rapprochement"], **rapprochement.export(
            params["rapprochement"], handler.match, identifiers, partner=params.get("partner") or "ENT",
            date=dt.date.today(), current=outcome.before.pairs)}
    if outcome.retried:
        result["retries"] = len(outcome.retried)
    if handler.resumed:
        result["resumed"] = handler.resumed
    if handler.abandoned:
        steps = ", ".join(f"{k}/6" for k in handler.abandoned)
        result["abandoned_import"] = handler.abandoned
        result.setdefault("warnings", []).append(
            f"{uai}: an identifiers import left in progress by an earlier run (step {steps}) was interrupted "
            "(« Interrompre ») before this one was uploaded.")
    if verdicts is None:
        return result, before, after
    # Remember a "nothing to change" verdict. After a real import, the pages are read and decided once more:
    # that second pass proves the import converged (and warns when it did not).
    verdicts.drop()
    settled, settled_state = handler, outcome.after
    if plan and not check_mode:
        settled = handler_for(None)
        settled_state = retrying(settled.read, params["retries"] + 1)
        left = settled.plan(settled_state)
        if left:
            result.setdefault("warnings", []).append(
                f"Après l'import, une nouvelle lecture de {uai} trouve encore {left.added} identifiant(s) à ajouter, "
                f"{left.replaced} à remplacer et {left.removed} à retirer : relancer, et lire le rapport si cela "
                "persiste.")
            return result, before, after
    elif plan:
        return result, before, after
    verdicts.save({"inputs": inputs, "pages": settled.pages_digest,
                   "result": {**_result(uai, mode, settled, settled_state.pairs, settled_state.pairs, None),
                              "changed": False},
                   "profiles": _by_profile(settled_state.pairs, settled)})
    return result, before, after


def _interrupt_left_import(console: KdecoleConsole, uai: str, attempts: int) -> list[int]:
    """An import an earlier run of this controller left « en cours » (killed, or its « Interrompre » failed, so
    its mark is there): interrupted first, even when this run has nothing to import. Its step, or nothing."""
    mark = import_mark(console.base, uai)
    if not mark.exists():
        return []
    left = retrying(lambda: console.interrupt_left_import(uai), attempts)
    mark.clear()
    return [left] if left is not None else []


def _checked_file(src: str, content: bytes, uai: str, max_bytes: int) -> IdentifiersFile:
    identifiers = read_identifiers(content, max_bytes=max_bytes, filename=src)
    if identifiers.uai != uai:
        raise ValidationError(f"Refusé : le fichier {src} est l'export de l'établissement {identifiers.uai}, "
                              f"pas de {uai}.")
    return identifiers


def _result(uai: str, mode: str, handler: ImportHandler, before: dict[str, str], after: dict[str, str],
            plan: ImportPlan | None) -> dict[str, Any]:
    """The counts of an import (``before``/``after``: the pairs the site held, and holds or would hold)."""
    if handler.match is None:  # a caller's bug, not bad input
        raise AssertionError("handler.match is not set")
    kinds = withdrawn(handler.match)
    return {
        "uai": uai, "mode": mode, "uploaded": handler.uploaded, "people": len(handler.file.people),
        "counts": counts(handler.match),
        # every identifier this import removes (or would, in check mode), per ENT profile: never silent
        "removed_by_profile": _by_profile({i: login for i, login in before.items() if i not in after}, handler),
        "identifiers": {
            "before": len(before), "after": len(after), "added": plan.added if plan else 0,
            "replaced": plan.replaced if plan else 0, "removed": plan.removed if plan else 0,
        },
        # pairs the ENT held that the rules would not make, by kind: removed (complet) or kept and reported
        "pairs_withdrawn": kinds if mode == "complet" else dict.fromkeys(WITHDRAWN, 0),
        "pairs_contested": kinds if mode == "partiel" else dict.fromkeys(WITHDRAWN, 0),
    }


def withdrawn(plan: MatchPlan) -> dict[str, int]:
    """Pairs the ENT holds that the rules would not make, per kind (:data:`._matching.WITHDRAWN`), every kind
    present: mode complet removes them, mode partiel keeps them (and reports them)."""
    out = dict.fromkeys(WITHDRAWN, 0)
    for decision in plan.decisions:
        if decision.withdrawn:
            out[decision.withdrawn] += 1
    return out


def _by_profile(pairs: dict[str, str], handler: ImportHandler) -> dict[str, int]:
    """Counts of identifiers per ENT profile: a diff without names."""
    profiles = {a.login.casefold(): a.profile for a in handler.accounts}
    out: dict[str, int] = {}
    for login in pairs.values():
        profile = profiles.get(login.casefold(), "autre")
        out[profile] = out.get(profile, 0) + 1
    return dict(sorted(out.items()))


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _code_fingerprint() -> str:
    """The code a verdict depends on: a new version of the reader, the matching or this module forgets them all."""
    from ansible_collections.ent.pronote.plugins.module_utils import _identifiers, _kdecole, _matching

    parts = []
    for module in (_identifiers, _kdecole, _matching):
        try:
            with open(module.__file__ or "", "rb") as handle:
                parts.append(handle.read())
        except OSError:
            return os.urandom(16).hex()  # no source to fingerprint: never reuse a verdict
    with open(__file__, "rb") as handle:
        parts.append(handle.read())
    return _digest(*parts)


_CODE = _code_fingerprint()


class VerdictCache:
    """The last "nothing to change" verdict of one établissement, so that a no-op run does not decide again.

    Whether an import has anything to do is a pure function of the file, the
    manual matches, the options, the code, and the two pages read (the
    site's identifiers and its directory). A run that finds nothing to do
    (or that imported and then found nothing left) stores the digests of all
    of these with its result, counts only. The next run reads the same two
    pages as ever; when every digest is the same, it returns that result. A
    single byte of difference, in the file or in a page, and it decides
    again. Kept in the cache directory (``$ENT_PRONOTE_CACHE_DIR``), mode
    0600, per console URL and UAI.
    """

    def __init__(self, console_url: str, uai: str, directory: str | None = None) -> None:
        self.directory = directory or os.path.join(cache_root(), "verdicts")
        self.path = os.path.join(self.directory, _digest(console_url, uai)[:40] + ".json")

    def load(self) -> dict[str, Any] | None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and {"inputs", "pages", "result", "profiles"} <= set(record) else None

    def save(self, record: dict[str, Any]) -> None:
        write_private_json(self.path, record)

    def drop(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


# --- manual matches and the report ----------------------------------------------

def read_manual_matches(path: str) -> dict[str, str]:
    """A person's decisions: ``identifiant_pronote;compte_ent`` (CSV, ``;`` or ``,``, header line).

    Other columns are ignored and rows with an empty ``compte_ent`` skipped, so
    the file the report writes can be filled in and given back as it is (the
    apostrophe the writer puts before a cell a spreadsheet would run is taken
    away again).
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except OSError as exc:
        raise ValidationError(f"Fichier de rapprochements manuels {path} illisible : {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ValidationError(f"Le fichier de rapprochements manuels {path} n'est pas du texte UTF-8.") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in MANUAL_COLUMNS if name not in header]
    if missing:
        raise ValidationError(f"Le fichier de rapprochements manuels {path} n'a pas de colonne {', '.join(missing)} "
                              f"en ligne 1 (en-tête attendu : {';'.join(MANUAL_COLUMNS)}).")
    reader.fieldnames = header
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        ident = csv_uncell((row.get("identifiant_pronote") or "").strip()).strip().upper()
        login = csv_uncell((row.get("compte_ent") or "").strip()).strip()
        if not login:
            continue
        if len(ident) != 16 or not ident.isalnum() or not ident.isascii():
            raise ValidationError(f"{path}, ligne {line} : '{ident}' n'est pas un Identifiant PRONOTE "
                                  "(16 lettres et chiffres).")
        if ident in out and out[ident] != login:
            raise ValidationError(f"{path}, ligne {line} : {ident} reçoit deux comptes ENT "
                                  f"(aussi ligne {lines[ident]}).")
        out[ident], lines[ident] = login, line
    return out


#: the outcomes a person can resolve by choosing an account (the file to fill in by hand lists them)
TO_RESOLVE = frozenset({"unmatched", "ambiguous"})


def to_resolve(decision: Decision) -> bool:
    """Left unpaired for a reason a person could resolve: no account found, ambiguous (homonyms, several
    accounts), written twice in PRONOTE (which copy is the person); or a pair the ENT holds where two
    accounts fit, for a person to confirm (removed in mode complet, kept in mode partiel)."""
    return (decision.outcome in TO_RESOLVE or (decision.outcome == "skipped" and decision.code in ("duplicate", "duplicate_suspected"))
            or decision.withdrawn == "ambiguous")


def write_report(path: str, uai: str, file: IdentifiersFile, plan: MatchPlan, accounts: list[Account]) -> str:
    """Write, mode 0600, the per-person report (CSV for a spreadsheet) and the manual matches to fill in.

    The reasons are in French (:attr:`._matching.Decision.raison`). The file
    to fill in lists everyone :func:`to_resolve`, with the reason and the
    candidate accounts. Returns its path (``<report>.correspondances.csv``).
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
            decision.raison, shown,
        ])
        if to_resolve(decision):
            todo_rows.append([decision.ident, "", person.nom, person.prenom, _date(person),
                              titles.get(decision.category, decision.category), decision.raison,
                              " | ".join(decision.candidates)])
    write_private_csv(path, ["uai", "catégorie", "identifiant_pronote", "nom", "prénom", "date_naissance", "résultat",
                      "compte_ent", "raison", "candidats"], report_rows)
    todo = _todo_path(path)
    write_private_csv(todo, [*MANUAL_COLUMNS, "nom", "prenom", "date_naissance", "categorie", "raison", "candidats"],
                      todo_rows)
    return todo


def _todo_path(path: str) -> str:
    stem, ext = os.path.splitext(path)
    return f"{stem}.correspondances{ext or '.csv'}"


def _date(person: Person) -> str:
    return person.birth_date.strftime("%d/%m/%Y") if person.birth_date else ""


def _describe(account: Account) -> str:
    born = f", né(e) le {account.birth_date:%d/%m/%Y}" if account.birth_date else ""
    return f"{account.login} ({account.nom} {account.prenom}{born})"


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
