"""Console services and their "Accès population" rules: validation and storage.

Pure of Flask: the views in :mod:`sandbox.console` call these with the form
data and a connection. Error messages are the screen's French text, each
naming the field by its label.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

from sandbox import db, refdata

LABELS: dict[str, str] = {
    "sso_type": "Type de SSO",
    "url": "URL",
    "xiti": "Type Xiti",
    "regroupement": "Regroupement",
    "bloc_affiche": "Afficher le bloc",
    "bloc_version": "Version",
    "pronote_cas_url": "URL CAS de PRONOTE.net",
    "barre": "Service affiché dans la barre des services",
    "intitule": "Intitulé",
    "anonyme": "Service anonyme",
    "role": "Rôle",
    "cible": "Cible",
    "etablissements": "Établissements",
    "groupes": "Groupes",
    "profile": "Profil",
    "matiere": "Matière enseignée",
    "fonction": "Fonction",
    "discipline": "Discipline de poste",
}
DUPLICATE_RULE = "Ce droit d'accès existe déjà."
URL_MAX = 2048


def required(name: str) -> str:
    return f"Le champ « {LABELS[name]} » est obligatoire."


def not_allowed(name: str) -> str:
    return f"Le champ « {LABELS[name]} » contient une valeur non autorisée."


def bad_url(name: str) -> str:
    return f"Le champ « {LABELS[name]} » doit être une adresse http(s) valide."


def is_http_url(value: str) -> bool:
    """A syntactically valid absolute http(s) URL with a host."""
    if not value or len(value) > URL_MAX or any(ch.isspace() or ord(ch) < 32 for ch in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# ------------------------------------------------------------------ services

@dataclass
class ServiceValues:
    """The fields of the "Informations générales" form, as typed."""

    sso_type: str = ""
    url: str = ""
    xiti: str = "Aucun"
    regroupement: str = ""
    bloc_affiche: bool = False
    bloc_version: str = refdata.CURRENT_PRONOTE_VERSION
    pronote_cas_url: str = ""
    barre: str = "Oui"
    intitule: str = ""
    anonyme: bool = False

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ServiceValues:
        return cls(row["sso_type"], row["url"], row["xiti"], row["regroupement"], bool(row["bloc_affiche"]),
                   row["bloc_version"], row["pronote_cas_url"], row["barre"], row["intitule"], bool(row["anonyme"]))


def _checked(form: Mapping[str, str], name: str) -> bool:
    return bool(form.get(name))


def parse_service_form(form: Mapping[str, str]) -> tuple[ServiceValues, list[str]]:
    """Read and validate the service form; return the values as typed and the errors."""
    values = ServiceValues(
        sso_type=form.get("sso_type", ""),
        url=form.get("url", "").strip(),
        xiti=form.get("xiti") or "Aucun",
        regroupement=form.get("regroupement", ""),
        bloc_affiche=_checked(form, "bloc_affiche"),
        bloc_version=form.get("bloc_version") or refdata.CURRENT_PRONOTE_VERSION,
        pronote_cas_url=form.get("pronote_cas_url", "").strip(),
        barre=form.get("barre") or "Oui",
        intitule=form.get("intitule", "").strip(),
        anonyme=_checked(form, "anonyme"),
    )
    errors: list[str] = []
    _check_choice(errors, "sso_type", values.sso_type, refdata.SSO_TYPES, mandatory=True)
    if not values.url:
        errors.append(required("url"))
    elif not is_http_url(values.url):
        errors.append(bad_url("url"))
    _check_choice(errors, "xiti", values.xiti, refdata.XITI_TYPES)
    _check_choice(errors, "regroupement", values.regroupement, refdata.REGROUPEMENTS, mandatory=True)
    _check_choice(errors, "bloc_version", values.bloc_version, refdata.PRONOTE_VERSIONS)
    if values.pronote_cas_url and not is_http_url(values.pronote_cas_url):
        errors.append(bad_url("pronote_cas_url"))
    _check_choice(errors, "barre", values.barre, refdata.BARRE_VALUES)
    if not values.intitule:
        errors.append(required("intitule"))
    elif len(values.intitule) > refdata.INTITULE_MAX:
        errors.append(f"Le champ « {LABELS['intitule']} » ne doit pas dépasser {refdata.INTITULE_MAX} caractères.")
    return values, errors


def _check_choice(errors: list[str], name: str, value: str, choices: tuple[str, ...], mandatory: bool = False) -> None:
    if not value:
        if mandatory:
            errors.append(required(name))
    elif value not in choices:
        errors.append(not_allowed(name))


def list_services(conn: sqlite3.Connection, etab_id: int) -> list[sqlite3.Row]:
    """The services of a site, internal ones first."""
    return conn.execute("SELECT * FROM services WHERE etab_id = ? ORDER BY interne DESC, id", (etab_id,)).fetchall()


def get_service(conn: sqlite3.Connection, etab_id: int, code: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM services WHERE etab_id = ? AND code = ?", (etab_id, code)).fetchone()


def _columns(values: ServiceValues) -> dict[str, object]:
    data = asdict(values)
    data["bloc_affiche"] = int(values.bloc_affiche)
    data["anonyme"] = int(values.anonyme)
    return data


def create_service(conn: sqlite3.Connection, etab_id: int, values: ServiceValues) -> str:
    """Create a service with the site's next ``USER_<n>`` code (never reused); return the code."""
    data = _columns(values)
    with db.write(conn):
        n = conn.execute("SELECT next_service_n FROM etabs WHERE id = ?", (etab_id,)).fetchone()[0]
        while conn.execute("SELECT 1 FROM services WHERE etab_id = ? AND code = ?",
                           (etab_id, f"USER_{n}")).fetchone():
            n += 1
        code = f"USER_{n}"
        conn.execute("UPDATE etabs SET next_service_n = ? WHERE id = ?", (n + 1, etab_id))
        columns = ["etab_id", "code", *data]
        conn.execute(f"INSERT INTO services ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608
                     (etab_id, code, *data.values()))
    return code


def update_service(conn: sqlite3.Connection, service_id: int, values: ServiceValues) -> None:
    data = _columns(values)
    assignments = ", ".join(f"{name} = ?" for name in data)
    with db.write(conn):
        conn.execute(f"UPDATE services SET {assignments} WHERE id = ? AND interne = 0",  # noqa: S608
                     (*data.values(), service_id))


def delete_service(conn: sqlite3.Connection, service_id: int) -> None:
    """Delete a service and its rules (cascade)."""
    with db.write(conn):
        conn.execute("DELETE FROM services WHERE id = ? AND interne = 0", (service_id,))


# ------------------------------------------------------------------ rules

@dataclass
class RuleInput:
    """The "Ajouter des accès" form, as typed."""

    role: str = refdata.ROLES[0]
    cible: str = "site"
    etablissements: list[str] = field(default_factory=list)
    groupes: list[str] = field(default_factory=list)
    profile: str = ""
    matiere: str = ""
    fonction: str = ""
    discipline: str = ""


@dataclass
class RuleContext:
    """What a rule may point to: the current site, the project's sites, the site's groups."""

    site: sqlite3.Row
    etabs_by_uai: dict[str, sqlite3.Row]
    groups_by_id: dict[str, sqlite3.Row]


def parse_rule_form(form: Mapping[str, str], getlist: list[str] | None, groups: list[str] | None,
                    context: RuleContext) -> tuple[RuleInput, list[int], list[str]]:
    """Validate the form; return the input as typed, the target ids and the errors.

    Targets are établissement ids for a custom list, group ids for a group
    list, nothing for the current site or the whole ENT.
    """
    rule = RuleInput(
        role=form.get("role", ""), cible=form.get("cible", ""),
        etablissements=[v for v in (getlist or []) if v], groupes=[v for v in (groups or []) if v],
        profile=form.get("profile", ""), matiere=form.get("matiere", ""),
        fonction=form.get("fonction", ""), discipline=form.get("discipline", ""),
    )
    errors: list[str] = []
    _check_choice(errors, "role", rule.role, refdata.ROLES, mandatory=True)
    _check_choice(errors, "cible", rule.cible, tuple(refdata.CIBLES), mandatory=True)
    targets: list[int] = []
    if rule.cible == "etablissements":
        targets = _targets(errors, "etablissements", rule.etablissements, context.etabs_by_uai,
                           "doit contenir au moins un établissement")
    elif rule.cible == "groupes":
        targets = _targets(errors, "groupes", rule.groupes, context.groups_by_id, "doit contenir au moins un groupe")
    if not rule.profile or rule.profile == refdata.PROFILE_UNDEFINED:
        errors.append(required("profile"))
    elif rule.profile not in refdata.PROFILES:
        errors.append(not_allowed("profile"))
    _check_choice(errors, "matiere", rule.matiere, tuple(refdata.MATIERES))
    _check_choice(errors, "fonction", rule.fonction, refdata.FONCTIONS)
    _check_choice(errors, "discipline", rule.discipline, refdata.DISCIPLINES)
    return rule, sorted(set(targets)), errors


def _targets(errors: list[str], name: str, values: list[str], known: Mapping[str, sqlite3.Row], empty: str) -> list[int]:
    if not values:
        label = refdata.CIBLES["etablissements" if name == "etablissements" else "groupes"]
        errors.append(f"Le champ « {LABELS[name]} » {empty} pour la cible « {label} ».")
        return []
    if any(value not in known for value in values):
        errors.append(not_allowed(name))
        return []
    return [known[value]["id"] for value in values]


def signature(rule: RuleInput, targets: list[int]) -> str:
    """Canonical text of a rule; two rules with the same signature are duplicates."""
    return "|".join([rule.role, rule.cible, ",".join(str(t) for t in sorted(targets)), rule.profile,
                     rule.matiere, rule.fonction, rule.discipline])


def add_rule(conn: sqlite3.Connection, service_id: int, rule: RuleInput, targets: list[int]) -> int | None:
    """Store the rule; return its id, or None when the same rule exists already."""
    sig = signature(rule, targets)
    with db.write(conn):
        if conn.execute("SELECT 1 FROM access_rules WHERE service_id = ? AND signature = ?",
                        (service_id, sig)).fetchone():
            return None
        cursor = conn.execute(
            "INSERT INTO access_rules (service_id, role, cible, profile, matiere, fonction, discipline, signature)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (service_id, rule.role, rule.cible, rule.profile, rule.matiere, rule.fonction, rule.discipline, sig))
        rule_id = int(cursor.lastrowid or 0)
        table = {"etablissements": ("access_rule_etabs", "etab_id"), "groupes": ("access_rule_groups", "group_id")}
        if rule.cible in table:
            name, column = table[rule.cible]
            conn.executemany(f"INSERT INTO {name} (rule_id, {column}) VALUES (?, ?)",  # noqa: S608
                             [(rule_id, t) for t in targets])
    return rule_id


def delete_rule(conn: sqlite3.Connection, service_id: int, rule_id: int) -> bool:
    """Delete one rule of the service; False when it does not exist."""
    with db.write(conn):
        cursor = conn.execute("DELETE FROM access_rules WHERE id = ? AND service_id = ?", (rule_id, service_id))
    return cursor.rowcount == 1


@dataclass
class RuleView:
    """One row of "Récapitulatif des droits d'accès"."""

    id: int
    cible_type: str
    cible_valeur: str
    profile: str
    matiere: str
    fonction: str
    discipline: str
    role: str


def list_rules(conn: sqlite3.Connection, service: sqlite3.Row, site: sqlite3.Row) -> list[RuleView]:
    rules = conn.execute("SELECT * FROM access_rules WHERE service_id = ? ORDER BY id", (service["id"],)).fetchall()
    views = []
    for rule in rules:
        if rule["cible"] == "site":
            value = site["name"]
        elif rule["cible"] == "etablissements":
            value = ", ".join(r[0] for r in conn.execute(
                "SELECT e.name FROM access_rule_etabs a JOIN etabs e ON e.id = a.etab_id WHERE a.rule_id = ?"
                " ORDER BY e.name", (rule["id"],)))
        elif rule["cible"] == "groupes":
            value = ", ".join(r[0] for r in conn.execute(
                "SELECT g.name FROM access_rule_groups a JOIN ent_groups g ON g.id = a.group_id WHERE a.rule_id = ?"
                " ORDER BY g.name", (rule["id"],)))
        else:
            value = ""
        views.append(RuleView(rule["id"], refdata.CIBLES.get(rule["cible"], rule["cible"]), value, rule["profile"],
                              rule["matiere"], rule["fonction"], rule["discipline"], rule["role"]))
    return views


# ------------------------------------------------------------ who has access

def _rule_query(rule: sqlite3.Row, site_id: int) -> tuple[str, list[object]]:
    sql = "SELECT u.id, ? FROM users u WHERE u.project_id = (SELECT project_id FROM etabs WHERE id = ?) AND u.profile = ?"
    params: list[object] = [rule["role"], site_id, rule["profile"]]
    for column in ("matiere", "fonction", "discipline"):
        if rule[column]:
            sql += f" AND u.{column} = ?"
            params.append(rule[column])
    if rule["cible"] == "site":
        sql += " AND EXISTS (SELECT 1 FROM user_etabs ue WHERE ue.user_id = u.id AND ue.etab_id = ?)"
        params.append(site_id)
    elif rule["cible"] == "etablissements":
        sql += (" AND EXISTS (SELECT 1 FROM user_etabs ue JOIN access_rule_etabs a ON a.etab_id = ue.etab_id"
                " WHERE ue.user_id = u.id AND a.rule_id = ?)")
        params.append(rule["id"])
    elif rule["cible"] == "groupes":
        sql += (" AND EXISTS (SELECT 1 FROM group_members gm JOIN access_rule_groups a ON a.group_id = gm.group_id"
                " WHERE gm.user_id = u.id AND a.rule_id = ?)")
        params.append(rule["id"])
    return sql, params


def users_with_access(conn: sqlite3.Connection, service: sqlite3.Row, site_id: int,
                      limit: int = 200) -> tuple[int, list[tuple[sqlite3.Row, list[str]]]]:
    """Users granted something by the service's rules: (total, first ``limit`` with their roles)."""
    roles: dict[int, list[str]] = {}
    for rule in conn.execute("SELECT * FROM access_rules WHERE service_id = ? ORDER BY id", (service["id"],)):
        sql, params = _rule_query(rule, site_id)
        for user_id, role in conn.execute(sql, params):
            granted = roles.setdefault(user_id, [])
            if role not in granted:
                granted.append(role)
    if not roles:
        return 0, []
    ids = list(roles)
    rows: list[sqlite3.Row] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start:start + 900]
        rows += conn.execute(f"SELECT * FROM users WHERE id IN ({', '.join('?' for _ in chunk)})", chunk).fetchall()  # noqa: S608
    rows.sort(key=lambda r: (r["nom"].lower(), r["prenom"].lower(), r["login"]))
    return len(ids), [(row, roles[row["id"]]) for row in rows[:limit]]


def user_services(conn: sqlite3.Connection, user: sqlite3.Row, etab_id: int) -> list[sqlite3.Row]:
    """Services of site ``etab_id`` the user may open: anonymous ones, or granted by a rule."""
    visible = []
    for service in list_services(conn, etab_id):
        if service["interne"] or service["anonyme"]:
            visible.append(service)
            continue
        for rule in conn.execute("SELECT * FROM access_rules WHERE service_id = ? AND role = ?",
                                 (service["id"], refdata.ROLES[0])):
            sql, params = _rule_query(rule, etab_id)
            if conn.execute(f"SELECT 1 FROM ({sql}) WHERE id = ?", (*params, user["id"])).fetchone():  # noqa: S608
                visible.append(service)
                break
    return visible
