"""API tokens: created by ``custseg tokens create``, stored hashed, checked in constant time.

A token looks like ``cs_<id>_<secret>``: ``id`` is 12 hex digits that name the row of the
``_api_tokens`` table, ``secret`` is 43 URL-safe characters (256 random bits). Only the
SHA-256 digest of the whole token is stored, so the table cannot give a token back; a
plain digest (no salt, no slow KDF) is enough because the secret is random, not a
password someone chose. Scopes nest: ``admin`` ⊇ ``write`` ⊇ ``read``.

Table ``_api_tokens``: ``id, name, scope, hash, created_at, revoked``.

>>> parse_token("cs_0123456789ab_secret")
('0123456789ab', 'secret')
>>> scope_allows("admin", "write"), scope_allows("read", "write")
(True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis

from custseg.exceptions import UsageError

__all__ = [
    "SCOPES",
    "TOKENS_TABLE",
    "ApiToken",
    "TokenVerifier",
    "create_token",
    "hash_token",
    "list_tokens",
    "parse_token",
    "revoke_token",
    "scope_allows",
]

log = logging.getLogger(__name__)

#: The scopes, weakest first: each includes the ones before it.
SCOPES: tuple[str, ...] = ("read", "write", "admin")
TOKENS_TABLE = "_api_tokens"

_SCHEMA = {
    "id": "string",
    "name": "string",
    "scope": "string",
    "hash": "string",
    "created_at": "timestamp('UTC')",
    "revoked": "boolean",
}
_TOKEN = re.compile(r"cs_([0-9a-f]{12})_([A-Za-z0-9_-]{20,200})")
#: Compared against when the id is unknown, so a miss takes as long as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"custseg-no-such-token").hexdigest()


@dataclass(frozen=True)
class ApiToken:
    """A token's public facts (never the secret, never the hash)."""

    id: str
    name: str
    scope: str
    created_at: datetime
    revoked: bool = False

    def allows(self, scope: str) -> bool:
        """Whether this token may call routes that need ``scope``."""
        return not self.revoked and scope_allows(self.scope, scope)

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "created_at": self.created_at.isoformat(),
            "revoked": self.revoked,
        }


def scope_allows(granted: str, needed: str) -> bool:
    """Whether a token with scope ``granted`` satisfies ``needed`` (admin ⊇ write ⊇ read)."""
    return SCOPES.index(granted) >= SCOPES.index(needed)


def hash_token(token: str) -> str:
    """The stored form of a token: the SHA-256 hex digest of its UTF-8 text."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """``(id, secret)`` of a well-formed token, or None."""
    m = _TOKEN.fullmatch(token)
    return (m.group(1), m.group(2)) if m else None


def _check_scope(scope: str) -> None:
    if scope not in SCOPES:
        raise UsageError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}.")


def _rows(con: Any) -> list[dict[str, Any]]:
    if TOKENS_TABLE not in con.list_tables():
        return []
    return con.table(TOKENS_TABLE).order_by("created_at").to_pyarrow().to_pylist()


def _public(row: dict[str, Any]) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"] or "",
        scope=row["scope"],
        created_at=row["created_at"],
        revoked=bool(row["revoked"]),
    )


def create_token(con: Any, *, scope: str, name: str | None = None) -> tuple[ApiToken, str]:
    """Create a token and store its hash.

    Parameters
    ----------
    con : ibis backend
        The workspace connection (``ws.connect()``).
    scope : {"read", "write", "admin"}
        What the token may do.
    name : str, optional
        A label for people (``"storefront"``); default ``"<scope> token"``.

    Returns
    -------
    (ApiToken, str)
        The stored facts and the token itself, which is shown once and kept nowhere.
    """
    _check_scope(scope)
    token_id = secrets.token_hex(6)
    token = f"cs_{token_id}_{secrets.token_urlsafe(32)}"
    row = {
        "id": token_id,
        "name": name or f"{scope} token",
        "scope": scope,
        "hash": hash_token(token),
        "created_at": datetime.now(UTC),
        "revoked": False,
    }
    new = ibis.memtable([row], schema=_SCHEMA)
    if TOKENS_TABLE in con.list_tables():
        con.insert(TOKENS_TABLE, new)
    else:
        con.create_table(TOKENS_TABLE, new)
    log.info("created %s token %s", scope, token_id)
    return _public(row), token


def list_tokens(con: Any) -> list[ApiToken]:
    """Every token (revoked ones too), oldest first."""
    return [_public(r) for r in _rows(con)]


def revoke_token(con: Any, token_id: str) -> ApiToken:
    """Mark a token revoked; it stops working at once (the row is kept for the record).

    Raises
    ------
    UsageError
        No token has this id.
    """
    rows = _rows(con)
    hit = [r for r in rows if r["id"] == token_id]
    if not hit:
        known = ", ".join(r["id"] for r in rows) or "none"
        raise UsageError(
            f"no token with id {token_id!r}; the ids are: {known}. `custseg tokens list` "
            "shows them."
        )
    for r in hit:
        r["revoked"] = True
    con.create_table(TOKENS_TABLE, ibis.memtable(rows, schema=_SCHEMA), overwrite=True)
    log.info("revoked token %s", token_id)
    return _public(hit[0])


class TokenVerifier:
    """Checks presented tokens against an in-memory copy of ``_api_tokens``.

    The copy is loaded by :meth:`reload` (at start-up and after every change made through
    the API): while the server runs it holds the DuckDB file's write lock, so no other
    process can change the table behind its back.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[str, ApiToken]] = {}
        self._lock = threading.Lock()

    def reload(self, con: Any) -> None:
        """Read the table again."""
        by_id = {r["id"]: (r["hash"], _public(r)) for r in _rows(con)}
        with self._lock:
            self._by_id = by_id

    def verify(self, token: str) -> ApiToken | None:
        """The token's facts when it is well-formed, known, matches and is not revoked."""
        parsed = parse_token(token)
        entry = self._by_id.get(parsed[0]) if parsed else None
        stored = entry[0] if entry else _DUMMY_HASH
        ok = hmac.compare_digest(stored, hash_token(token))
        if not (ok and entry) or entry[1].revoked:
            return None
        return entry[1]
