"""Parquet output: the Arrow schema of every file and a chunk-by-chunk writer."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from custseg.synth._arrow import TS_TYPE

__all__ = ["SCHEMAS", "PATHS", "DICT_COLUMNS", "StoreWriter"]

_S, _F, _I, _B = pa.string(), pa.float64(), pa.int64(), pa.bool_()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, t) for name, t in cols])


#: Arrow schema of each output file. Column names are the canonical ones of
#: :mod:`custseg.schema` (without the system columns); in ``orders``, ``ordered_at`` is an
#: ISO 8601 string and ``currency`` holds the original currency (no ``fx_rate``).
SCHEMAS: dict[str, pa.Schema] = {
    "customers": _schema(
        ("customer_id", _S), ("email", _S), ("phone", _S), ("first_name", _S), ("last_name", _S),
        ("created_at", TS_TYPE), ("updated_at", TS_TYPE), ("birth_date", pa.date32()),
        ("gender", _S), ("income_band", _S), ("education", _S), ("marital_status", _S),
        ("household", _S), ("occupation", _S), ("language", _S), ("country", _S), ("region", _S),
        ("city", _S), ("postal_code", _S), ("latitude", _F), ("longitude", _F),
        ("account_id", _S), ("tags", _S), ("accepts_email_marketing", _B),
        ("accepts_sms_marketing", _B),
    ),
    "accounts": _schema(
        ("account_id", _S), ("company_name", _S), ("industry", _S), ("employee_band", _S),
        ("tier", _S),
    ),
    "orders": _schema(
        ("order_id", _S), ("customer_id", _S), ("email", _S), ("ordered_at", _S),
        ("currency", _S), ("subtotal", _F), ("discount", _F), ("shipping", _F), ("tax", _F),
        ("total", _F), ("refunded", _F), ("status", _S), ("channel", _S), ("device", _S),
        ("ship_country", _S), ("ship_region", _S), ("ship_city", _S), ("ship_postal_code", _S),
        ("shipping_method", _S), ("items_count", _I), ("weight_kg", _F),
    ),
    "order_lines": _schema(
        ("order_id", _S), ("line_no", _I), ("sku", _S), ("product_name", _S), ("category", _S),
        ("brand", _S), ("quantity", _I), ("unit_price", _F), ("discount", _F),
        ("returned_qty", _I),
    ),
    "events": _schema(
        ("event_id", _S), ("customer_id", _S), ("anonymous_id", _S), ("ts", TS_TYPE),
        ("type", _S), ("device", _S), ("os", _S), ("browser", _S), ("source", _S),
        ("medium", _S), ("product_id", _S), ("url", _S),
    ),
    "attributes": _schema(
        ("customer_id", _S), ("key", _S), ("value", _S), ("source", _S),
        ("observed_at", TS_TYPE),
    ),
    "campaigns": _schema(
        ("campaign_id", _S), ("name", _S), ("channel", _S), ("started_at", TS_TYPE),
        ("description", _S),
    ),
    "campaign_exposures": _schema(
        ("campaign_id", _S), ("customer_id", _S), ("arm", _S), ("sent_at", TS_TYPE),
    ),
    "campaign_outcomes": _schema(
        ("campaign_id", _S), ("customer_id", _S), ("converted", _B), ("revenue", _F),
        ("observed_at", TS_TYPE),
    ),
    "products": _schema(
        ("sku", _S), ("product_name", _S), ("category", _S), ("brand", _S), ("price", _F),
        ("launched_at", TS_TYPE),
    ),
    "truth_personas": _schema(("customer_id", _S), ("persona", _S)),
}  # fmt: skip

#: Low-cardinality string columns, written dictionary-encoded (they read back as strings).
DICT_COLUMNS: dict[str, frozenset[str]] = {
    "orders": frozenset({"currency", "status", "channel", "device", "ship_country",
                         "ship_region", "ship_city", "shipping_method"}),
    "order_lines": frozenset({"sku", "product_name", "category", "brand"}),
    "events": frozenset({"customer_id", "type", "device", "os", "browser", "source", "medium",
                         "product_id", "url"}),
    "attributes": frozenset({"key", "value", "source"}),
    "campaign_exposures": frozenset({"campaign_id", "arm"}),
    "campaign_outcomes": frozenset({"campaign_id"}),
    "truth_personas": frozenset({"persona"}),
}  # fmt: skip
_DICT = pa.dictionary(pa.int32(), pa.string())
#: Further columns worth Parquet dictionary encoding (few distinct values); unique ids and
#: free text are written plain, which is faster.
_PARQUET_DICT: dict[str, frozenset[str]] = {
    "customers": frozenset({"first_name", "last_name", "gender", "income_band", "education",
                            "marital_status", "household", "occupation", "language", "country",
                            "region", "city", "tags"}),
    "accounts": frozenset({"industry", "employee_band", "tier"}),
    "products": frozenset({"category", "brand"}),
    "campaigns": frozenset(),
}  # fmt: skip


def _write_schema(name: str) -> pa.Schema:
    cols = DICT_COLUMNS.get(name, frozenset())
    return pa.schema([pa.field(f.name, _DICT if f.name in cols else f.type) for f in SCHEMAS[name]])


#: Path of each file, relative to the output directory.
PATHS: dict[str, str] = {name: f"{name}.parquet" for name in SCHEMAS}
PATHS["truth_personas"] = "truth/personas.parquet"


class StoreWriter:
    """Append tables chunk by chunk to one Parquet file each (bounded memory).

    Parameters
    ----------
    out_dir
        Output directory (created if needed).
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.rows: dict[str, int] = dict.fromkeys(SCHEMAS, 0)
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` (cast to the file's schema) to file ``name``.

        Columns of :data:`DICT_COLUMNS` are stored dictionary-encoded; no Arrow schema is
        stored in the file, so every string column reads back as ``string``.
        """
        schema = _write_schema(name)
        cols = []
        for f in schema:
            col = table.column(f.name)
            if pa.types.is_dictionary(f.type) and not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col)
            cols.append(col.cast(f.type))
        table = pa.Table.from_arrays(cols, schema=schema)
        w = self._writers.get(name)
        if w is None:
            path = self.out_dir / PATHS[name]
            path.parent.mkdir(parents=True, exist_ok=True)
            use_dictionary = sorted(
                DICT_COLUMNS.get(name, frozenset()) | _PARQUET_DICT.get(name, frozenset())
            )
            w = pq.ParquetWriter(path, schema, compression="zstd", store_schema=False,
                                 use_dictionary=use_dictionary)  # fmt: skip
            self._writers[name] = w
        if table.num_rows:
            w.write_table(table, row_group_size=1 << 20)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        """Close every file; tables never written get an empty file with their schema."""
        for name, schema in SCHEMAS.items():
            if name not in self._writers:
                self.write(name, schema.empty_table())  # cast to the write schema
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def abort(self) -> None:
        """Close the open files without completing the store (after an error)."""
        for w in self._writers.values():
            with contextlib.suppress(Exception):  # best effort: another error propagates
                w.close()
        self._writers.clear()
