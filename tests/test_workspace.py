"""custseg.workspace: finding, creating and opening a workspace."""

from __future__ import annotations

import tomllib
from pathlib import Path

import duckdb
import pytest

from custseg.config import CONFIG_FILE, Config, load_config
from custseg.exceptions import UsageError, WorkspaceError
from custseg.workspace import (
    Workspace,
    find_workspace,
    init_workspace,
    open_workspace,
    transaction,
)


def make_ws(path: Path, text: str = "") -> Path:
    """A minimal workspace folder: just a custseg.toml."""
    path.mkdir(parents=True, exist_ok=True)
    (path / CONFIG_FILE).write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Three workspaces: one for the argument, one for the environment, one as the cwd."""
    return make_ws(tmp_path / "arg"), make_ws(tmp_path / "env"), make_ws(tmp_path / "cwd")


# --------------------------------------------------------------------------- find_workspace


def test_argument_beats_env_and_cwd(
    three: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    arg, env, cwd = three
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CUSTSEG_WORKSPACE", str(env))
    assert find_workspace(arg) == arg.resolve()


def test_env_beats_cwd(three: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    _, env, cwd = three
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CUSTSEG_WORKSPACE", str(env))
    assert find_workspace() == env.resolve()


def test_cwd_is_the_last_resort(
    three: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, cwd = three
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("CUSTSEG_WORKSPACE", raising=False)
    assert find_workspace() == cwd.resolve()


def test_empty_env_value_falls_back_to_cwd(
    three: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, cwd = three
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CUSTSEG_WORKSPACE", "")
    assert find_workspace() == cwd.resolve()


def test_explicit_env_mapping_is_used_instead_of_os_environ(
    three: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, env, cwd = three
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("CUSTSEG_WORKSPACE", str(cwd))
    assert find_workspace(env={"CUSTSEG_WORKSPACE": str(env)}) == env.resolve()
    assert find_workspace(env={}) == cwd.resolve()


def test_relative_argument_is_resolved_against_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_ws(tmp_path / "shops" / "one")
    monkeypatch.chdir(tmp_path / "shops")
    found = find_workspace("one")
    assert found.is_absolute()
    assert found == (tmp_path / "shops" / "one").resolve()


@pytest.mark.parametrize(
    ("how", "label"),
    [("arg", "--workspace"), ("env", "CUSTSEG_WORKSPACE"), ("cwd", "the current folder")],
)
def test_missing_workspace_says_where_it_looked_and_suggests_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, label: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("CUSTSEG_WORKSPACE", raising=False)
    with pytest.raises(WorkspaceError) as exc:
        if how == "arg":
            find_workspace(empty)
        elif how == "env":
            find_workspace(env={"CUSTSEG_WORKSPACE": str(empty)})
        else:
            find_workspace(env={})
    msg = str(exc.value)
    assert str(empty) in msg
    assert f"(from {label})" in msg
    assert f"custseg init {empty}" in msg
    assert "custseg.toml" in msg
    assert exc.value.exit_code == 2


def test_a_folder_without_config_is_not_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "custseg.duckdb").write_bytes(b"")
    with pytest.raises(WorkspaceError):
        find_workspace(tmp_path)


def test_a_folder_named_custseg_toml_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).mkdir()
    with pytest.raises(WorkspaceError):
        find_workspace(tmp_path)


# --------------------------------------------------------------------------- init_workspace


def test_init_writes_a_commented_config_that_parses(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "new" / "ws")
    assert root == (tmp_path / "new" / "ws").resolve()
    text = (root / CONFIG_FILE).read_text(encoding="utf-8")
    comments = [ln for ln in text.splitlines() if ln.lstrip().startswith("#")]
    assert len(comments) >= 10, "the starting config explains itself"
    assert "[sources." in text  # a commented example source
    tomllib.loads(text)
    cfg = load_config(root / CONFIG_FILE)
    # every value shown is the default, except the example name
    assert cfg.model_copy(update={"workspace": Config().workspace}) == Config()
    assert cfg.workspace.backend == "duckdb://custseg.duckdb"
    assert cfg.workspace.base_currency == "USD"
    assert cfg.sources == {}


def test_init_creates_an_empty_duckdb_file(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    db = root / "custseg.duckdb"
    assert db.is_file()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchone() == (0,)
    finally:
        con.close()


def test_init_in_an_existing_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("keep me", encoding="utf-8")
    root = init_workspace(tmp_path / "ws")
    assert (root / CONFIG_FILE).is_file()
    assert (root / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    (root / CONFIG_FILE).write_text('[workspace]\nname = "mine"\n', encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        init_workspace(root)
    msg = str(exc.value)
    assert "already exists" in msg
    assert "--force" in msg
    assert exc.value.exit_code == 2
    assert (root / CONFIG_FILE).read_text(encoding="utf-8") == '[workspace]\nname = "mine"\n'


def test_init_with_force_rewrites_the_config(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    template = (root / CONFIG_FILE).read_text(encoding="utf-8")
    (root / CONFIG_FILE).write_text('[workspace]\nname = "mine"\n', encoding="utf-8")
    init_workspace(root, force=True)
    assert (root / CONFIG_FILE).read_text(encoding="utf-8") == template


def test_init_with_force_keeps_the_data(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    con = duckdb.connect(str(root / "custseg.duckdb"))
    con.execute("CREATE TABLE keep AS SELECT 42 AS x")
    con.close()
    init_workspace(root, force=True)
    con = duckdb.connect(str(root / "custseg.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT x FROM keep").fetchall() == [(42,)]
    finally:
        con.close()


# --------------------------------------------------------------------------- open_workspace


def test_open_reads_the_config(tmp_path: Path) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nname = "shop"\nbase_currency = "EUR"\n')
    ws = open_workspace(tmp_path / "ws", env={})
    assert isinstance(ws, Workspace)
    assert ws.root == (tmp_path / "ws").resolve()
    assert ws.config.workspace.name == "shop"
    assert ws.config.workspace.base_currency == "EUR"


def test_open_applies_env_and_overrides(tmp_path: Path) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nbackend = "duckdb://file.duckdb"\n')
    env = {"CUSTSEG_BACKEND": "duckdb://env.duckdb"}
    assert open_workspace(tmp_path / "ws", env=env).database_path == (
        (tmp_path / "ws").resolve() / "env.duckdb"
    )
    over = {"workspace": {"backend": "duckdb://flag.duckdb"}}
    assert open_workspace(tmp_path / "ws", env=env, overrides=over).database_path == (
        (tmp_path / "ws").resolve() / "flag.duckdb"
    )


def test_relative_duckdb_path_is_inside_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nbackend = "duckdb://data/shop.duckdb"\n')
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    ws = open_workspace(Path("..") / "ws", env={})
    expected = (tmp_path / "ws").resolve() / "data" / "shop.duckdb"
    assert ws.database_path == expected
    assert ws.backend_url == f"duckdb://{expected}"
    assert ws.is_duckdb
    (tmp_path / "ws" / "data").mkdir()
    with ws:
        ws.connect()
    assert expected.is_file()
    assert not (tmp_path / "elsewhere" / "data").exists()


def test_absolute_duckdb_path_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "shared" / "x.duckdb"
    make_ws(tmp_path / "ws", f'[workspace]\nbackend = "duckdb://{db.as_posix()}"\n')
    ws = open_workspace(tmp_path / "ws", env={})
    assert ws.database_path == db
    assert ws.backend_url == f"duckdb://{db.as_posix()}"


def test_in_memory_duckdb(tmp_path: Path) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nbackend = "duckdb://:memory:"\n')
    ws = open_workspace(tmp_path / "ws", env={})
    assert ws.backend_url == "duckdb://:memory:"
    assert ws.database_path is None
    with ws:
        assert ws.connect().raw_sql("SELECT 1").fetchall() == [(1,)]
    assert not list((tmp_path / "ws").glob("*.duckdb"))


def test_non_duckdb_backend(tmp_path: Path) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nbackend = "sqlite:///shop.db"\n')
    ws = open_workspace(tmp_path / "ws", env={})
    assert not ws.is_duckdb
    assert ws.database_path is None
    assert ws.backend_url == "sqlite:///shop.db"


def test_resolve_path_is_relative_to_the_workspace(tmp_path: Path) -> None:
    ws = open_workspace(make_ws(tmp_path / "ws"), env={})
    assert ws.resolve_path("exports/a.csv") == (tmp_path / "ws").resolve() / "exports" / "a.csv"
    assert ws.resolve_path(tmp_path / "abs.csv") == tmp_path / "abs.csv"


def test_connect_is_reused_and_close_releases_the_file(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    ws = open_workspace(root, env={})
    con = ws.connect()
    assert ws.connect() is con
    ws.close()
    # released: another writer can open the file now
    other = duckdb.connect(str(root / "custseg.duckdb"))
    other.close()
    ws.close()  # closing twice is harmless


def test_connect_sets_utc(tmp_path: Path) -> None:
    with open_workspace(init_workspace(tmp_path / "ws"), env={}) as ws:
        assert ws.connect().raw_sql("SELECT current_setting('TimeZone')").fetchall() == [("UTC",)]


def test_unopenable_backend_is_a_workspace_error(tmp_path: Path) -> None:
    make_ws(tmp_path / "ws", '[workspace]\nbackend = "duckdb://no/such/folder/x.duckdb"\n')
    ws = open_workspace(tmp_path / "ws", env={})
    with pytest.raises(WorkspaceError) as exc:
        ws.connect()
    msg = str(exc.value)
    assert "no/such/folder/x.duckdb" in msg
    assert "[workspace].backend" in msg
    assert "\n" not in msg


def test_tables_lists_the_backend_tables(tmp_path: Path) -> None:
    root = init_workspace(tmp_path / "ws")
    con = duckdb.connect(str(root / "custseg.duckdb"))
    con.execute("CREATE TABLE orders (order_id VARCHAR)")
    con.execute("CREATE TABLE customers (customer_id VARCHAR)")
    con.close()
    with open_workspace(root, env={}) as ws:
        assert ws.tables() == ["customers", "orders"]


# --------------------------------------------------------------------------- transaction


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_transaction_commits_and_rolls_back(ws: Workspace) -> None:
    con = ws.connect()
    raw = con.con
    raw.execute("CREATE TABLE t (x INTEGER)")
    with transaction(ws) as own:
        raw.execute("INSERT INTO t VALUES (1)")
        con.create_table("u", obj=con.table("t"), overwrite=True)  # Ibis writes join in
    assert own is True
    assert _rows(raw, "t") == [(1,)] and _rows(raw, "u") == [(1,)]
    with pytest.raises(RuntimeError), transaction(ws):
        raw.execute("INSERT INTO t VALUES (2)")
        con.create_table("u", obj=con.table("t"), overwrite=True)
        raise RuntimeError("stop")
    assert _rows(raw, "t") == [(1,)] and _rows(raw, "u") == [(1,)]


def test_a_nested_transaction_joins_the_outer_one(ws: Workspace) -> None:
    raw = ws.connect().con
    raw.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), transaction(raw) as outer:
        with transaction(ws) as inner:  # no second BEGIN (DuckDB refuses it)
            raw.execute("INSERT INTO t VALUES (1)")
        assert (outer, inner) == (True, False)
        assert _rows(raw, "t") == [(1,)]  # the inner block did not commit on its own
        raise RuntimeError("the outer block fails")
    assert _rows(raw, "t") == []
    # and after a nested success, one commit by the outer block
    with transaction(raw), transaction(raw):
        raw.execute("INSERT INTO t VALUES (2)")
    assert _rows(raw, "t") == [(2,)]


def test_transaction_is_a_no_op_without_duckdb() -> None:
    class NotDuckDB:
        name = "pyspark"

    with transaction(NotDuckDB()) as own:
        pass
    assert own is False
