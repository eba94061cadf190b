"""The REST API (``custseg serve``): FastAPI over one workspace, with token auth.

* :func:`create_app` builds the app; routers live in :mod:`custseg.api.routes`, one
  module per resource, and are joined in one place;
* :mod:`custseg.api.tokens`: ``cs_<id>_<secret>`` tokens, stored hashed, with the scopes
  ``read`` ⊆ ``write`` ⊆ ``admin``;
* :mod:`custseg.api.errors`: the one mapping of errors to problem-details JSON;
* :mod:`custseg.api.lookup`: the cache behind ``GET /customers/{id}``.

See ``docs/api.md``.
"""

from __future__ import annotations

from custseg.api.app import create_app
from custseg.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
