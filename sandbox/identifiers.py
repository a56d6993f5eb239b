"""Import of the PRONOTE identifiers into the ENT ("Importer les identifiants Pronote").

Pure of Flask: reading the uploaded file, the ENT's deliberately plain
automatic matching, the six steps and what each saves, the identifiers of a
site and its directory search. The views are in
:mod:`sandbox.console_identifiants`; screens, messages and semantics follow
``docs/import-screens.md``.

Set-based: a step reads the site's accounts in one query and saves its pairs
with ``executemany`` in one transaction, so an établissement of a few
thousand accounts costs milliseconds per request.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from sandbox import db
from sandbox.names import ascii_fold
from sandbox.pronote import CATEGORIES, CATEGORY_BY_ELEMENT, CATEGORY_BY_STEP, Category
from sandbox.state import REPO_ROOT

SCHEMA_PATH = REPO_ROOT / "docs" / "schemas" / "identifiants-pronote.xsd"
ROOT_ELEMENT = "IdentifiantsPRONOTE"
#: Largest identifiers file the ENT accepts: 20 Mo (MiB).
MAX_FILE_BYTES = 20 * 1024 * 1024
MODES = ("complet", "partiel")
STEPS = len(CATEGORIES)

FILE_REQUIRED = "Le champ « Fichier » est obligatoire."
MODE_REQUIRED = "Le champ « Mode d'import » est obligatoire."
MODE_NOT_ALLOWED = "Le champ « Mode d'import » contient une valeur non autorisée."
ETAB_REQUIRED = "Le champ « Établissement » est obligatoire."
TOO_LARGE = "Le fichier dépasse la taille maximale autorisée (20 Mo)."
INTERRUPTED = "Import interrompu : les étapes déjà validées sont conservées."
NOT_RUNNING = "Cet import n'est plus en cours."

# imports.status
RUNNING, FINISHED, INTERRUPTED_STATUS, ABANDONED, FAILED = "en_cours", "termine", "interrompu", "abandonne", "echoue"
CLOSED = (INTERRUPTED_STATUS, ABANDONED, FAILED)

_IDENT_RE = re.compile(r"^[A-Z0-9]{16}$")
_FRENCH_DATE_RE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_ATTRIBUTES = ("DateNaissance", "DateSortie")


def wrong_uai(file_uai: str, chosen: str) -> str:
    return f"Le fichier concerne l'établissement {file_uai} et non {chosen}."


def unknown_account(login: str) -> str:
    return f"Le compte « {login} » est introuvable dans l'annuaire de l'établissement."


def wrong_profile(login: str, profile: str) -> str:
    return f"Le compte « {login} » n'a pas le profil {profile}."


def chosen_twice(login: str) -> str:
    return f"Le compte « {login} » est choisi pour plusieurs identifiants."


# ---------------------------------------------------------------- the file

class InvalidFile(Exception):
    """The upload is not a valid identifiers file: ``line`` and French ``cause``."""

    def __init__(self, line: int, cause: str) -> None:
        super().__init__(cause)
        self.line = max(1, int(line or 1))
        self.cause = cause

    @property
    def message(self) -> str:
        return f"Le fichier n'est pas un fichier d'identifiants PRONOTE valide (ligne {self.line} : {self.cause})."


@dataclass
class FileRow:
    """One person of the file."""

    step: int
    ident: str
    nom: str
    prenom: str
    birth_date: str | None
    line: int


@dataclass
class IdentifiersFile:
    """A parsed identifiers file."""

    uai: str
    rows: list[FileRow] = field(default_factory=list)

    def step_rows(self, step: int) -> list[FileRow]:
        return [r for r in self.rows if r.step == step]


_local = threading.local()
#: libxml2 does not build two schemas at once safely: threads doing it together got "Document is not valid XML
#: Schema" or an internal error (an import under load answered 500). One thread builds at a time.
_BUILDING = threading.Lock()


def _schema() -> etree.XMLSchema:
    """The schema of the file, one per thread (a validator keeps its error log)."""
    schema = getattr(_local, "schema", None)
    if schema is None:
        with _BUILDING:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            schema = _local.schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), parser))
    return schema


def _localname(tag: object) -> str | None:
    return etree.QName(tag).localname if isinstance(tag, str) else None


def _iso_date(element: etree._Element, name: str) -> str | None:
    """Normalise the date attribute ``name`` in place (``dd/mm/yyyy`` -> ISO); None when absent."""
    value = element.get(name)
    if value is None:
        return None
    match = _FRENCH_DATE_RE.match(value)
    iso = f"{match.group(3)}-{match.group(2)}-{match.group(1)}" if match else value
    try:
        if not _ISO_DATE_RE.match(iso):
            raise ValueError
        dt.date.fromisoformat(iso)
    except ValueError:
        raise InvalidFile(element.sourceline, f"date « {value} » invalide dans l'attribut « {name} »"
                                              " (attendu aaaa-mm-jj ou jj/mm/aaaa)") from None
    element.set(name, iso)
    return iso


def _check_ident(element: etree._Element, seen: dict[str, int]) -> str:
    ident = element.get("Identifiant")
    what = _localname(element.tag)
    if ident is None:
        raise InvalidFile(element.sourceline, f"attribut « Identifiant » manquant sur « {what} »")
    if not _IDENT_RE.match(ident):
        raise InvalidFile(element.sourceline, f"identifiant « {ident} » invalide (16 caractères A-Z ou 0-9 attendus)")
    return ident


def _walk(root: etree._Element, result: IdentifiersFile) -> None:
    """Read the people of ``root`` in file order; raise InvalidFile at the first problem."""
    seen: dict[str, int] = {}
    for section in root:
        if _localname(section.tag) is None:
            continue
        for person in section:
            name = _localname(person.tag)
            category = CATEGORY_BY_ELEMENT.get(name or "")
            if category is None:
                continue
            ident = _check_ident(person, seen)
            if ident in seen:
                raise InvalidFile(person.sourceline, f"identifiant « {ident} » déjà présent ligne {seen[ident]}")
            seen[ident] = person.sourceline or 0
            for attribute in ("Nom", "Prenom"):
                if person.get(attribute) is None:
                    raise InvalidFile(person.sourceline, f"attribut « {attribute} » manquant sur « {name} »")
            birth = _iso_date(person, "DateNaissance")
            _iso_date(person, "DateSortie")
            for child in person:
                if _localname(child.tag) == "Enfant":
                    _check_ident(child, seen)
            result.rows.append(FileRow(category.step, ident, person.get("Nom", ""), person.get("Prenom", ""),
                                       birth, person.sourceline or 0))


def parse_file(data: bytes) -> IdentifiersFile:
    """Read an identifiers file; raise InvalidFile naming the line of the first problem.

    Accepts any namespace or none, the encodings libxml2 knows (UTF-8,
    ISO-8859-1, windows-1252 declared), a UTF-8 BOM, CRLF, dates
    ``yyyy-mm-dd`` or ``dd/mm/yyyy``; then checks the file against the schema.
    Never resolves entities, never reads the network, no huge trees, no DTD.
    """
    if not data.strip():
        raise InvalidFile(1, "fichier vide")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             dtd_validation=False, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 1)
        raise InvalidFile(line, "document XML mal formé") from None
    if root is None:
        raise InvalidFile(1, "document XML mal formé")
    if root.getroottree().docinfo.doctype:
        raise InvalidFile(1, "déclaration DOCTYPE non autorisée")
    name = _localname(root.tag)
    if name != ROOT_ELEMENT:
        raise InvalidFile(root.sourceline or 1, f"élément racine « {name} » au lieu de « {ROOT_ELEMENT} »")
    for element in root.iter():
        local = _localname(element.tag)
        if local is not None and element.tag != local:
            element.tag = local
    etree.cleanup_namespaces(root)
    uai = root.get("UAI")
    if uai is None:
        raise InvalidFile(root.sourceline or 1, "attribut « UAI » manquant sur « IdentifiantsPRONOTE »")
    result = IdentifiersFile(uai.strip().upper())
    own: InvalidFile | None = None
    try:
        _walk(root, result)
    except InvalidFile as exc:
        own = exc
    schema = _schema()
    if not schema.validate(root.getroottree()):
        error = schema.error_log[0]
        if own is None or error.line < own.line:
            raise InvalidFile(error.line, f"non conforme au schéma : {error.message}")
    if own is not None:
        raise own
    return result


# ---------------------------------------------------------------- matching

@dataclass(frozen=True)
class SiteAccount:
    """An ENT account attached to the site."""

    id: int
    login: str
    profile: str
    nom: str
    prenom: str
    birth_date: str | None


def site_accounts(conn: sqlite3.Connection, etab_id: int) -> list[SiteAccount]:
    """Every ENT account attached to ``etab_id``."""
    return [SiteAccount(*row) for row in conn.execute(
        "SELECT u.id, u.login, u.profile, u.nom, u.prenom, u.birth_date FROM user_etabs ue"
        " JOIN users u ON u.id = ue.user_id WHERE ue.etab_id = ?", (etab_id,))]


def plain_match(rows: list[FileRow], accounts: list[SiteAccount]) -> list[int | None]:
    """The ENT's automatic matching: per row, the account id it recognises, or None.

    Same nom, prénom and birth date, compared case-insensitively and
    otherwise exactly; no birth date on either side, several accounts, or one
    account fitting several rows: no match. ``accounts`` are those of the
    step's profile attached to the site.
    """
    index: dict[tuple[str, str, str], list[int]] = {}
    for account in accounts:
        if account.birth_date:
            index.setdefault((account.nom.lower(), account.prenom.lower(), account.birth_date), []).append(account.id)
    tentative: list[int | None] = []
    for row in rows:
        found = index.get((row.nom.lower(), row.prenom.lower(), row.birth_date)) if row.birth_date else None
        tentative.append(found[0] if found and len(found) == 1 else None)
    fits = Counter(t for t in tentative if t is not None)
    return [t if t is not None and fits[t] == 1 else None for t in tentative]


# ---------------------------------------------------------------- imports

def get_import(conn: sqlite3.Connection, import_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM imports WHERE id = ?", (import_id,)).fetchone()


def unfinished_import(conn: sqlite3.Connection, etab_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM imports WHERE etab_id = ? AND status = ? ORDER BY id DESC LIMIT 1",
                        (etab_id, RUNNING)).fetchone()


def start_import(conn: sqlite3.Connection, etab_id: int, user_id: int, mode: str, filename: str,
                 parsed: IdentifiersFile, now: float) -> int:
    """Create an import of ``parsed`` for the site (abandoning its unfinished one); return its id.

    The automatic matching of the six steps is computed here, once.
    """
    accounts = site_accounts(conn, etab_id)
    rows: list[tuple[object, ...]] = []
    steps: list[tuple[int, int, int]] = []
    for category in CATEGORIES:
        step_rows = parsed.step_rows(category.step)
        matches = plain_match(step_rows, [a for a in accounts if a.profile == category.profile])
        steps.append((category.step, len(step_rows), sum(1 for m in matches if m is not None)))
        rows += [(category.step, position, r.ident, r.nom, r.prenom, r.birth_date, match)
                 for position, (r, match) in enumerate(zip(step_rows, matches))]
    with db.write(conn):
        conn.execute("UPDATE imports SET status = ?, updated_at = ? WHERE etab_id = ? AND status = ?",
                     (ABANDONED, now, etab_id, RUNNING))
        import_id = int(conn.execute(
            "INSERT INTO imports (etab_id, user_id, mode, status, current_step, filename, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 1, ?, ?, ?)", (etab_id, user_id, mode, RUNNING, filename[:255], now, now)).lastrowid)
        conn.executemany("INSERT INTO import_steps (import_id, step, total, reconnus) VALUES (?, ?, ?, ?)",
                         [(import_id, *s) for s in steps])
        conn.executemany("INSERT INTO import_rows (import_id, step, position, ident, nom, prenom, birth_date,"
                         " matched_user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [(import_id, *r) for r in rows])
    return import_id


@dataclass
class StepRow:
    """One row of a step's table."""

    ident: str
    nom: str
    prenom: str
    birth_date: str | None
    matched_login: str | None

    @property
    def reconnu(self) -> bool:
        return self.matched_login is not None


def step_rows(conn: sqlite3.Connection, import_id: int, step: int) -> list[StepRow]:
    """The rows of ``step`` in file order, with the login the ENT recognised."""
    return [StepRow(*row) for row in conn.execute(
        "SELECT r.ident, r.nom, r.prenom, r.birth_date, u.login FROM import_rows r"
        " LEFT JOIN users u ON u.id = r.matched_user_id WHERE r.import_id = ? AND r.step = ? ORDER BY r.position",
        (import_id, step))]


def check_step(conn: sqlite3.Connection, etab_id: int, category: Category, rows: list[StepRow],
               typed: dict[str, str]) -> tuple[list[str], list[tuple[int, str]]]:
    """Validate the logins typed for the rows; return (problems, pairs (user id, ident))."""
    by_login = {a.login.lower(): a for a in site_accounts(conn, etab_id)}
    uses = Counter(typed.get(r.ident, "").strip().lower() for r in rows)
    problems: dict[str, None] = {}
    pairs: list[tuple[int, str]] = []
    for row in rows:
        login = typed.get(row.ident, "").strip()
        if not login:
            continue
        account = by_login.get(login.lower())
        if account is None:
            problems[unknown_account(login)] = None
        elif account.profile != category.profile:
            problems[wrong_profile(login, category.profile)] = None
        if uses[login.lower()] > 1:
            problems[chosen_twice(login)] = None
        if account is not None:
            pairs.append((account.id, row.ident))
    return list(problems), pairs


def save_step(conn: sqlite3.Connection, import_row: sqlite3.Row, step: int, pairs: list[tuple[int, str]],
              now: float, abort: bool = False) -> bool:
    """Save the pairs of ``step`` (one transaction); False when the step is no longer current.

    Partiel: each pair replaces the account's identifier in the site and takes
    the identifier from any other account. Complet: also, every account of the
    step's profile holding an identifier in the site and not bound here loses
    it. ``abort`` (fault ``import_abort_step``) saves the first half of the
    pairs only, the partiel way, and closes the import as a crash would.
    """
    category = CATEGORY_BY_STEP[step]
    etab_id = import_row["etab_id"]
    with db.write(conn):
        current = conn.execute("SELECT status, current_step, mode FROM imports WHERE id = ?",
                               (import_row["id"],)).fetchone()
        if current is None or current["status"] != RUNNING or current["current_step"] != step:
            return False
        saved = pairs[: len(pairs) // 2] if abort else pairs
        if current["mode"] == "complet" and not abort:
            conn.execute("DELETE FROM ent_identifiers WHERE etab_id = ? AND EXISTS (SELECT 1 FROM users u"
                         " WHERE u.id = ent_identifiers.user_id AND u.profile = ?)", (etab_id, category.profile))
        conn.executemany("DELETE FROM ent_identifiers WHERE etab_id = ? AND user_id = ?",
                         [(etab_id, user_id) for user_id, _ in saved])
        conn.executemany("DELETE FROM ent_identifiers WHERE etab_id = ? AND ident = ?",
                         [(etab_id, ident) for _, ident in saved])
        conn.executemany("INSERT INTO ent_identifiers (etab_id, user_id, ident) VALUES (?, ?, ?)",
                         [(etab_id, user_id, ident) for user_id, ident in saved])
        if abort:
            conn.execute("UPDATE imports SET status = ?, updated_at = ? WHERE id = ?", (FAILED, now, import_row["id"]))
            return True
        conn.execute("UPDATE import_steps SET lies = ?, non_lies = total - ? WHERE import_id = ? AND step = ?",
                     (len(pairs), len(pairs), import_row["id"], step))
        conn.execute("UPDATE imports SET current_step = ?, status = ?, updated_at = ? WHERE id = ?",
                     (step + 1, FINISHED if step == STEPS else RUNNING, now, import_row["id"]))
    return True


def interrupt(conn: sqlite3.Connection, import_id: int, now: float) -> None:
    """Close a running import; the steps validated before stay saved."""
    with db.write(conn):
        conn.execute("UPDATE imports SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
                     (INTERRUPTED_STATUS, now, import_id, RUNNING))


def step_counts(conn: sqlite3.Connection, import_id: int, step: int) -> sqlite3.Row:
    return conn.execute("SELECT * FROM import_steps WHERE import_id = ? AND step = ?", (import_id, step)).fetchone()


def bilan(conn: sqlite3.Connection, import_id: int) -> list[tuple[Category, sqlite3.Row]]:
    """Per step: (category, counts row with reconnus, lies, non_lies)."""
    rows = {r["step"]: r for r in conn.execute("SELECT * FROM import_steps WHERE import_id = ?", (import_id,))}
    return [(c, rows[c.step]) for c in CATEGORIES if c.step in rows]


# ---------------------------------------------------------------- what the site holds

def site_identifiers(conn: sqlite3.Connection, etab_id: int) -> list[sqlite3.Row]:
    """Every pair (account, identifier) of the site, sorted by login."""
    return conn.execute(
        "SELECT u.login, u.nom, u.prenom, u.profile, i.ident FROM ent_identifiers i JOIN users u ON u.id = i.user_id"
        " WHERE i.etab_id = ? ORDER BY u.login", (etab_id,)).fetchall()


@dataclass
class DirectoryEntry:
    """One row of the site's directory."""

    login: str
    nom: str
    prenom: str
    birth_date: str | None
    profile: str
    children: list[str]


@functools.lru_cache(maxsize=200_000)
def _folded(text: str) -> str:
    return ascii_fold(text)


def search_directory(conn: sqlite3.Connection, etab_id: int, q: str = "", profil: str = "") -> list[DirectoryEntry]:
    """Accounts attached to the site matching every word of ``q`` (case and accents
    ignored, in nom, prénom or login) and ``profil`` (one of the six, or empty)."""
    words = [_folded(w) for w in q.split()]
    sql = ("SELECT u.id, u.login, u.nom, u.prenom, u.birth_date, u.profile FROM user_etabs ue"
           " JOIN users u ON u.id = ue.user_id WHERE ue.etab_id = ?")
    params: list[object] = [etab_id]
    if profil:
        sql += " AND u.profile = ?"
        params.append(profil)
    entries: dict[int, DirectoryEntry] = {}
    for user_id, login, nom, prenom, birth, profile in conn.execute(sql + " ORDER BY u.login", params):
        if words:
            haystack = (_folded(nom), _folded(prenom), login.lower())
            if not all(any(w in h for h in haystack) for w in words):
                continue
        entries[user_id] = DirectoryEntry(login, nom, prenom, birth, profile, [])
    parents = [uid for uid, e in entries.items() if e.profile == "Parent"]
    for start in range(0, len(parents), 500):
        chunk = parents[start:start + 500]
        for parent_id, child in conn.execute(
                "SELECT l.parent_id, c.login FROM parent_links l JOIN users c ON c.id = l.child_id"  # noqa: S608
                f" WHERE l.parent_id IN ({', '.join('?' for _ in chunk)}) ORDER BY c.login", chunk):
            entries[parent_id].children.append(child)
    return list(entries.values())


def french_date(iso: str | None) -> str:
    """``yyyy-mm-dd`` as ``jj/mm/aaaa`` (empty when None)."""
    if not iso:
        return ""
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"
