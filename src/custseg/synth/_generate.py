"""The generator's driver: chunks of customers, generated and written one at a time."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A
from custseg.synth._campaign import campaign_table, campaign_truth, make_campaign
from custseg.synth._catalog import build_catalog
from custseg.synth._context import BASE_CURRENCY, CURRENCIES, DAY, FX_RATES, Context, make_context
from custseg.synth._customers import make_accounts, make_people
from custseg.synth._dirty import DIRTY_RATES, dirty_customers, dirty_orders, zero_counts
from custseg.synth._events import make_events
from custseg.synth._orders import (
    DEVICES,
    SHIPPING_METHODS,
    STATUSES,
    Orders,
    category_preferences,
    make_orders,
    plan_purchases,
)
from custseg.synth._personas import CHANNELS, PERSONA_NAMES, PERSONAS
from custseg.synth._survey import make_survey
from custseg.synth._writer import PATHS, StoreWriter
from custseg.synth.manifest import MANIFEST_NAME, SynthManifest

__all__ = ["generate", "CHUNK_SIZE", "MAX_CUSTOMERS", "MIN_DAYS"]

logger = logging.getLogger(__name__)

#: Customers generated (and held in memory) at a time.
CHUNK_SIZE = 50_000
#: Upper bound on ``customers`` (ids and e-mail tags are sized for it).
MAX_CUSTOMERS = 5_000_000
#: Shortest history the personas fit in.
MIN_DAYS = 365

_B2B = PERSONA_NAMES.index("b2b_bulk")
_BROWSER = PERSONA_NAMES.index("browser")
_PRIMARY_DEVICE_P = np.array([0.40, 0.52, 0.08])


@dataclass
class _Totals:
    """Running counters across chunks."""

    orders: int = 0
    events: int = 0
    accounts: int = 0
    personas: np.ndarray = field(default_factory=lambda: np.zeros(len(PERSONAS), np.int64))
    campaign: np.ndarray = field(default_factory=lambda: np.zeros((len(PERSONAS), 2, 3), np.int64))
    dirty: dict[str, int] = field(default_factory=zero_counts)
    status: np.ndarray = field(default_factory=lambda: np.zeros(len(STATUSES), np.int64))
    return_lines_orders: int = 0
    return_lines: int = 0
    guest_email_matches: int = 0
    survey_respondents: int = 0


def _order_tables(
    rng: np.random.Generator, ctx: Context, o: Orders, people_ids: pa.Array, email: pa.Array,
    postal: pa.Array, first_number: int,
) -> tuple[pa.Table, pa.Table]:  # fmt: skip
    geo = ctx.geo
    cat = ctx.catalog
    n = len(o)
    width = max(8, len(str(first_number + n)))
    order_id = A.fixed_width_ids("O", first_number + np.arange(n), width)
    ship_postal = A.take(postal, o.cust)
    moved = np.flatnonzero(o.ship_moved)
    ship_postal = A.replace_rows(ship_postal, moved, geo.postal_codes(rng, o.ship_city[moved]))
    orders = pa.table(
        {
            "order_id": order_id,
            "customer_id": A.take(people_ids, o.cust),
            "email": A.take(email, o.cust),
            "ordered_at": A.iso_utc_strings(o.ts),
            "currency": A.cat(CURRENCIES, o.currency),
            "subtotal": A.money(o.subtotal),
            "discount": A.money(o.discount),
            "shipping": A.money(o.shipping),
            "tax": A.money(o.tax),
            "total": A.money(o.total),
            "refunded": A.money(o.refunded),
            "status": A.cat(STATUSES, o.status),
            "channel": A.cat(CHANNELS, o.channel),
            "device": A.cat(DEVICES, np.maximum(o.device, 0), o.device < 0),
            "ship_country": A.cat(geo.country_codes, geo.city_country[o.ship_city]),
            "ship_region": A.cat(geo.region_names, geo.city_region[o.ship_city]),
            "ship_city": A.cat(geo.city_names, o.ship_city),
            "ship_postal_code": ship_postal,
            "shipping_method": A.cat(SHIPPING_METHODS, o.method),
            "items_count": pa.array(o.items, pa.int64()),
            "weight_kg": pa.array(o.weight, pa.float64()),
        }
    )
    lines = pa.table(
        {
            "order_id": order_id.take(pa.array(o.l_order)),
            "line_no": pa.array(o.l_no, pa.int64()),
            "sku": A.cat(cat.sku, o.l_sku),
            "product_name": cat.name.take(pa.array(o.l_sku)),
            "category": cat.category_name.take(pa.array(o.l_sku)),
            "brand": cat.brand.take(pa.array(o.l_sku)),
            "quantity": pa.array(o.l_qty, pa.int64()),
            "unit_price": A.money(o.l_unit),
            "discount": A.money(o.l_disc),
            "returned_qty": pa.array(o.l_ret, pa.int64()),
        }
    )
    return orders, lines


def _chunk(
    ss: np.random.SeedSequence, ctx: Context, lo: int, hi: int, writer: StoreWriter, tot: _Totals
) -> None:
    """Generate and write customers ``lo`` (0-based, inclusive) to ``hi`` (exclusive)."""
    main_ss, dirty_ss = ss.spawn(2)
    rng = np.random.default_rng(main_ss)
    geo = ctx.geo
    n = hi - lo
    numbers = np.arange(lo + 1, hi + 1, dtype=np.int64)
    persona = rng.choice(len(PERSONAS), size=n, p=[p.share for p in PERSONAS])
    plan = plan_purchases(rng, ctx, persona)
    perm, breadth = category_preferences(rng, persona)
    city = geo.sample_cities(rng, n)
    account_number, accounts, slug = make_accounts(
        rng, persona == _B2B, geo.city_country[city], tot.accounts + 1
    )
    tot.accounts += accounts.num_rows
    people = make_people(rng, ctx, numbers, persona, city, plan.created_s, account_number, slug)
    primary_device = np.where(persona == _B2B, 0, rng.choice(3, n, p=_PRIMARY_DEVICE_P))
    cookies = rng.integers(1, 2**63, size=(n, 2), dtype=np.uint64)

    o = make_orders(rng, ctx, plan, persona, city, primary_device, perm, breadth)
    orders, lines = _order_tables(rng, ctx, o, people.ids, people.email, people.postal,
                                  tot.orders + 1)  # fmt: skip
    tot.orders += len(o)
    tot.status += np.bincount(o.status, minlength=len(STATUSES))
    tot.return_lines_orders += int(o.return_lines.sum())
    tot.return_lines += int((o.l_qty < 0).sum())

    eligible = (
        people.accepts_email
        & people.email.is_valid().to_numpy(zero_copy_only=False)
        & (people.created_s < ctx.campaign_start)
    )
    exposures, outcomes, counts, c_events = make_campaign(rng, ctx, persona, eligible, people.ids)
    tot.campaign += counts

    events = make_events(rng, ctx, persona, people.created_s, people.accepts_email,
                         primary_device, cookies, perm, breadth, o, c_events, people.ids,
                         tot.events + 1)  # fmt: skip
    tot.events += events.num_rows
    survey = make_survey(rng, ctx, persona, perm[:, 0].astype(np.int64), people.created_s,
                         people.ids)  # fmt: skip
    tot.survey_respondents += len(np.unique(survey.column("customer_id").to_numpy()))
    truth = pa.table({"customer_id": people.ids, "persona": A.cat(PERSONA_NAMES, persona)})
    tot.personas += np.bincount(persona, minlength=len(PERSONAS))

    customers = people.table
    if ctx.dirty:
        drng = np.random.default_rng(dirty_ss)
        orders, lines, counts_o, matches = dirty_orders(
            drng, ctx, orders, lines, o.cust, plan.n_orders, o.l_order, people.first_name_lc,
            people.last_name_lc,
        )  # fmt: skip
        k = int(round(DIRTY_RATES["missing_customer_id"] * n))
        phantom_created = drng.integers(ctx.t_start, ctx.t_end - DAY, k)
        phantoms = make_people(
            drng, ctx, MAX_CUSTOMERS + lo + np.arange(k), np.full(k, _BROWSER),
            geo.sample_cities(drng, k), phantom_created, np.zeros(k, np.int64),
            pa.nulls(k, pa.string()),
        ).table  # fmt: skip
        customers, counts_c = dirty_customers(drng, ctx, customers, people.updated_s, phantoms)
        for kind, v in {**counts_o, **counts_c}.items():
            tot.dirty[kind] += v
        tot.guest_email_matches += matches

    writer.write("customers", customers)
    writer.write("accounts", accounts)
    writer.write("orders", orders)
    writer.write("order_lines", lines)
    writer.write("events", events)
    writer.write("attributes", survey)
    writer.write("campaign_exposures", exposures)
    writer.write("campaign_outcomes", outcomes)
    writer.write("truth_personas", truth)


def _check_args(customers: int, seed: int, start: date, end: date) -> None:
    if not isinstance(customers, int) or not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(
            f"customers must be an integer from 1 to {MAX_CUSTOMERS}, got {customers!r}"
        )
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if (end - start).days + 1 < MIN_DAYS:
        raise ValueError(f"the history from {start} to {end} is shorter than {MIN_DAYS} days")


def generate(
    out_dir: str | Path,
    *,
    customers: int = 20_000,
    seed: int = 0,
    start: date = date(2023, 1, 1),
    end: date = date(2025, 6, 30),
    dirty: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SynthManifest:
    """Write a complete demo store into ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir
        Output directory; created if missing. Existing files of the store are replaced.
    customers
        Number of (distinct, real) customers, 1 to 5,000,000.
    seed
        Seed of the random generators. The same seed and arguments give the same content.
    start, end
        First and last day of the store's history (at least 365 days).
    dirty
        Inject dirty rows at the documented rates (see :mod:`custseg.synth`).
    progress
        Called as ``progress(done_customers, total_customers)`` after each chunk.

    Returns
    -------
    SynthManifest
        Also written as ``out_dir/manifest.json``.

    Raises
    ------
    ValueError
        If an argument is out of range.
    """
    _check_args(customers, seed, start, end)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_chunks = math.ceil(customers / CHUNK_SIZE)
    logger.info("generating a demo store of %d customers (seed %d) into %s", customers, seed, out)
    children = np.random.SeedSequence(seed).spawn(n_chunks + 1)
    catalog = build_catalog(np.random.default_rng(children[0]), start)
    ctx = make_context(start, end, catalog, dirty)
    writer = StoreWriter(out)
    tot = _Totals()
    try:
        writer.write("products", catalog.table)
        writer.write("campaigns", campaign_table(ctx))
        for i in range(n_chunks):
            lo, hi = i * CHUNK_SIZE, min(customers, (i + 1) * CHUNK_SIZE)
            _chunk(children[i + 1], ctx, lo, hi, writer, tot)
            logger.debug("chunk %d/%d: customers %d-%d written", i + 1, n_chunks, lo + 1, hi)
            if progress is not None:
                progress(hi, customers)
        writer.close()
    except BaseException:
        writer.abort()
        raise

    truth = campaign_truth(ctx, tot.campaign)
    (out / "truth").mkdir(exist_ok=True)
    (out / "truth" / "campaign.json").write_text(json.dumps(truth, indent=2) + "\n", "utf-8")
    manifest = SynthManifest(
        seed=seed,
        customers=customers,
        start=start,
        end=end,
        dirty_enabled=dirty,
        base_currency=BASE_CURRENCY,
        fx_rates=dict(FX_RATES),
        files={name: {"path": PATHS[name], "rows": rows} for name, rows in writer.rows.items()},
        dirty=dict(tot.dirty),
        dirty_rates=dict(DIRTY_RATES),
        personas={name: int(c) for name, c in zip(PERSONA_NAMES, tot.personas, strict=True)},
        campaign=truth,
        stats={
            "orders": tot.orders,
            "orders_by_status": {s: int(c) for s, c in zip(STATUSES, tot.status, strict=True)},
            "returned_orders_with_return_lines": tot.return_lines_orders,
            "return_lines": tot.return_lines,
            "guest_with_email_matching_customer": tot.guest_email_matches,
            "accounts": tot.accounts,
            "survey_respondents": tot.survey_respondents,
            "events": tot.events,
            "truth_files": {"personas": PATHS["truth_personas"], "campaign": "truth/campaign.json"},
        },
    )
    (out / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    logger.info(
        "demo store written in %.1f s: %d customers, %d orders, %d events",
        time.perf_counter() - t0, customers, tot.orders, tot.events,
    )  # fmt: skip
    return manifest
