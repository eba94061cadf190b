"""Tokens: their format, hashed storage, scopes, revocation and verification."""

from __future__ import annotations

import hashlib
import re

import pytest

from custseg.api.tokens import (
    SCOPES,
    TOKENS_TABLE,
    TokenVerifier,
    create_token,
    list_tokens,
    parse_token,
    revoke_token,
    scope_allows,
)
from custseg.exceptions import UsageError
from tests.conftest import rows


def test_token_is_stored_only_as_its_sha256(ws) -> None:
    info, token = create_token(ws.connect(), scope="write", name="crm sync")
    assert re.fullmatch(r"cs_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", token)
    assert token.split("_")[1] == info.id
    table = rows(ws, f"SELECT * FROM {TOKENS_TABLE}")
    assert len(table) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in table[0]
    secret = token[len(f"cs_{info.id}_") :]
    for value in table[0]:
        assert token not in str(value)
        assert secret not in str(value)
    assert rows(ws, f"SELECT id, name, scope, revoked FROM {TOKENS_TABLE}") == [
        (info.id, "crm sync", "write", False)
    ]


def test_two_tokens_differ(ws) -> None:
    a = create_token(ws.connect(), scope="read")[1]
    b = create_token(ws.connect(), scope="read")[1]
    assert a != b
    assert [t.name for t in list_tokens(ws.connect())] == ["read token", "read token"]


@pytest.mark.parametrize(
    ("granted", "needed", "ok"),
    [
        ("read", "read", True),
        ("read", "write", False),
        ("read", "admin", False),
        ("write", "read", True),
        ("write", "write", True),
        ("write", "admin", False),
        ("admin", "read", True),
        ("admin", "write", True),
        ("admin", "admin", True),
    ],
)
def test_scopes_nest(granted: str, needed: str, ok: bool) -> None:
    assert scope_allows(granted, needed) is ok


def test_parse_token() -> None:
    good = "cs_0123456789ab_" + "A" * 43
    assert parse_token(good) == ("0123456789ab", "A" * 43)
    for bad in ("", "cs_", "xx_0123456789ab_" + "A" * 43, "cs_0123_" + "A" * 43, good + "!"):
        assert parse_token(bad) is None


def test_verifier_accepts_only_the_exact_live_token(ws) -> None:
    con = ws.connect()
    info, token = create_token(con, scope="read")
    verifier = TokenVerifier()
    verifier.reload(con)
    assert verifier.verify(token) == info
    wrong_secret = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert verifier.verify(wrong_secret) is None
    unknown_id = "cs_" + ("0" * 12 if info.id != "0" * 12 else "1" * 12) + token[15:]
    assert verifier.verify(unknown_id) is None
    assert verifier.verify("Bearer " + token) is None

    revoked = revoke_token(con, info.id)
    assert revoked.revoked and revoked.id == info.id
    assert verifier.verify(token) == info  # not reloaded yet: the copy is the old one
    verifier.reload(con)
    assert verifier.verify(token) is None
    assert rows(ws, f"SELECT revoked FROM {TOKENS_TABLE} WHERE id = '{info.id}'") == [(True,)]


def test_bad_scope_and_unknown_id_are_usage_errors(ws) -> None:
    with pytest.raises(UsageError, match="read, write, admin"):
        create_token(ws.connect(), scope="superuser")
    with pytest.raises(UsageError, match="no token with id 'nope'"):
        revoke_token(ws.connect(), "nope")


def test_scopes_are_ordered_weakest_first() -> None:
    assert SCOPES == ("read", "write", "admin")
