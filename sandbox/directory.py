"""Loading an ENT directory from CSV into one project.

Format: UTF-8, ``;``-separated, header
``login;profil;nom;prenom;date_naissance;code_postal;uai;enfants``.
``uai`` and ``enfants`` (child logins) may hold several values separated by
``|``. Every line is validated before anything is written; any error means
nothing is loaded. Accounts are upserted by login (case-insensitive).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import db, refdata
from sandbox.names import LOGIN_RE
from sandbox.security import DEMO_PASSWORD, hash_password
from sandbox.uai import normalize_uai

HEADER = ["login", "profil", "nom", "prenom", "date_naissance", "code_postal", "uai", "enfants"]
POSTAL_RE = re.compile(r"^[0-9]{5}$")
NAME_MAX = 100


@dataclass
class Entry:
    """One valid line of the file."""

    line: int
    login: str
    profile: str
    nom: str
    prenom: str
    birth_date: str | None
    postal_code: str | None
    uais: list[str]
    children: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class DirectoryError(Exception):
    """The file cannot be loaded; ``errors`` holds ``FILE:LINE: problem`` lines."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def _decode(path: Path, label: str) -> tuple[str, list[str]]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        errors = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(f"{label}:{number}: la ligne n'est pas en UTF-8")
        return "", errors


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def _check_date(value: str) -> str | None:
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        return f"date_naissance « {value} » invalide (attendu AAAA-MM-JJ)"
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return f"date_naissance « {value} » invalide (attendu AAAA-MM-JJ)"
    if parsed > dt.date.today() or parsed.year < 1900:
        return f"date_naissance « {value} » hors des dates possibles"
    return None


def _parse_row(row: list[str], etab_ids: dict[str, int]) -> tuple[Entry | None, list[str]]:
    problems: list[str] = []
    if len(row) != len(HEADER):
        return None, [f"{len(row)} champ(s) au lieu de {len(HEADER)}"]
    login, profile, nom, prenom, birth, postal, uai_field, children_field = (v.strip() for v in row)
    if not login:
        problems.append("login vide")
    elif not LOGIN_RE.match(login.lower()):
        problems.append(f"login « {login} » invalide (lettres minuscules, chiffres, « . », « - », « _ »)")
    if profile not in refdata.PROFILES:
        problems.append(f"profil « {profile} » inconnu (attendu : {', '.join(refdata.PROFILES)})")
    for label, value in (("nom", nom), ("prenom", prenom)):
        if not value:
            problems.append(f"{label} vide")
        elif len(value) > NAME_MAX:
            problems.append(f"{label} trop long ({len(value)} caractères, {NAME_MAX} au plus)")
    if birth:
        problem = _check_date(birth)
        if problem:
            problems.append(problem)
    elif profile == "Elève":
        problems.append("date_naissance obligatoire pour un élève")
    if postal and not POSTAL_RE.match(postal):
        problems.append(f"code_postal « {postal} » invalide (5 chiffres)")
    uais: list[str] = []
    if not _split(uai_field):
        problems.append("uai vide")
    for value in _split(uai_field):
        try:
            uai = normalize_uai(value)
        except ValueError as exc:
            problems.append(f"uai {exc}")
            continue
        if uai not in etab_ids:
            problems.append(f"uai « {uai} » : établissement inconnu dans ce projet")
        elif uai not in uais:
            uais.append(uai)
    children = [c.lower() for c in _split(children_field)]
    if children and profile != "Parent":
        problems.append("enfants renseigné pour un compte qui n'est pas Parent")
    entry = Entry(0, login.lower(), profile, nom, prenom, birth or None, postal or None, uais, children)
    return (None if problems else entry), problems


def parse_file(path: Path, conn: sqlite3.Connection, project_id: int, label: str | None = None) -> list[Entry]:
    """Read and validate the whole file; raise DirectoryError listing every problem."""
    label = label or str(path)
    text, errors = _decode(path, label)
    if errors:
        raise DirectoryError(errors)
    etab_ids = {r["uai"]: r["id"] for r in conn.execute("SELECT id, uai FROM etabs WHERE project_id = ?", (project_id,))}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    header_seen = False
    for row in reader:
        number = reader.line_num
        if not header_seen:
            header_seen = True
            if [c.strip() for c in row] != HEADER:
                raise DirectoryError([f"{label}:{number}: en-tête attendu « {';'.join(HEADER)} »"])
            continue
        if not any(cell.strip() for cell in row):
            continue
        entry, problems = _parse_row(row, etab_ids)
        if entry is not None:
            if entry.login in seen:
                problems.append(f"login « {entry.login} » déjà présent ligne {seen[entry.login]}")
            else:
                entry.line = number
                seen[entry.login] = number
                entries.append(entry)
        errors += [f"{label}:{number}: {p}" for p in problems]
    if not header_seen:
        errors.append(f"{label}:1: fichier vide (en-tête attendu « {';'.join(HEADER)} »)")
    errors += _check_children(conn, project_id, entries, label)
    if errors:
        raise DirectoryError(errors)
    return entries


def _check_children(conn: sqlite3.Connection, project_id: int, entries: list[Entry], label: str) -> list[str]:
    in_file = {e.login: e.profile for e in entries}
    errors = []
    for entry in entries:
        for child in entry.children:
            profile = in_file.get(child)
            if profile is None:
                row = conn.execute("SELECT profile FROM users WHERE project_id = ? AND login = ?",
                                   (project_id, child)).fetchone()
                profile = row["profile"] if row else None
            if profile is None:
                errors.append(f"{label}:{entry.line}: enfant « {child} » inconnu (ni dans le fichier ni dans l'annuaire)")
            elif profile != "Elève":
                errors.append(f"{label}:{entry.line}: enfant « {child} » n'est pas un compte Elève ({profile})")
    return errors


def load(conn: sqlite3.Connection, entries: list[Entry], project_id: int) -> LoadResult:
    """Upsert ``entries`` (already validated) in one transaction."""
    result = LoadResult()
    password = hash_password(DEMO_PASSWORD)
    etab_ids = {r["uai"]: r["id"] for r in conn.execute("SELECT id, uai FROM etabs WHERE project_id = ?", (project_id,))}
    with db.write(conn):
        ids: dict[str, int] = {}
        for e in entries:
            row = conn.execute("SELECT id FROM users WHERE project_id = ? AND login = ?", (project_id, e.login)).fetchone()
            if row:
                conn.execute("UPDATE users SET profile = ?, nom = ?, prenom = ?, birth_date = ?, postal_code = ?"
                             " WHERE id = ?", (e.profile, e.nom, e.prenom, e.birth_date, e.postal_code, row["id"]))
                user_id = row["id"]
                result.updated += 1
                conn.execute("DELETE FROM user_etabs WHERE user_id = ?", (user_id,))
            else:
                cursor = conn.execute(
                    "INSERT INTO users (project_id, login, profile, nom, prenom, birth_date, postal_code, password_hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (project_id, e.login, e.profile, e.nom, e.prenom, e.birth_date, e.postal_code, password))
                user_id = int(cursor.lastrowid or 0)
                result.created += 1
            ids[e.login] = user_id
            conn.executemany("INSERT INTO user_etabs (user_id, etab_id) VALUES (?, ?)",
                             [(user_id, etab_ids[u]) for u in e.uais])
        for e in entries:
            if e.profile != "Parent":
                continue
            conn.execute("DELETE FROM parent_links WHERE parent_id = ?", (ids[e.login],))
            for child in e.children:
                child_id = ids.get(child) or conn.execute(
                    "SELECT id FROM users WHERE project_id = ? AND login = ?", (project_id, child)).fetchone()["id"]
                conn.execute("INSERT OR IGNORE INTO parent_links (parent_id, child_id) VALUES (?, ?)",
                             (ids[e.login], child_id))
    return result


def load_file(conn: sqlite3.Connection, path: Path, slug: str, label: str | None = None) -> LoadResult:
    """Validate then load ``path`` into project ``slug``; raise DirectoryError on any problem."""
    project = conn.execute("SELECT id FROM projects WHERE slug = ?", (slug,)).fetchone()
    if project is None:
        raise DirectoryError([f"projet inconnu dans la base : {slug}"])
    entries = parse_file(path, conn, project["id"], label)
    return load(conn, entries, project["id"])
