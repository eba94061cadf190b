"""Segment exports: CSV, Parquet and JSON files, with destination presets and privacy rules.

An export takes the members of an evaluated segment (``memberships``), joins the
identifiers of ``customers`` and the properties of ``customer_features``, and writes one
file, atomically (a temporary file renamed into place). Privacy rules, in order:

1. **Consent.** Destinations that send e-mail (the ``klaviyo`` and ``mailchimp`` presets,
   or ``require_consent = true``) keep only customers with
   ``accepts_email_marketing = true``; the others are counted, not exported.
2. **PII allow-list.** A clear-text personal column (:data:`PII_COLUMNS`) is exported
   only when the destination's ``pii`` list names it; otherwise the export is refused.
   With ``hash_identifiers`` the identifiers are replaced by the SHA-256 hex digest of
   their normalised value (see :func:`normalised`), which destinations with
   ``allow_hashed`` accept.
3. **Minimum size.** Fewer rows than ``[exports] min_segment_size`` (default 50) is
   refused: small lists can single people out.

Presets give the column names the tools expect (``../shared/formats``): ``klaviyo``
(``Email`` first, custom properties after), ``mailchimp`` (``Email Address``, ``Tags``),
``google_ads`` (``Email, Phone, First Name, Last Name, Country, Zip``; phone as ``+``
E.164) and ``meta`` (``EMAIL, PHONE, FN, LN, ZIP, CT, ST, COUNTRY``; always hashed,
phone as digits only).

``diff_since=RUN`` exports only the changes since an earlier evaluation, from
``membership_snapshots``: customers who entered the segment and those who exited it,
with a ``change`` column.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from custseg.config import DestinationConfig
from custseg.exceptions import PrivacyError, UsageError, WorkspaceError

__all__ = [
    "EXPORTS_LOG_TABLE",
    "FORMATS",
    "PII_COLUMNS",
    "PRESETS",
    "ExportResult",
    "export_segment",
    "export_table",
    "normalised",
]

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("csv", "parquet", "json")
EXPORTS_LOG_TABLE = "_exports"

#: Columns that identify a person (or nearly): exported in clear only when allowed.
PII_COLUMNS: tuple[str, ...] = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "city",
    "postal_code",
    "latitude",
    "longitude",
)

#: Identifiers that ``hash_identifiers`` replaces by their SHA-256 digest.
HASHABLE: tuple[str, ...] = ("email", "phone", "first_name", "last_name")

_CUSTOMER_FIELDS = (
    "email",
    "phone",
    "first_name",
    "last_name",
    "birth_date",
    "country",
    "region",
    "city",
    "postal_code",
    "latitude",
    "longitude",
    "accepts_email_marketing",
)


@dataclass(frozen=True)
class Preset:
    """A destination's file layout: ``(output label, source column)`` pairs.

    A source column is a customer field, a ``customer_features`` column, or one of the
    specials ``segment`` (the segment key) and ``change`` (with ``diff_since``).
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    pii: tuple[str, ...]
    email: bool
    always_hash: bool = False
    phone_style: Literal["e164", "digits"] = "e164"


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("generic", (("customer_id", "customer_id"), ("segment", "segment")), (), False),
        Preset(
            "klaviyo",
            (
                ("Email", "email"),
                ("Phone Number", "phone"),
                ("First Name", "first_name"),
                ("Last Name", "last_name"),
                ("City", "city"),
                ("Region", "region"),
                ("Country", "country"),
                ("Zip Code", "postal_code"),
                ("custseg_segment", "segment"),
                ("rfm_group", "rfm_group"),
                ("predicted_clv", "@clv"),
                ("churn_probability", "churn_probability"),
            ),
            ("email", "phone", "first_name", "last_name", "city", "postal_code"),
            True,
        ),
        Preset(
            "mailchimp",
            (
                ("Email Address", "email"),
                ("First Name", "first_name"),
                ("Last Name", "last_name"),
                ("Phone Number", "phone"),
                ("Tags", "segment"),
            ),
            ("email", "first_name", "last_name", "phone"),
            True,
        ),
        Preset(
            "google_ads",
            (
                ("Email", "email"),
                ("Phone", "phone"),
                ("First Name", "first_name"),
                ("Last Name", "last_name"),
                ("Country", "country"),
                ("Zip", "postal_code"),
            ),
            ("email", "phone", "first_name", "last_name", "postal_code"),
            False,
        ),
        Preset(
            "meta",
            (
                ("EMAIL", "email"),
                ("PHONE", "phone"),
                ("FN", "first_name"),
                ("LN", "last_name"),
                ("ZIP", "postal_code"),
                ("CT", "city"),
                ("ST", "region"),
                ("COUNTRY", "country"),
            ),
            ("postal_code", "city"),
            False,
            always_hash=True,
            phone_style="digits",
        ),
    )
}


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    segment: str
    destination: str
    format: str
    rows: int
    excluded_no_consent: int
    excluded_no_email: int
    hashed: bool
    columns: tuple[str, ...]
    diff_since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As a JSON-able dict."""
        d = asdict(self)
        d["path"] = str(self.path)
        d["columns"] = list(self.columns)
        return d


def normalised(value: ir.StringValue, field: str, *, phone_style: str = "e164") -> ir.StringValue:
    """The normalised form of an identifier, as hashed.

    E-mail and names: trimmed, lower-case. Phone: digits only (``phone_style="digits"``,
    Meta) or ``+`` and digits (``"e164"``, Google, Klaviyo); an empty result is null.
    """
    if field == "phone":
        digits = value.re_replace(r"[^0-9]", "")
        digits = ibis.ifelse(digits == "", ibis.null(), digits)
        return digits if phone_style == "digits" else ibis.literal("+") + digits
    return value.strip().lower()


def _destination(ws: Any, name: str | None) -> tuple[str, DestinationConfig, Preset]:
    configured = ws.config.exports.destinations
    if name is None:
        return "generic", configured.get("generic", DestinationConfig()), PRESETS["generic"]
    if name in configured:
        cfg = configured[name]
        return name, cfg, PRESETS[cfg.preset]
    if name in PRESETS:
        preset = PRESETS[name]
        return name, DestinationConfig(preset=name, pii=list(preset.pii)), preset  # type: ignore[arg-type]
    known = sorted(set(configured) | set(PRESETS))
    raise UsageError(
        f"unknown destination {name!r}; use one of {', '.join(known)} or add "
        f"[exports.destinations.{name}] to custseg.toml."
    )


def _members(ws: Any, segment: str, diff_since: str | None) -> ir.Table:
    from custseg.segments.registry import MEMBERSHIPS_TABLE, SNAPSHOTS_TABLE

    con = ws.connect()
    tables = set(con.list_tables())
    if MEMBERSHIPS_TABLE not in tables:
        raise WorkspaceError(
            "segments have not been evaluated in this workspace; run `custseg segments evaluate`."
        )
    m = con.table(MEMBERSHIPS_TABLE)
    now = m.filter(m.segment == segment).select("customer_id").distinct()
    if diff_since is None:
        return now
    if SNAPSHOTS_TABLE not in tables:
        raise UsageError(f"--diff-since {diff_since}: there are no earlier evaluations to compare.")
    snaps = con.table(SNAPSHOTS_TABLE)
    known = snaps.filter(snaps.run_id == diff_since).count().to_pyarrow().as_py()
    if not known:
        runs = (
            snaps.select("run_id")
            .distinct()
            .order_by(ibis.desc("run_id"))
            .limit(5)
            .to_pyarrow()["run_id"]
            .to_pylist()
        )
        raise UsageError(
            f"--diff-since {diff_since!r}: no such run. Recent runs: {', '.join(runs) or 'none'}."
        )
    before = (
        snaps.filter((snaps.run_id == diff_since) & (snaps.segment == segment))
        .select("customer_id")
        .distinct()
    )
    entered = now.anti_join(before, "customer_id").mutate(change=ibis.literal("entered"))
    exited = before.anti_join(now, "customer_id").mutate(change=ibis.literal("exited"))
    return entered.union(exited)


def _source(name: str, j: ir.Table, segment: str) -> ir.Value:
    """A column of the joined members x customers x features table (customers win)."""
    if name == "segment":
        return ibis.literal(segment)
    if name == "@clv":
        from custseg.segments.predictive import clv_column

        col = clv_column(j)
        return j[col] if col else ibis.null().cast("float64")
    if name in j.columns:
        return j[name]
    raise UsageError(
        f"unknown column {name!r}; export columns are customers fields "
        f"({', '.join(_CUSTOMER_FIELDS)}) or customer_features columns."
    )


def export_table(
    ws: Any,
    segment: str,
    *,
    destination: str | None = None,
    columns: Sequence[str] = (),
    hash_identifiers: bool = False,
    diff_since: str | None = None,
) -> tuple[ir.Table, dict[str, Any]]:
    """The rows an export would write, as an Ibis table, after the privacy checks.

    Parameters are those of :func:`export_segment` (without the file options).

    Returns
    -------
    (ibis Table, dict)
        The table and facts about it: ``destination``, ``hashed``, ``columns``,
        ``excluded_no_consent`` (an Ibis scalar expression).

    Raises
    ------
    PrivacyError
        A clear-text PII column the destination does not allow.
    """
    from custseg.segments.registry import get_definition

    d = get_definition(ws, segment)
    dest_name, dest, preset = _destination(ws, destination)
    hashed = hash_identifiers or preset.always_hash
    if hashed and not dest.allow_hashed:
        raise PrivacyError(
            f"destination {dest_name!r} does not accept hashed identifiers (allow_hashed = false)."
        )
    con = ws.connect()
    members = _members(ws, d.name, diff_since)
    cust = con.table("customers").select(
        "customer_id", *[c for c in _CUSTOMER_FIELDS if c in con.table("customers").columns]
    )
    feats = con.table("customer_features")
    cust = cust.rename(_c_id="customer_id")
    feats_r = feats.rename(_f_id="customer_id")
    j = members.left_join(cust, members.customer_id == cust._c_id).drop("_c_id")
    j = j.left_join(feats_r, j.customer_id == feats_r._f_id).drop("_f_id")
    # after the joins the customers fields keep their names (features has no e-mail etc.)
    wanted = list(preset.columns)
    if diff_since is not None:
        wanted.append(("change", "change"))
    for c in columns:
        if c not in [label for label, _ in wanted]:
            wanted.append((c, c))

    require_consent = dest.require_consent if dest.require_consent is not None else preset.email
    excluded = ibis.literal(0)
    if require_consent:
        consent = (
            j.accepts_email_marketing.fill_null(False)
            if "accepts_email_marketing" in j.columns
            else ibis.literal(False)
        )
        excluded = (~consent).sum()
        excluded_n = j.aggregate(n=excluded).to_pyarrow()["n"][0].as_py() or 0
        j = j.filter(consent)
    else:
        excluded_n = 0
    no_email_n = 0
    if preset.email:
        has_email = j.email.notnull() & (j.email.strip() != "")
        no_email_n = j.aggregate(n=(~has_email).sum()).to_pyarrow()["n"][0].as_py() or 0
        j = j.filter(has_email)

    allowed = set(dest.pii)
    out: dict[str, ir.Value] = {}
    for label, src in wanted:
        value = _source(src, j, d.name)
        if src in PII_COLUMNS:
            if hashed and src in HASHABLE:
                value = normalised(value.cast("string"), src, phone_style=preset.phone_style)
                value = value.hexdigest("sha256")
            elif src not in allowed:
                hint = (
                    " or pass --hash-identifiers" if src in HASHABLE and dest.allow_hashed else ""
                )
                raise PrivacyError(
                    f"column {src!r} is personal data and destination {dest_name!r} may not "
                    f"receive it in clear text. Add it to [exports.destinations.{dest_name}] "
                    f"pii = [...] in custseg.toml{hint}."
                )
            elif src == "phone":
                value = normalised(value, src, phone_style=preset.phone_style)
            elif src == "email":
                value = normalised(value, src)
        out[label] = value
    table = j.select(**out)
    facts = {
        "destination": dest_name,
        "hashed": hashed,
        "columns": tuple(out),
        "excluded_no_consent": int(excluded_n),
        "excluded_no_email": int(no_email_n),
        "segment": d.name,
    }
    return table, facts


def export_segment(
    ws: Any,
    segment: str,
    *,
    format: str = "csv",
    out: str | Path | None = None,
    destination: str | None = None,
    columns: Sequence[str] = (),
    hash_identifiers: bool = False,
    diff_since: str | None = None,
    min_size: int | None = None,
) -> ExportResult:
    """Export an evaluated segment to a file.

    Parameters
    ----------
    ws : Workspace
        The workspace, with segments evaluated.
    segment : str
        Segment key or title.
    format : {"csv", "parquet", "json"}
        File format; JSON is one array of objects.
    out : path, optional
        Default: ``<workspace>/exports/<segment>[-<destination>].<format>``.
    destination : str, optional
        A ``[exports.destinations]`` name or a preset (``klaviyo``, ``mailchimp``,
        ``google_ads``, ``meta``); default ``generic`` (ids only, no PII).
    columns : sequence of str
        Extra columns (customers fields or ``customer_features`` columns).
    hash_identifiers : bool
        Replace e-mail, phone and names by the SHA-256 of their normalised value.
    diff_since : str, optional
        A run id: export who entered or exited the segment since that evaluation.
    min_size : int, optional
        Override ``[exports] min_segment_size``.

    Returns
    -------
    ExportResult

    Raises
    ------
    PrivacyError
        Below the minimum size, or a PII column the destination may not receive.
    """
    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}.")
    table, facts = export_table(
        ws,
        segment,
        destination=destination,
        columns=columns,
        hash_identifiers=hash_identifiers,
        diff_since=diff_since,
    )
    rows = int(table.count().to_pyarrow().as_py())
    minimum = ws.config.exports.min_segment_size if min_size is None else min_size
    if rows < minimum:
        what = "changes" if diff_since else "rows"
        raise PrivacyError(
            f"segment {facts['segment']!r} has {rows} {what} to export to "
            f"{facts['destination']!r}, fewer than the minimum of {minimum} "
            "([exports] min_segment_size): lists this small can single people out. "
            "Widen the segment, or lower min_segment_size in custseg.toml if you must."
        )
    if out is None:
        folder = ws.root / ws.config.exports.folder
        suffix = "" if facts["destination"] == "generic" else f"-{facts['destination']}"
        out = folder / f"{facts['segment']}{suffix}.{format}"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        _write(table, tmp, format)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    result = ExportResult(
        path=out,
        segment=facts["segment"],
        destination=facts["destination"],
        format=format,
        rows=rows,
        excluded_no_consent=facts["excluded_no_consent"],
        excluded_no_email=facts["excluded_no_email"],
        hashed=facts["hashed"],
        columns=facts["columns"],
        diff_since=diff_since,
    )
    _log_export(ws, result)
    log.info("exported %d rows of %s to %s", rows, result.segment, out)
    return result


def _write(table: ir.Table, path: Path, format: str) -> None:
    if format == "parquet":
        table.to_parquet(path)
    elif format == "csv":
        table.to_csv(path)
    else:
        with path.open("w", encoding="utf-8") as f:
            f.write("[")
            first = True
            for batch in table.to_pyarrow_batches():
                for row in batch.to_pylist():
                    f.write(("" if first else ",\n") + json.dumps(row, default=str))
                    first = False
            f.write("]\n")


def _log_export(ws: Any, r: ExportResult) -> None:
    con = ws.connect()
    row = ibis.memtable(
        [
            {
                "exported_at": datetime.now(UTC),
                "segment": r.segment,
                "destination": r.destination,
                "format": r.format,
                "path": str(r.path),
                "rows": r.rows,
                "hashed": r.hashed,
                "diff_since": r.diff_since,
            }
        ],
        schema={
            "exported_at": "timestamp('UTC')",
            "segment": "string",
            "destination": "string",
            "format": "string",
            "path": "string",
            "rows": "int64",
            "hashed": "boolean",
            "diff_since": "string",
        },
    )
    if EXPORTS_LOG_TABLE in con.list_tables():
        con.insert(EXPORTS_LOG_TABLE, row)
    else:
        con.create_table(EXPORTS_LOG_TABLE, row)
