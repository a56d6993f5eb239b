"""Deterministic demo region: projects, établissements, ENT directory, services.

Everything random comes from one ``random.Random(seed)``: the same options
give byte-identical data (see :func:`sandbox.db.dump_data`). Iteration is
over lists and dicts only (never sets of strings, whose order varies between
processes).

The region is built as a rentrée: every site has the internal services;
some sites carry a PRONOTE service left from last year, wrong in the ways the
FAQ describes, the others have none. Last come the PRONOTE bases of the
établissements (:mod:`sandbox.pronote_seed`), drawn after everything else so
that they never change the établissements, logins or services of a seed.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass, field

from sandbox import db, refdata
from sandbox.names import LoginAllocator
from sandbox.pronote_net_seed import PronoteNetSummary, build_bases, rows as pronote_net_rows
from sandbox.pronote_seed import PronoteBuilder, PronoteSummary
from sandbox.security import DEMO_PASSWORD, hash_password
from sandbox.uai import make_uai

DEFAULT_SEED = 42
DEFAULT_ETABS = 6
DEFAULT_PROJECTS: tuple[str, ...] = ("mbn", "occitanie")

#: People per établissement at scale 1.
BASE_SIZES: dict[str, int] = {"Elève": 30, "Enseignant": 10, "Personnel": 4, "Maître de stage": 1, "Inspecteur": 1}

#: Defects a PRONOTE service left from last year may have (FAQ).
DEFECTS: tuple[str, ...] = ("version", "sso", "anonyme", "cas_url", "regle")
DEFECT_LABELS: dict[str, str] = {
    "version": "ancienne version du bloc",
    "sso": "Type de SSO « Pas de SSO ou SSO Standard »",
    "anonyme": "« Service anonyme » coché",
    "cas_url": "« URL CAS de PRONOTE.net » renseignée",
    "regle": "règle d'accès Parent absente",
}
DEMO_PROFILES: tuple[tuple[str, str], ...] = (
    ("demo.eleve", "Elève"),
    ("demo.parent", "Parent"),
    ("demo.enseignant", "Enseignant"),
    ("demo.personnel", "Personnel"),
    ("demo.maitre-de-stage", "Maître de stage"),
    ("demo.inspecteur", "Inspecteur"),
)
#: Fixed timestamp-free identity of the demo people (prénom, nom).
DEMO_NAMES: dict[str, tuple[str, str]] = {
    "demo.eleve": ("Zoé", "Démo-Élève"),
    "demo.parent": ("Hélène", "Démo-Élève"),
    "demo.enseignant": ("François", "Démo-Enseignant"),
    "demo.personnel": ("Maëlle", "Démo-Personnel"),
    "demo.maitre-de-stage": ("Joël", "Démo-Stage"),
    "demo.inspecteur": ("Anne-Laure", "Démo-Inspection"),
}


class SeedError(Exception):
    """The seed cannot run with these options or on this database."""


@dataclass
class SeedOptions:
    """What to build."""

    seed: int = DEFAULT_SEED
    etabs: int = DEFAULT_ETABS
    projects: tuple[str, ...] = DEFAULT_PROJECTS
    scale: float = 1.0


@dataclass
class EtabSummary:
    uai: str
    name: str
    project: str
    pronote: str


@dataclass
class SeedSummary:
    """What was built, for the command's output."""

    projects: list[tuple[str, str]] = field(default_factory=list)
    etabs: list[EtabSummary] = field(default_factory=list)
    profiles: dict[str, int] = field(default_factory=dict)
    admins: list[tuple[str, str, str]] = field(default_factory=list)
    demo_logins: list[tuple[str, str, str]] = field(default_factory=list)
    pronote: PronoteSummary = field(default_factory=PronoteSummary)
    pronote_net: PronoteNetSummary = field(default_factory=PronoteNetSummary)

    def render(self) -> str:
        """Human-readable summary printed by ``python -m sandbox seed``."""
        lines = ["Projets ENT :"]
        lines += [f"  {slug:<10} {name}" for slug, name in self.projects]
        lines.append(f"Établissements ({len(self.etabs)}) :")
        lines += [f"  {e.uai}  {e.project:<10} {e.name} — PRONOTE : {e.pronote}" for e in self.etabs]
        lines.append("Annuaire :")
        lines += [f"  {profile:<16} {count}" for profile, count in self.profiles.items()]
        lines.append(f"Administrateurs (mot de passe {DEMO_PASSWORD}) :")
        lines += [f"  {project:<10} {login:<22} {scope}" for project, login, scope in self.admins]
        lines.append(f"Comptes de démonstration (mot de passe {DEMO_PASSWORD}) :")
        lines += [f"  {project:<10} {login:<22} {profile}" for project, login, profile in self.demo_logins]
        lines += self.pronote.render()
        lines += self.pronote_net.render()
        return "\n".join(lines)


@dataclass
class _Person:
    id: int
    project_id: int
    login: str
    profile: str
    nom: str
    prenom: str
    birth_date: str | None = None
    postal_code: str | None = None
    matiere: str | None = None
    fonction: str | None = None
    discipline: str | None = None
    is_admin: int = 0
    admin_all_sites: int = 0
    etabs: list[int] = field(default_factory=list)


@dataclass
class _Etab:
    id: int
    project_id: int
    slug: str
    uai: str
    name: str
    kind: str
    city: str
    postal_code: str
    dept: str


class _Builder:
    """Accumulates rows in memory, then writes them in one transaction."""

    def __init__(self, opts: SeedOptions) -> None:
        self.opts = opts
        self.rng = random.Random(opts.seed)
        self.people: list[_Person] = []
        self.etabs: list[_Etab] = []
        self.parent_links: list[tuple[int, int]] = []
        self.groups: list[tuple[int, int, str]] = []
        self.group_members: list[tuple[int, int]] = []
        self.admin_sites: list[tuple[int, int]] = []
        self.services: list[dict[str, object]] = []
        self.rules: list[tuple[int, int, str, str, str, str]] = []
        self.next_service_n: dict[int, int] = {}
        self.allocators: dict[int, LoginAllocator] = {}
        self.summary = SeedSummary()
        self._uais: dict[str, None] = {}
        self.parents_by_etab: dict[int, list[_Person]] = {}
        self.password_salt = b""
        self.pronote: PronoteBuilder | None = None

    # ------------------------------------------------------------- helpers

    def _size(self, profile: str) -> int:
        return max(1, round(BASE_SIZES[profile] * self.opts.scale))

    def _person(self, project_id: int, profile: str, prenom: str, nom: str, *, login: str | None = None,
                **extra: object) -> _Person:
        allocator = self.allocators[project_id]
        login = allocator.take(login) if login else allocator.allocate(prenom, nom)
        person = _Person(len(self.people) + 1, project_id, login, profile, nom, prenom, **extra)  # type: ignore[arg-type]
        self.people.append(person)
        return person

    def _birth_date(self, first_year: int, last_year: int) -> str:
        start = dt.date(first_year, 1, 1).toordinal()
        end = dt.date(last_year, 12, 31).toordinal()
        return dt.date.fromordinal(self.rng.randint(start, end)).isoformat()

    def _postal_code(self, etab: _Etab) -> str:
        return f"{etab.dept[1:]}{self.rng.randrange(0, 100) * 10:03d}"

    def _adult_name(self) -> tuple[str, str]:
        return self.rng.choice(refdata.ADULT_FIRST_NAMES), self.rng.choice(refdata.LAST_NAMES)

    # ------------------------------------------------------------ projects

    def build(self) -> None:
        infos = [refdata.PROJECTS_BY_SLUG[slug] for slug in self.opts.projects]
        for number, info in enumerate(infos, start=1):
            self.allocators[number] = LoginAllocator()
            self.summary.projects.append((info.slug, info.name))
        etabs_by_project: dict[int, list[_Etab]] = {n: [] for n in range(1, len(infos) + 1)}
        for index in range(self.opts.etabs):
            project_id = index % len(infos) + 1
            etab = self._etab(project_id, infos[project_id - 1], len(etabs_by_project[project_id]))
            etabs_by_project[project_id].append(etab)
        for project_id, etabs in etabs_by_project.items():
            for position, etab in enumerate(etabs):
                previous = etabs[position - 1] if position else None
                self._directory(etab, previous)
                self._services(etab, position)
            self._admins(project_id, infos[project_id - 1].slug, etabs)
            if etabs:
                self._demo_accounts(project_id, infos[project_id - 1].slug, etabs[0])
        for profile in refdata.PROFILES:
            self.summary.profiles[profile] = sum(1 for p in self.people if p.profile == profile)
        # Drawn here, where write() used to draw it: everything above keeps its draws.
        self.password_salt = self.rng.randbytes(16)
        # PRONOTE bases come last on the stream (they may respell some ENT names).
        self.pronote = PronoteBuilder(self)
        self.pronote.build()
        self.summary.pronote = self.pronote.summary
        # PRONOTE.net bases: a random stream of their own, nothing above moves.
        self.summary.pronote_net = build_bases(self)

    def _etab(self, project_id: int, info: refdata.ProjectInfo, position: int) -> _Etab:
        dept = info.departements[0] if position == 0 else self.rng.choice(info.departements)
        while True:
            uai = make_uai(f"{dept}{self.rng.randrange(0, 10000):04d}")
            if uai not in self._uais:
                break
        self._uais[uai] = None
        kind = self.rng.choices([k for k, _ in refdata.ETAB_KINDS], [w for _, w in refdata.ETAB_KINDS])[0]
        city = self.rng.choice(refdata.CITIES.get(dept, refdata.DEFAULT_CITIES))
        taken = {e.name for e in self.etabs if e.project_id == project_id}
        name = f"{kind} {self.rng.choice(refdata.ETAB_PATRONS)}"
        if name in taken:
            name = f"{name} - {city}"
        suffix = 2
        base = name
        while name in taken:
            name, suffix = f"{base} {suffix}", suffix + 1
        etab = _Etab(len(self.etabs) + 1, project_id, info.slug, uai, name, kind, city, "", dept)
        etab.postal_code = self._postal_code(etab)
        self.etabs.append(etab)
        self.next_service_n[etab.id] = 0
        self.summary.etabs.append(EtabSummary(uai, name, info.slug, "aucun service"))
        return etab

    # ----------------------------------------------------------- directory

    def _directory(self, etab: _Etab, previous: _Etab | None) -> None:
        rng = self.rng
        classes = refdata.CLASSES[etab.kind]
        group_ids = {}
        for name in classes + refdata.EXTRA_GROUPS:
            group_id = len(self.groups) + 1
            self.groups.append((group_id, etab.id, name))
            group_ids[name] = group_id
        years = refdata.PUPIL_BIRTH_YEARS[etab.kind]
        pupils: list[_Person] = []
        parents_of_family: list[_Person] = []
        for index in range(self._size("Elève")):
            if index and rng.random() < 0.1:  # sibling of the previous pupil
                nom = pupils[-1].nom
            elif index and rng.random() < 0.04:  # homonym of an earlier pupil
                other = rng.choice(pupils)
                pupil = self._person(etab.project_id, "Elève", other.prenom, other.nom,
                                     birth_date=self._birth_date(*years), postal_code=self._postal_code(etab),
                                     etabs=[etab.id])
                pupils.append(pupil)
                parents_of_family = self._family(etab, pupil, previous, None)
                continue
            else:
                nom, parents_of_family = rng.choice(refdata.LAST_NAMES), []
            pupil = self._person(etab.project_id, "Elève", rng.choice(refdata.CHILD_FIRST_NAMES), nom,
                                 birth_date=self._birth_date(*years), postal_code=self._postal_code(etab),
                                 etabs=[etab.id])
            pupils.append(pupil)
            parents_of_family = self._family(etab, pupil, previous, parents_of_family or None)
        for index, pupil in enumerate(pupils):
            self.group_members.append((group_ids[classes[index % len(classes)]], pupil.id))
        for pupil in pupils[: len(classes)]:
            self.group_members.append((group_ids["Délégués des élèves"], pupil.id))
        teachers = []
        matieres = list(refdata.MATIERES)
        for index in range(self._size("Enseignant")):
            prenom, nom = self._adult_name()
            matiere = matieres[(etab.id + index) % len(matieres)]
            etabs = [etab.id] + ([previous.id] if previous and rng.random() < 0.15 else [])
            teachers.append(self._person(etab.project_id, "Enseignant", prenom, nom, birth_date=self._birth_date(1962, 1998),
                                         postal_code=self._postal_code(etab), matiere=matiere,
                                         fonction="Enseignement", discipline=refdata.MATIERES[matiere], etabs=etabs))
        for teacher in teachers[: len(classes)]:
            self.group_members.append((group_ids["Professeurs principaux"], teacher.id))
        for index in range(self._size("Personnel")):
            prenom, nom = self._adult_name()
            fonction = refdata.STAFF_FONCTIONS[index % len(refdata.STAFF_FONCTIONS)]
            staff = self._person(etab.project_id, "Personnel", prenom, nom, birth_date=self._birth_date(1960, 1998),
                                 postal_code=self._postal_code(etab), fonction=fonction, etabs=[etab.id])
            if fonction in ("Direction", "Éducation"):
                self.group_members.append((group_ids["Équipe de direction"], staff.id))
        for _ in range(self._size("Maître de stage")):
            prenom, nom = self._adult_name()
            self._person(etab.project_id, "Maître de stage", prenom, nom, etabs=[etab.id])
        for _ in range(self._size("Inspecteur")):
            prenom, nom = self._adult_name()
            etabs = [etab.id] + ([previous.id] if previous and rng.random() < 0.5 else [])
            self._person(etab.project_id, "Inspecteur", prenom, nom, birth_date=self._birth_date(1960, 1985),
                         fonction="Éducation", etabs=etabs)

    def _family(self, etab: _Etab, pupil: _Person, previous: _Etab | None,
                parents: list[_Person] | None) -> list[_Person]:
        """Link ``pupil`` to parents: the given ones (siblings), a family from the
        previous site (children in two schools), or new parents."""
        rng = self.rng
        if parents is None and previous is not None and rng.random() < 0.06:
            candidates = self.parents_by_etab.get(previous.id, [])
            if candidates:
                parents = [rng.choice(candidates)]
        if parents is None:
            parents = []
            for index in range(2 if rng.random() < 0.6 else 1):
                nom = pupil.nom if index == 0 or rng.random() < 0.6 else rng.choice(refdata.LAST_NAMES)
                parents.append(self._person(
                    etab.project_id, "Parent", rng.choice(refdata.ADULT_FIRST_NAMES), nom,
                    birth_date=self._birth_date(1965, 1992) if rng.random() < 0.12 else None,
                    postal_code=pupil.postal_code, etabs=[]))
        for parent in parents:
            if etab.id not in parent.etabs:
                parent.etabs.append(etab.id)
                self.parents_by_etab.setdefault(etab.id, []).append(parent)
            self.parent_links.append((parent.id, pupil.id))
        return parents

    # ------------------------------------------------------------ services

    def _service(self, etab: _Etab, code: str | None, intitule: str, **values: object) -> int:
        if code is None:
            code = f"USER_{self.next_service_n[etab.id]}"
            self.next_service_n[etab.id] += 1
        service_id = len(self.services) + 1
        row: dict[str, object] = {
            "id": service_id, "etab_id": etab.id, "code": code, "intitule": intitule,
            "sso_type": refdata.SSO_STANDARD, "url": "", "xiti": "Aucun", "regroupement": "Outils",
            "bloc_affiche": 0, "bloc_version": refdata.CURRENT_PRONOTE_VERSION, "pronote_cas_url": "",
            "barre": "Oui", "anonyme": 0, "interne": 0,
        }
        row.update(values)
        self.services.append(row)
        return service_id

    def _services(self, etab: _Etab, position: int) -> None:
        rng = self.rng
        for code, intitule in refdata.INTERNAL_SERVICES:
            self._service(etab, code, intitule, url=f"/{etab.slug}/etab/{etab.uai}/{code.lower()}", interne=1)
        if rng.random() < 0.3:
            self._service(etab, None, "e-sidoc", url=f"https://{etab.uai.lower()}.esidoc.fr/",
                          xiti="Ressources numériques", regroupement="Ressources")
        has_pronote = position == 0 or (position != 1 and rng.random() < 0.65)
        if not has_pronote:
            return
        defects = sorted(rng.sample(DEFECTS, rng.randint(1, 3)), key=DEFECTS.index)
        old_version = rng.choice(refdata.PRONOTE_VERSIONS[:-1])
        info = refdata.PROJECTS_BY_SLUG[etab.slug]
        service_id = self._service(
            etab, None, rng.choice(("pronote", "PRONOTE", "Pronote.net")),
            sso_type=refdata.SSO_STANDARD if "sso" in defects else refdata.SSO_PRONOTE,
            url=f"https://{etab.uai}.index-education.net/pronote/",
            xiti="Services de vie scolaire", regroupement="Scolarité", bloc_affiche=1,
            bloc_version=old_version if "version" in defects else refdata.CURRENT_PRONOTE_VERSION,
            pronote_cas_url=info.real_cas_url if "cas_url" in defects else "",
            anonyme=1 if "anonyme" in defects else 0,
        )
        for profile in ("Elève", "Parent", "Enseignant", "Personnel"):
            if profile == "Parent" and "regle" in defects:
                continue
            self.rules.append((service_id, etab.id, "Accès au service", "site", profile, ""))
        label = ", ".join(DEFECT_LABELS[d] for d in defects)
        self.summary.etabs[etab.id - 1].pronote = f"service de l'an dernier ({label})"

    # ------------------------------------------------------ admins and demo

    def _admins(self, project_id: int, slug: str, etabs: list[_Etab]) -> None:
        admin = self._person(project_id, "Personnel", "Administrateur", "ENT", login=f"admin.{slug}",
                             fonction="Administrateur ENT", is_admin=1, admin_all_sites=1, etabs=[])
        self.summary.admins.append((slug, admin.login, "tous les sites du projet"))
        if etabs:
            site = etabs[0]
            local = self._person(project_id, "Personnel", "Administrateur", f"Site {site.uai}",
                                 login=f"admin.{site.uai.lower()}", fonction="Administrateur ENT",
                                 is_admin=1, etabs=[site.id])
            self.admin_sites.append((local.id, site.id))
            self.summary.admins.append((slug, local.login, f"le site {site.uai} seulement"))

    def _demo_accounts(self, project_id: int, slug: str, etab: _Etab) -> None:
        people: dict[str, _Person] = {}
        for login, profile in DEMO_PROFILES:
            prenom, nom = DEMO_NAMES[login]
            extra: dict[str, object] = {}
            if profile == "Elève":
                extra = {"birth_date": "2013-05-17", "postal_code": etab.postal_code}
            elif profile == "Enseignant":
                extra = {"birth_date": "1984-09-02", "matiere": "Mathématiques", "fonction": "Enseignement",
                         "discipline": refdata.MATIERES["Mathématiques"]}
            elif profile == "Personnel":
                extra = {"birth_date": "1979-03-21", "fonction": "Éducation"}
            people[login] = self._person(project_id, profile, prenom, nom, login=login, etabs=[etab.id], **extra)
            self.summary.demo_logins.append((slug, login, profile))
        self.parent_links.append((people["demo.parent"].id, people["demo.eleve"].id))
        first_class = next(g for g in self.groups if g[1] == etab.id)
        self.group_members.append((first_class[0], people["demo.eleve"].id))

    # --------------------------------------------------------------- write

    def write(self, conn: sqlite3.Connection) -> None:
        password = hash_password(DEMO_PASSWORD, salt=self.password_salt)
        infos = [refdata.PROJECTS_BY_SLUG[slug] for slug in self.opts.projects]
        conn.executemany("INSERT INTO projects (id, slug, name, real_cas_url) VALUES (?, ?, ?, ?)",
                         [(n, i.slug, i.name, i.real_cas_url) for n, i in enumerate(infos, start=1)])
        conn.executemany(
            "INSERT INTO etabs (id, project_id, uai, name, kind, city, postal_code, next_service_n)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.id, e.project_id, e.uai, e.name, e.kind, e.city, e.postal_code, self.next_service_n[e.id])
             for e in self.etabs])
        conn.executemany(
            "INSERT INTO users (id, project_id, login, profile, nom, prenom, birth_date, postal_code, matiere,"
            " fonction, discipline, password_hash, is_admin, admin_all_sites)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(p.id, p.project_id, p.login, p.profile, p.nom, p.prenom, p.birth_date, p.postal_code, p.matiere,
              p.fonction, p.discipline, password, p.is_admin, p.admin_all_sites) for p in self.people])
        conn.executemany("INSERT INTO user_etabs (user_id, etab_id) VALUES (?, ?)",
                         [(p.id, e) for p in self.people for e in p.etabs])
        conn.executemany("INSERT OR IGNORE INTO parent_links (parent_id, child_id) VALUES (?, ?)", self.parent_links)
        conn.executemany("INSERT INTO ent_groups (id, etab_id, name) VALUES (?, ?, ?)", self.groups)
        conn.executemany("INSERT OR IGNORE INTO group_members (group_id, user_id) VALUES (?, ?)", self.group_members)
        conn.executemany("INSERT INTO admin_sites (user_id, etab_id) VALUES (?, ?)", self.admin_sites)
        columns = list(self.services[0]) if self.services else []
        if columns:
            conn.executemany(
                f"INSERT INTO services ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",  # noqa: S608
                [tuple(s[c] for c in columns) for s in self.services])
        for rule_id, (service_id, etab_id, role, cible, profile, _) in enumerate(self.rules, start=1):
            signature = f"{role}|{cible}||{profile}|||"
            conn.execute(
                "INSERT INTO access_rules (id, service_id, role, cible, profile, signature) VALUES (?, ?, ?, ?, ?, ?)",
                (rule_id, service_id, role, cible, profile, signature))
        if self.pronote is not None:
            conn.executemany(
                "INSERT INTO pronote_accounts (id, etab_id, ident, category, nom, prenom, birth_date, postal_code,"
                " classe, date_sortie, acces_espace_parents, identifiant_cas, true_user_id, kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.row() for a in self.pronote.accounts))
            conn.executemany("INSERT INTO pronote_children (responsable_id, eleve_id) VALUES (?, ?)",
                             self.pronote.children)
            conn.executemany("INSERT INTO ent_identifiers (etab_id, user_id, ident) VALUES (?, ?, ?)",
                             self.pronote.pairs)
        bases, espaces = pronote_net_rows(self.summary.pronote_net)
        conn.executemany("INSERT INTO pronote_net (etab_id, version, published, racine, cas_actif, cas_project,"
                         " cas_url) VALUES (?, ?, ?, ?, ?, ?, ?)", bases)
        conn.executemany("INSERT INTO pronote_net_espaces (etab_id, espace, published, delegation)"
                         " VALUES (?, ?, ?, ?)", espaces)
        conn.execute("INSERT INTO meta (key, value) VALUES ('seed', ?)",
                     (f"seed={self.opts.seed} etabs={self.opts.etabs} projects={','.join(self.opts.projects)}"
                      f" scale={self.opts.scale}",))


def validate_options(opts: SeedOptions) -> None:
    """Raise SeedError when the options cannot build a region."""
    unknown = [slug for slug in opts.projects if slug not in refdata.PROJECTS_BY_SLUG]
    if unknown:
        known = ", ".join(p.slug for p in refdata.PROJECTS)
        raise SeedError(f"projet(s) inconnu(s) : {', '.join(unknown)} (connus : {known})")
    if not opts.projects or len(set(opts.projects)) != len(opts.projects):
        raise SeedError("la liste des projets est vide ou contient des doublons")
    if not 1 <= opts.etabs <= 2000:
        raise SeedError("--etabs doit être entre 1 et 2000")
    if not 0.05 <= opts.scale <= 100:
        raise SeedError("--scale doit être entre 0.05 et 100")


def seed_database(conn: sqlite3.Connection, opts: SeedOptions, reset: bool = False) -> SeedSummary:
    """Build the region described by ``opts`` into ``conn`` (one transaction)."""
    validate_options(opts)
    builder = _Builder(opts)
    builder.build()
    with db.write(conn):
        if db.is_seeded(conn):
            if not reset:
                raise SeedError("la base contient déjà une région ; relancez avec --reset pour la remplacer")
            db.clear_all(conn)
        builder.write(conn)
    return builder.summary
