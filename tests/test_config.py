"""custseg.config: defaults, strict validation with helpful messages, and precedence."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from custseg.config import (
    ColumnSpec,
    Config,
    CsvOptions,
    IngestConfig,
    MappingConfig,
    SourceConfig,
    load_config,
    resolve,
)
from custseg.exceptions import ConfigError

BACKENDS = ("duckdb", "pyspark", "sqlite", "postgres", "postgresql", "snowflake", "bigquery")


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "custseg.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def config_error(path: Path, **kw: object) -> str:
    with pytest.raises(ConfigError) as exc:
        resolve(path, env={}, **kw)  # type: ignore[arg-type]
    return str(exc.value)


# --------------------------------------------------------------------------- defaults


def test_defaults_without_a_file() -> None:
    cfg = resolve(None, env={})
    assert cfg.workspace.name == "custseg"
    assert cfg.workspace.backend == "duckdb://custseg.duckdb"
    assert cfg.workspace.base_currency == "USD"
    assert cfg.ingest.on_unknown_customer == "stub"
    assert cfg.ingest.future_tolerance_days == 1
    assert cfg.ingest.fx_rates == {}
    assert cfg.sources == {}
    assert cfg.mappings == {}


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_config(write_toml(tmp_path, "")) == Config()


def test_csv_option_defaults() -> None:
    o = CsvOptions()
    assert (o.delimiter, o.quote, o.escape, o.encoding, o.header, o.compression, o.skip_rows) == (
        ",",
        '"',
        None,
        "utf-8",
        True,
        "auto",
        0,
    )


def test_source_defaults(tmp_path: Path) -> None:
    cfg = load_config(
        write_toml(
            tmp_path,
            """
            [sources.shop]
            path = "exports/orders.csv"
            table = "orders"
            """,
        )
    )
    src = cfg.sources["shop"]
    assert src.path == "exports/orders.csv"
    assert src.table == "orders"
    assert (src.url, src.mapping, src.format, src.currency) == (None, None, None, None)
    assert src.timezone == "UTC"
    assert src.csv == CsvOptions()
    assert src.columns == {}


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(ValidationError):
        cfg.workspace.name = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------- errors


def test_unknown_key_names_key_line_and_close_match(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        # my shop
        [workspace]
        name = "shop"

        [sources.shop]
        path = "orders.csv"
        tabel = "orders"
        """,
    )
    msg = config_error(path)
    assert "sources.shop.tabel" in msg
    assert "line 7" in msg
    assert "Did you mean 'table'?" in msg
    assert str(path) in msg
    # and it lists the valid keys of that section
    for key in SourceConfig.model_fields:
        assert key in msg


def test_unknown_key_in_second_source_points_at_its_own_line(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [sources.a]
        path = "a.csv"
        table = "orders"

        [sources.b]
        path = "b.csv"
        tabel = "customers"
        """,
    )
    msg = config_error(path)
    assert "sources.b.tabel" in msg
    assert "line 7" in msg


def test_unknown_section_suggests_workspace(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[workspce]\nname = "demo"\n')
    msg = config_error(path)
    assert "'workspce'" in msg
    assert "line 1" in msg
    assert "Did you mean 'workspace'?" in msg


def test_unknown_csv_option_suggests_delimiter(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [sources.a]
        path = "a.csv"
        table = "orders"
        [sources.a.csv]
        delimitr = ";"
        """,
    )
    msg = config_error(path)
    assert "sources.a.csv.delimitr" in msg
    assert "line 5" in msg
    assert "Did you mean 'delimiter'?" in msg


def test_unknown_key_without_close_match_has_no_guess(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[workspace]\nfrobnicate = 1\n")
    msg = config_error(path)
    assert "workspace.frobnicate" in msg
    assert "line 2" in msg
    assert "Did you mean" not in msg
    assert "name, backend, base_currency" in msg


def test_wrong_type_names_key_line_and_value(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [workspace]
        name = "shop"

        [ingest]
        future_tolerance_days = "soon"
        """,
    )
    msg = config_error(path)
    assert "ingest.future_tolerance_days" in msg
    assert "line 5" in msg
    assert "'soon'" in msg
    assert "integer" in msg


def test_backend_must_be_a_string(tmp_path: Path) -> None:
    msg = config_error(write_toml(tmp_path, "[workspace]\nbackend = 42\n"))
    assert "workspace.backend" in msg
    assert "line 2" in msg
    assert "string" in msg
    assert "42" in msg


def test_wrong_literal_lists_the_choices(tmp_path: Path) -> None:
    msg = config_error(write_toml(tmp_path, '[ingest]\non_unknown_customer = "drop"\n'))
    assert "ingest.on_unknown_customer" in msg
    assert "'stub'" in msg and "'quarantine'" in msg
    assert "'drop'" in msg


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '# comment\n[workspace]\nbackend "duckdb://x.duckdb"\n')
    msg = config_error(path)
    assert str(path) in msg
    assert "invalid TOML" in msg
    assert "line 3" in msg


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "custseg.toml"
    path.write_bytes(b'[workspace]\nname = "caf\xe9"\n')
    msg = config_error(path)
    assert "UTF-8" in msg


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    msg = config_error(tmp_path / "nowhere" / "custseg.toml")
    assert "not found" in msg
    assert f"custseg init {tmp_path / 'nowhere'}" in msg


@pytest.mark.parametrize("url", ["mongodb://localhost:27017/db", "custseg.duckdb", "mysql://x"])
def test_bad_backend_scheme_lists_the_valid_ones(tmp_path: Path, url: str) -> None:
    msg = config_error(write_toml(tmp_path, f'[workspace]\nbackend = "{url}"\n'))
    assert "workspace.backend" in msg
    assert url in msg
    for scheme in BACKENDS:
        assert f"{scheme}://" in msg


@pytest.mark.parametrize("url", [f"{s}://somewhere" for s in BACKENDS])
def test_every_listed_backend_scheme_is_accepted(tmp_path: Path, url: str) -> None:
    cfg = load_config(write_toml(tmp_path, f'[workspace]\nbackend = "{url}"\n'))
    assert cfg.workspace.backend == url


@pytest.mark.parametrize("code", ["usd", "US", "EURO", "U$D"])
def test_base_currency_must_be_iso(tmp_path: Path, code: str) -> None:
    msg = config_error(write_toml(tmp_path, f'[workspace]\nbase_currency = "{code}"\n'))
    assert "base_currency" in msg
    assert "ISO 4217" in msg


def test_negative_future_tolerance_is_rejected(tmp_path: Path) -> None:
    msg = config_error(write_toml(tmp_path, "[ingest]\nfuture_tolerance_days = -1\n"))
    assert "future_tolerance_days" in msg


# --------------------------------------------------------------------------- fx rates


def test_fx_rates_are_read(tmp_path: Path) -> None:
    cfg = load_config(
        write_toml(tmp_path, "[ingest.fx_rates]\nEUR = 1.08\nGBP = 1.27\nJPY = 0.0067\n")
    )
    assert cfg.ingest.fx_rates == {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("EUR = 0", "rate for EUR must be > 0"),
        ("EUR = -1.08", "rate for EUR must be > 0"),
        ("eur = 1.08", "'eur'"),
        ("EURO = 1.08", "'EURO'"),
        ('EUR = "1.08x"', "EUR"),
    ],
)
def test_bad_fx_rates_are_rejected(tmp_path: Path, body: str, needle: str) -> None:
    msg = config_error(write_toml(tmp_path, f"[ingest.fx_rates]\n{body}\n"))
    assert "ingest.fx_rates" in msg
    assert needle in msg


def test_fx_rate_nan_is_rejected() -> None:
    with pytest.raises(ValidationError):
        IngestConfig(fx_rates={"EUR": float("nan")})


# --------------------------------------------------------------------------- precedence


@pytest.fixture
def shop_toml(tmp_path: Path) -> Path:
    return write_toml(
        tmp_path,
        """\
        [workspace]
        name = "shop"
        backend = "sqlite:///file.db"
        base_currency = "EUR"
        """,
    )


def test_file_overrides_defaults(shop_toml: Path) -> None:
    ws = resolve(shop_toml, env={}).workspace
    assert (ws.name, ws.backend, ws.base_currency) == ("shop", "sqlite:///file.db", "EUR")


def test_env_overrides_file(shop_toml: Path) -> None:
    env = {"CUSTSEG_BACKEND": "duckdb://env.duckdb", "CUSTSEG_BASE_CURRENCY": "GBP"}
    ws = resolve(shop_toml, env=env).workspace
    assert (ws.name, ws.backend, ws.base_currency) == ("shop", "duckdb://env.duckdb", "GBP")


def test_env_overrides_defaults_without_file() -> None:
    cfg = resolve(None, env={"CUSTSEG_BACKEND": "duckdb://env.duckdb"})
    assert cfg.workspace.backend == "duckdb://env.duckdb"
    assert cfg.workspace.base_currency == "USD"


def test_empty_env_value_is_ignored(shop_toml: Path) -> None:
    assert resolve(shop_toml, env={"CUSTSEG_BACKEND": ""}).workspace.backend == "sqlite:///file.db"


def test_overrides_beat_env_and_file(shop_toml: Path) -> None:
    cfg = resolve(
        shop_toml,
        env={"CUSTSEG_BACKEND": "duckdb://env.duckdb"},
        overrides={"workspace": {"backend": "duckdb://flag.duckdb"}},
    )
    assert cfg.workspace.backend == "duckdb://flag.duckdb"
    assert cfg.workspace.name == "shop"  # untouched keys keep the file's values
    assert cfg.workspace.base_currency == "EUR"


def test_overrides_of_another_section(shop_toml: Path) -> None:
    cfg = resolve(shop_toml, env={}, overrides={"ingest": {"on_unknown_customer": "quarantine"}})
    assert cfg.ingest.on_unknown_customer == "quarantine"
    assert cfg.workspace.backend == "sqlite:///file.db"


def test_resolve_reads_os_environ_by_default(
    shop_toml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTSEG_BACKEND", "duckdb://from-os.duckdb")
    assert resolve(shop_toml).workspace.backend == "duckdb://from-os.duckdb"
    monkeypatch.delenv("CUSTSEG_BACKEND")
    assert resolve(shop_toml).workspace.backend == "sqlite:///file.db"


def test_file_sources_survive_resolve(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [sources.erp]
        path = "erp.csv"
        table = "order_lines"
        [sources.erp.columns]
        order_id = "Beleg"
        total = { expr = '"Menge" * "Preis"' }
        """,
    )
    cfg = resolve(path, env={"CUSTSEG_BACKEND": "duckdb://x.duckdb"})
    cols = cfg.sources["erp"].columns
    assert cols["order_id"] == ColumnSpec(column="Beleg")
    assert cols["total"] == ColumnSpec(expr='"Menge" * "Preis"')


def test_invalid_override_is_rejected(shop_toml: Path) -> None:
    msg = config_error(shop_toml, overrides={"workspace": {"base_currency": "euro"}})
    assert "base_currency" in msg


def test_invalid_env_value_names_the_variable(shop_toml: Path) -> None:
    """A bad CUSTSEG_BACKEND must be blamed on the variable, not on a line of the file."""
    with pytest.raises(ConfigError) as exc:
        resolve(shop_toml, env={"CUSTSEG_BACKEND": "mongodb://x"})
    msg = str(exc.value)
    assert "mongodb" in msg
    assert "CUSTSEG_BACKEND" in msg


# --------------------------------------------------------------------------- column specs


def test_string_shorthand_is_a_column(tmp_path: Path) -> None:
    cfg = load_config(
        write_toml(
            tmp_path,
            """\
            [mappings.legacy]
            table = "orders"
            [mappings.legacy.columns]
            order_id = "OrderNo"
            city = ["Ort", "City"]
            currency = { const = "EUR" }
            ordered_at = { column = "Datum", format = "%d.%m.%Y" }
            total = { expr = '"Amount" - "Refund"' }
            """,
        )
    )
    m = cfg.mappings["legacy"]
    assert isinstance(m, MappingConfig)
    assert m.table == "orders"
    assert m.columns["order_id"] == ColumnSpec(column="OrderNo")
    assert m.columns["order_id"].alternatives == ["OrderNo"]
    assert m.columns["city"].alternatives == ["Ort", "City"]
    assert m.columns["currency"].const == "EUR"
    assert m.columns["currency"].alternatives == []
    assert (m.columns["ordered_at"].column, m.columns["ordered_at"].format) == ("Datum", "%d.%m.%Y")
    assert m.columns["total"].expr == '"Amount" - "Refund"'


def test_shorthand_in_source_orders_section() -> None:
    src = SourceConfig.model_validate(
        {"path": "x.csv", "table": "order_lines", "orders": {"customer_id": "Kunde"}}
    )
    assert src.orders["customer_id"] == ColumnSpec(column="Kunde")


@pytest.mark.parametrize(
    ("spec", "got"),
    [
        ({}, "none"),
        ({"format": "%Y"}, "none"),
        ({"column": "A", "const": 1}, "column, const"),
        ({"column": "A", "expr": "1"}, "column, expr"),
        ({"const": 1, "expr": "1"}, "const, expr"),
        ({"column": "A", "const": "x", "expr": "1"}, "column, const, expr"),
    ],
)
def test_column_spec_needs_exactly_one_of_column_const_expr(spec: dict, got: str) -> None:
    with pytest.raises(ValidationError) as exc:
        ColumnSpec(**spec)
    assert f"set exactly one of column, const or expr (got {got})" in str(exc.value)


@pytest.mark.parametrize("spec", [{"column": "A"}, {"const": 0}, {"const": False}, {"expr": "1"}])
def test_column_spec_with_one_of_them_is_valid(spec: dict) -> None:
    assert ColumnSpec(**spec).model_dump(exclude_none=True) == spec


def test_empty_expression_is_rejected() -> None:
    with pytest.raises(ValidationError, match="expr must not be empty"):
        ColumnSpec(expr="   ")


def test_column_spec_error_in_file_names_the_column_and_line(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [sources.a]
        path = "a.csv"
        table = "orders"
        [sources.a.columns]
        order_id = { column = "Id", const = "x" }
        """,
    )
    msg = config_error(path)
    assert "sources.a.columns.order_id" in msg
    assert "line 5" in msg
    assert "exactly one of column, const or expr" in msg


def test_unknown_key_inside_column_spec_suggests_column(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        """\
        [mappings.m]
        table = "orders"
        [mappings.m.columns]
        order_id = { colum = "Id" }
        """,
    )
    msg = config_error(path)
    assert "colum" in msg
    assert "Did you mean 'column'?" in msg
    assert "line 4" in msg


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('table = "orders"', "set exactly one of path (a file) or url (a database)"),
        (
            'path = "a.csv"\nurl = "sqlite:///x.db"\nquery_table = "t"\ntable = "orders"',
            "set exactly one of path (a file) or url (a database)",
        ),
        ('url = "sqlite:///x.db"\ntable = "orders"', "query_table"),
        ('path = "a.csv"\ntable = "ordrs"', "'ordrs'"),
        ('path = "a.csv"\nformat = "xlsx"', "'xlsx'"),
    ],
)
def test_bad_sources_are_rejected(tmp_path: Path, body: str, needle: str) -> None:
    msg = config_error(write_toml(tmp_path, f"[sources.s]\n{body}\n"))
    assert "sources.s" in msg
    assert needle in msg


def test_database_source_is_valid(tmp_path: Path) -> None:
    cfg = load_config(
        write_toml(
            tmp_path,
            '[sources.legacy]\nurl = "sqlite:///shop.db"\nquery_table = "customers"\n'
            'table = "customers"\n',
        )
    )
    src = cfg.sources["legacy"]
    assert (src.path, src.url, src.query_table) == (None, "sqlite:///shop.db", "customers")


def test_many_problems_are_reported_together(tmp_path: Path) -> None:
    body = "\n".join(f"bad{i} = {i}" for i in range(7))
    msg = config_error(write_toml(tmp_path, f"[workspace]\n{body}\n"))
    # the first five are spelled out, the rest counted
    assert len(re.findall(r"unknown key 'workspace\.bad\d'", msg)) == 5
    assert "and 2 more problem(s)" in msg
