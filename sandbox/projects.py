"""The ``/<slug>/`` prefix shared by a project's CAS and console blueprints."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g

from sandbox.web import get_db, page


def load_project(slug: str) -> Any:
    """The project row for ``slug``, or None."""
    return get_db().execute("SELECT * FROM projects WHERE slug = ?", (slug,)).fetchone()


def register_project_prefix(bp: Blueprint) -> None:
    """Make ``bp`` resolve ``<project_slug>`` into ``g.project`` (404 when unknown)."""

    @bp.url_value_preprocessor
    def _pull_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        slug = (values or {}).pop("project_slug", None)
        g.project_slug = slug
        g.project = load_project(slug) if slug else None

    @bp.url_defaults
    def _push_slug(_endpoint: str, values: dict[str, Any]) -> None:
        if "project_slug" not in values and g.get("project") is not None:
            values["project_slug"] = g.project["slug"]

    @bp.before_request
    def _require_project() -> Response | None:
        if g.get("project") is None:
            return page(404, f"ENT inconnu : {g.get('project_slug')}")
        return None
