"""Console views of "Administration": identifiers import, identifiers list, directory.

Registered on :data:`sandbox.console.bp` (same prefix, sessions, CSRF, flash
and error pages as the services screens). Screens, addresses and messages
follow ``docs/import-screens.md``; the work is in :mod:`sandbox.identifiers`.
"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

from flask import Response, g, redirect, request

from sandbox import identifiers as ids
from sandbox import logs, refdata
from sandbox.console import (NO_RIGHTS, administered_sites, body_too_large, bp, console_view, find_etab,
                             may_administer, render, set_flash)
from sandbox.pronote import CATEGORY_BY_STEP
from sandbox.web import get_db, now, page, runtime

INTERNAL_ERROR = "Une erreur inattendue est survenue. Veuillez réessayer plus tard."


# ---------------------------------------------------------------- paths

def admin_path(uai: str, tail: str = "") -> str:
    return f"/{g.project['slug']}/etab/{uai}/admin/{tail}"


def form_path(uai: str) -> str:
    return admin_path(uai, "identifiants")


def import_path(uai: str, import_id: int, tail: str = "") -> str:
    return admin_path(uai, f"identifiants/import/{import_id}") + (f"/{tail}" if tail else "")


def step_path(uai: str, import_id: int, step: int) -> str:
    return import_path(uai, import_id, f"etape/{step}")


def directory_path(uai: str, q: str = "", profil: str = "") -> str:
    query = {k: v for k, v in (("q", q), ("profil", profil)) if v}
    return admin_path(uai, "annuaire") + (f"?{urlencode(query)}" if query else "")


# ---------------------------------------------------------------- the form

def _form_page(values: dict[str, str], errors: list[str] | None = None) -> Response:
    conn = get_db()
    running = ids.unfinished_import(conn, g.site["id"])
    return render("identifiants_form.html", values=values, errors=errors or [],
                  admin_sites=administered_sites(conn, g.session.user), running=running,
                  running_path=import_path(g.site["uai"], running["id"]) if running else "",
                  list_path=admin_path(g.site["uai"], "identifiants/liste"))


@bp.route("/etab/<uai>/admin/identifiants", methods=["GET", "POST"])
@console_view(upload=True)
def identifiants_form(uai: str) -> Response:
    """Administration > Importer les identifiants Pronote: the form; POST starts an import."""
    if request.method == "GET":
        return _form_page({"etablissement": uai, "mode": ""})
    if body_too_large():
        return _form_page({"etablissement": uai, "mode": ""}, [ids.TOO_LARGE])
    conn = get_db()
    form = request.form
    values = {"etablissement": form.get("etablissement", "").strip().upper(), "mode": form.get("mode", "")}
    errors: list[str] = []
    target: sqlite3.Row | None = None
    if not values["etablissement"]:
        errors.append(ids.ETAB_REQUIRED)
    else:
        target = find_etab(conn, values["etablissement"])
        if target is None:
            return page(404, f"Établissement inconnu : {values['etablissement']}", layout="base.html")
        if not may_administer(conn, g.session.user, target):
            return page(403, NO_RIGHTS, layout="base.html")
    if not values["mode"]:
        errors.append(ids.MODE_REQUIRED)
    elif values["mode"] not in ids.MODES:
        errors.append(ids.MODE_NOT_ALLOWED)
    upload = request.files.get("fichier")
    parsed: ids.IdentifiersFile | None = None
    if upload is None or not upload.filename:
        errors.append(ids.FILE_REQUIRED)
    else:
        data = upload.stream.read(ids.MAX_FILE_BYTES + 1)
        if len(data) > ids.MAX_FILE_BYTES:
            errors.append(ids.TOO_LARGE)
        else:
            try:
                parsed = ids.parse_file(data)
            except ids.InvalidFile as exc:
                errors.append(exc.message)
    if parsed is not None and target is not None and parsed.uai != target["uai"]:
        errors.append(ids.wrong_uai(parsed.uai, target["uai"]))
    if errors or parsed is None or target is None:
        return _form_page(values, errors)
    import_id = ids.start_import(conn, target["id"], g.session.user["id"], values["mode"], upload.filename or "",
                                 parsed, now())
    return redirect(step_path(target["uai"], import_id, 1), 303)


# ---------------------------------------------------------------- an import

def _open_import(import_id: str) -> sqlite3.Row | Response:
    """The import ``import_id`` of the current site; or the 404 page; or, when the
    import was closed, 303 to the form with "Cet import n'est plus en cours."."""
    row = ids.get_import(get_db(), int(import_id)) if import_id.isascii() and import_id.isdigit() else None
    if row is None or row["etab_id"] != g.site["id"]:
        return page(404, f"Import inconnu : {import_id}", layout="base.html")
    if row["status"] in ids.CLOSED:
        set_flash("erreur", ids.NOT_RUNNING)
        return redirect(form_path(g.site["uai"]), 303)
    return row


@bp.get("/etab/<uai>/admin/identifiants/import/<import_id>")
@console_view()
def import_status(uai: str, import_id: str) -> Response:
    """Where an import stands: 303 to its current step, or to its end page."""
    row = _open_import(import_id)
    if isinstance(row, Response):
        return row
    if row["status"] == ids.FINISHED:
        return redirect(import_path(uai, row["id"], "fin"), 303)
    return redirect(step_path(uai, row["id"], row["current_step"]), 303)


def _step_page(row: sqlite3.Row, step: int, rows: list[ids.StepRow], typed: dict[str, str] | None = None,
               errors: list[str] | None = None) -> Response:
    category = CATEGORY_BY_STEP[step]
    uai = g.site["uai"]
    reconnus = sum(1 for r in rows if r.reconnu)
    shown = [(r, (typed or {}).get(r.ident, r.matched_login or ""),
              directory_path(uai, f"{r.nom} {r.prenom}", category.profile)) for r in rows]
    return render("identifiants_etape.html", step=step, category=category, rows=shown, reconnus=reconnus,
                  non_reconnus=len(rows) - reconnus, errors=errors or [], french_date=ids.french_date,
                  action=step_path(uai, row["id"], step))


@bp.route("/etab/<uai>/admin/identifiants/import/<import_id>/etape/<int:step>", methods=["GET", "POST"])
@console_view()
def import_step(uai: str, import_id: str, step: int) -> Response:
    """One step: the matching table; POST validates (and saves) or interrupts."""
    row = _open_import(import_id)
    if isinstance(row, Response):
        return row
    return _import_step(uai, row, step)


def _import_step(uai: str, row: sqlite3.Row, step: int) -> Response:
    """Show, validate or interrupt step ``step`` of the import ``row``, if it is the current one."""
    import_id = row["id"]
    if row["status"] != ids.RUNNING or row["current_step"] != step:
        return redirect(import_path(uai, import_id), 303)
    conn = get_db()
    rows = ids.step_rows(conn, import_id, step)
    if request.method == "GET":
        return _step_page(row, step, rows)
    if request.form.get("action") == "interrompre":
        ids.interrupt(conn, import_id, now())
        set_flash("succes", ids.INTERRUPTED)
        return redirect(form_path(uai), 303)
    typed = {r.ident: request.form.get(f"compte-{r.ident}", "") for r in rows}
    problems, pairs = ids.check_step(conn, g.site["id"], CATEGORY_BY_STEP[step], rows, typed)
    if problems:
        return _step_page(row, step, rows, typed, problems)
    faults = runtime().faults
    if faults.take_import_abort(step):
        runtime().stats.count_fault("import_abort")
        logs.injected_fault(f"import_abort à l'étape {step}")
        ids.save_step(conn, row, step, pairs, now(), abort=True)
        return page(500, INTERNAL_ERROR)
    if not ids.save_step(conn, row, step, pairs, now()):
        return redirect(import_path(uai, import_id), 303)
    if step == ids.STEPS:
        return redirect(import_path(uai, import_id, "fin"), 303)
    return redirect(step_path(uai, import_id, step + 1), 303)


@bp.get("/etab/<uai>/admin/identifiants/import/<import_id>/fin")
@console_view()
def import_end(uai: str, import_id: str) -> Response:
    """"Import terminé": the bilan of the six steps."""
    row = _open_import(import_id)
    if isinstance(row, Response):
        return row
    if row["status"] != ids.FINISHED:
        return redirect(import_path(uai, row["id"]), 303)
    return render("identifiants_fin.html", bilan=ids.bilan(get_db(), row["id"]), form=form_path(uai),
                  list_path=admin_path(uai, "identifiants/liste"))


# ---------------------------------------------------------------- lists

@bp.get("/etab/<uai>/admin/identifiants/liste")
@console_view()
def identifiants_list(uai: str) -> Response:
    """The identifiers the site holds now."""
    return render("identifiants_liste.html", pairs=ids.site_identifiers(get_db(), g.site["id"]),
                  form=form_path(uai))


@bp.get("/etab/<uai>/admin/annuaire")
@console_view()
def annuaire(uai: str) -> Response:
    """Directory of the site ("Parcourir"), searched by ``q`` and ``profil``."""
    q = request.args.get("q", "")
    profil = request.args.get("profil", "")
    entries = ids.search_directory(get_db(), g.site["id"], q, profil)
    return render("annuaire.html", q=q, profil=profil, entries=entries, profiles=refdata.PROFILES,
                  french_date=ids.french_date, action=admin_path(uai, "annuaire"))
