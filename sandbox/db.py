"""SQLite storage of the sandbox: connection helpers and schema migrations.

The database lives in ``<state dir>/sandbox.db`` in WAL mode. Connections are
opened in autocommit mode (``isolation_level=None``); every write goes through
:func:`write`, an explicit ``BEGIN IMMEDIATE`` transaction, so concurrent
writers queue on the busy timeout instead of failing on a stale snapshot.

The schema grows by appending to :data:`MIGRATIONS`; ``PRAGMA user_version``
records how many were applied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    # 1: ENT directory, console services and access rules, CAS and console state.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        real_cas_url TEXT NOT NULL
    );
    CREATE TABLE etabs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        uai TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        city TEXT NOT NULL,
        postal_code TEXT NOT NULL,
        next_service_n INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX etabs_project ON etabs(project_id, uai);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        login TEXT NOT NULL COLLATE NOCASE,
        profile TEXT NOT NULL,
        nom TEXT NOT NULL,
        prenom TEXT NOT NULL,
        birth_date TEXT,
        postal_code TEXT,
        matiere TEXT,
        fonction TEXT,
        discipline TEXT,
        password_hash TEXT,
        is_admin INTEGER NOT NULL DEFAULT 0,
        admin_all_sites INTEGER NOT NULL DEFAULT 0,
        UNIQUE (project_id, login)
    );
    CREATE INDEX users_project_profile ON users(project_id, profile);
    CREATE TABLE user_etabs (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, etab_id)
    ) WITHOUT ROWID;
    CREATE INDEX user_etabs_etab ON user_etabs(etab_id, user_id);
    CREATE TABLE parent_links (
        parent_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        child_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (parent_id, child_id)
    ) WITHOUT ROWID;
    CREATE INDEX parent_links_child ON parent_links(child_id, parent_id);
    CREATE TABLE ent_groups (
        id INTEGER PRIMARY KEY,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        UNIQUE (etab_id, name)
    );
    CREATE TABLE group_members (
        group_id INTEGER NOT NULL REFERENCES ent_groups(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        PRIMARY KEY (group_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX group_members_user ON group_members(user_id, group_id);
    CREATE TABLE admin_sites (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, etab_id)
    ) WITHOUT ROWID;
    CREATE TABLE services (
        id INTEGER PRIMARY KEY,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        code TEXT NOT NULL,
        intitule TEXT NOT NULL,
        sso_type TEXT NOT NULL,
        url TEXT NOT NULL,
        xiti TEXT NOT NULL,
        regroupement TEXT NOT NULL,
        bloc_affiche INTEGER NOT NULL DEFAULT 0,
        bloc_version TEXT NOT NULL,
        pronote_cas_url TEXT NOT NULL DEFAULT '',
        barre TEXT NOT NULL DEFAULT 'Oui',
        anonyme INTEGER NOT NULL DEFAULT 0,
        interne INTEGER NOT NULL DEFAULT 0,
        UNIQUE (etab_id, code)
    );
    CREATE TABLE access_rules (
        id INTEGER PRIMARY KEY,
        service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        cible TEXT NOT NULL,
        profile TEXT NOT NULL,
        matiere TEXT NOT NULL DEFAULT '',
        fonction TEXT NOT NULL DEFAULT '',
        discipline TEXT NOT NULL DEFAULT '',
        signature TEXT NOT NULL,
        UNIQUE (service_id, signature)
    );
    CREATE TABLE access_rule_etabs (
        rule_id INTEGER NOT NULL REFERENCES access_rules(id) ON DELETE CASCADE,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        PRIMARY KEY (rule_id, etab_id)
    ) WITHOUT ROWID;
    CREATE TABLE access_rule_groups (
        rule_id INTEGER NOT NULL REFERENCES access_rules(id) ON DELETE CASCADE,
        group_id INTEGER NOT NULL REFERENCES ent_groups(id) ON DELETE CASCADE,
        PRIMARY KEY (rule_id, group_id)
    ) WITHOUT ROWID;
    CREATE TABLE login_flows (
        lt TEXT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        execution TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX login_flows_expiry ON login_flows(expires_at);
    CREATE TABLE tgts (
        id TEXT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX tgts_expiry ON tgts(expires_at);
    CREATE TABLE service_tickets (
        id TEXT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        service TEXT NOT NULL,
        from_new_login INTEGER NOT NULL,
        auth_time REAL NOT NULL,
        expires_at REAL NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX service_tickets_expiry ON service_tickets(expires_at);
    CREATE TABLE console_sessions (
        id TEXT PRIMARY KEY,
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL,
        flash_kind TEXT,
        flash_message TEXT
    );
    """,
    # 2: PRONOTE bases of the établissements, the ENT's identifiers, identifier imports.
    """
    CREATE TABLE pronote_accounts (
        id INTEGER PRIMARY KEY,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        ident TEXT NOT NULL,
        category TEXT NOT NULL,
        nom TEXT NOT NULL,
        prenom TEXT NOT NULL,
        birth_date TEXT,
        postal_code TEXT,
        classe TEXT,
        date_sortie TEXT,
        acces_espace_parents INTEGER,
        identifiant_cas TEXT,
        true_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        kind TEXT NOT NULL,
        UNIQUE (etab_id, ident)
    );
    CREATE INDEX pronote_accounts_etab ON pronote_accounts(etab_id, category, id);
    CREATE INDEX pronote_accounts_user ON pronote_accounts(true_user_id);
    CREATE TABLE pronote_children (
        responsable_id INTEGER NOT NULL REFERENCES pronote_accounts(id) ON DELETE CASCADE,
        eleve_id INTEGER NOT NULL REFERENCES pronote_accounts(id) ON DELETE CASCADE,
        PRIMARY KEY (responsable_id, eleve_id)
    ) WITHOUT ROWID;
    CREATE INDEX pronote_children_eleve ON pronote_children(eleve_id, responsable_id);
    CREATE TABLE ent_identifiers (
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        ident TEXT NOT NULL,
        PRIMARY KEY (etab_id, user_id),
        UNIQUE (etab_id, ident)
    ) WITHOUT ROWID;
    CREATE INDEX ent_identifiers_user ON ent_identifiers(user_id, etab_id);
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        mode TEXT NOT NULL,
        status TEXT NOT NULL,
        current_step INTEGER NOT NULL,
        filename TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX imports_etab ON imports(etab_id, status);
    CREATE INDEX imports_user ON imports(user_id);
    CREATE TABLE import_steps (
        import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        total INTEGER NOT NULL,
        reconnus INTEGER NOT NULL,
        lies INTEGER,
        non_lies INTEGER,
        PRIMARY KEY (import_id, step)
    ) WITHOUT ROWID;
    CREATE TABLE import_rows (
        import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        position INTEGER NOT NULL,
        ident TEXT NOT NULL,
        nom TEXT NOT NULL,
        prenom TEXT NOT NULL,
        birth_date TEXT,
        matched_user_id INTEGER,
        PRIMARY KEY (import_id, step, position)
    ) WITHOUT ROWID;
    """,
    # 3: PRONOTE.net: one base per établissement (docs/pronote-net-screens.md), its espaces,
    # the sessions of its espace pages. An existing region gets default bases: published,
    # racine "Pronote", CAS on with the project's own CAS for the sites that had a PRONOTE
    # service last year, off elsewhere (the seed draws versions and messiness on new regions).
    """
    CREATE TABLE pronote_net (
        etab_id INTEGER PRIMARY KEY REFERENCES etabs(id) ON DELETE CASCADE,
        version TEXT NOT NULL,
        published INTEGER NOT NULL DEFAULT 1,
        racine TEXT NOT NULL DEFAULT 'Pronote',
        cas_actif INTEGER NOT NULL DEFAULT 0,
        cas_project TEXT NOT NULL DEFAULT '',
        cas_url TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE pronote_net_espaces (
        etab_id INTEGER NOT NULL REFERENCES pronote_net(etab_id) ON DELETE CASCADE,
        espace TEXT NOT NULL,
        published INTEGER NOT NULL,
        delegation TEXT NOT NULL,
        PRIMARY KEY (etab_id, espace)
    ) WITHOUT ROWID;
    CREATE TABLE pronote_net_sessions (
        id TEXT PRIMARY KEY,
        etab_id INTEGER NOT NULL REFERENCES etabs(id) ON DELETE CASCADE,
        espace TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES pronote_accounts(id) ON DELETE CASCADE,
        expires_at REAL NOT NULL
    );
    CREATE INDEX pronote_net_sessions_expiry ON pronote_net_sessions(expires_at);
    INSERT INTO pronote_net (etab_id, version, cas_actif, cas_project)
        SELECT e.id, '2025.1.0', l.etab_id IS NOT NULL, CASE WHEN l.etab_id IS NULL THEN '' ELSE p.slug END
        FROM etabs e JOIN projects p ON p.id = e.project_id
        LEFT JOIN (SELECT DISTINCT etab_id FROM services WHERE url LIKE '%index-education.net/pronote%') l
            ON l.etab_id = e.id;
    INSERT INTO pronote_net_espaces (etab_id, espace, published, delegation)
        SELECT b.etab_id, s.espace, s.published, CASE WHEN b.cas_actif AND s.espace != 'commune' THEN 'CAS'
                                                       ELSE 'Aucune' END
        FROM pronote_net b CROSS JOIN (
            SELECT 'commune' AS espace, 1 AS published UNION ALL SELECT 'professeur', 1
            UNION ALL SELECT 'viescolaire', 1 UNION ALL SELECT 'direction', 1 UNION ALL SELECT 'parent', 1
            UNION ALL SELECT 'accompagnant', 0 UNION ALL SELECT 'eleve', 1 UNION ALL SELECT 'entreprise', 0
            UNION ALL SELECT 'academie', 0) s;
    """,
)

#: Tables holding seeded data (the region), in dependency order.
DATA_TABLES: tuple[str, ...] = (
    "projects", "etabs", "users", "user_etabs", "parent_links", "ent_groups", "group_members",
    "admin_sites", "services", "access_rules", "access_rule_etabs", "access_rule_groups",
    "pronote_accounts", "pronote_children", "ent_identifiers", "pronote_net", "pronote_net_espaces",
)
#: Tables holding runtime state (tickets, sessions, identifier imports).
STATE_TABLES: tuple[str, ...] = ("login_flows", "tgts", "service_tickets", "console_sessions",
                                 "imports", "import_steps", "import_rows",
                                 "pronote_net_sessions")


def connect(path: Path | str) -> sqlite3.Connection:
    """Open a connection in autocommit mode with the sandbox's pragmas."""
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one ``BEGIN IMMEDIATE`` transaction (commit or roll back)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(path: Path | str) -> int:
    """Create or upgrade the schema of the database at ``path``; return its version."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.executescript("BEGIN IMMEDIATE;" + script + f";PRAGMA user_version = {number}; COMMIT;")
        return len(MIGRATIONS)
    finally:
        conn.close()


def is_seeded(conn: sqlite3.Connection) -> bool:
    """Tell whether the database holds at least one project."""
    return conn.execute("SELECT 1 FROM projects LIMIT 1").fetchone() is not None


def clear_all(conn: sqlite3.Connection) -> None:
    """Delete every row (data and runtime state), inside the caller's transaction."""
    for table in reversed(DATA_TABLES + STATE_TABLES):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants
    conn.execute("DELETE FROM meta")


def dump_data(conn: sqlite3.Connection) -> str:
    """Return a canonical text dump of the seeded tables (for determinism checks)."""
    lines: list[str] = []
    for table in DATA_TABLES:
        lines.append(f"-- {table}")
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):  # noqa: S608
            lines.append(repr(tuple(row)))
    return "\n".join(lines) + "\n"
