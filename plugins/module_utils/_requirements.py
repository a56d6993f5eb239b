"""The third-party libraries of the collection, imported here and nowhere else, guarded.

Every module of ``ent.pronote`` is an action plugin, and Ansible imports
action plugins in the controller's own process: an ``ImportError`` raised
while importing one ends the whole run with "Unexpected Exception, this is
probably a bug". So a missing library must not fail the import. Each is
imported here inside ``try``; when one is missing its names stand for a
:class:`Missing` placeholder, :data:`MISSING` records it, and
``EntAction.run`` (plugins/plugin_utils/_action.py) fails every task of the
collection with Ansible's ``missing_required_lib`` message before any code
uses a placeholder. The other hosts and tasks of the run go on.

The module_utils import the names from here (``from ..._requirements import
requests``) exactly as they would from the library. requirements.txt at the
collection's root lists the same libraries, with the versions supported.
"""
from __future__ import annotations

import traceback
from typing import Any

#: import name -> PyPI name of each library the collection imports
LIBRARIES = {"requests": "requests", "urllib3": "urllib3", "lxml": "lxml"}

#: PyPI name -> traceback of the import that failed, for each library missing here
MISSING: dict[str, str] = {}


class Missing:
    """Stands for a library (or a name in it) that could not be imported.

    Attribute access gives another placeholder, so that module-level code
    such as ``lxml.html`` in a default value still imports; calling one
    raises the ``ImportError`` the import would have raised.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Missing:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return Missing(f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise ImportError(f"{self._name}: {self._name.split('.')[0]} is not installed (see requirements.txt)")

    def __repr__(self) -> str:
        return f"<missing {self._name}>"


try:
    import requests
    import requests.adapters
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError as exc:
    MISSING[LIBRARIES.get((exc.name or "requests").partition(".")[0], "requests")] = traceback.format_exc()
    requests = Missing("requests")  # type: ignore[assignment]
    HTTPAdapter = Missing("requests.adapters.HTTPAdapter")  # type: ignore[assignment,misc]
    Retry = Missing("urllib3.util.retry.Retry")  # type: ignore[assignment,misc]

try:
    import lxml.etree
    import lxml.html
    from lxml import etree
except ImportError:
    MISSING["lxml"] = traceback.format_exc()
    lxml = Missing("lxml")  # type: ignore[assignment]
    etree = Missing("lxml.etree")  # type: ignore[assignment]

__all__ = ["HTTPAdapter", "LIBRARIES", "MISSING", "Missing", "Retry", "etree", "lxml", "requests"]
