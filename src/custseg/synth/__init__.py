"""Generate a realistic demo store (``custseg.synth``).

:func:`generate` writes a complete, deterministic demo store of Parquet files
whose columns use the canonical names of :mod:`custseg.schema`, plus a manifest
(:class:`SynthManifest`, also ``manifest.json``) with exact row counts and the
ground truth kept apart from the data (``truth/``).

Files
-----
``customers``, ``accounts``, ``orders``, ``order_lines``, ``events``,
``attributes``, ``campaigns``, ``campaign_exposures``, ``campaign_outcomes``,
``products`` and ``truth/personas.parquet``, ``truth/campaign.json``.
System columns (``is_stub``, ``is_guest``, ``fx_rate``) are not written. In
``orders``, ``ordered_at`` is an ISO 8601 string such as
``2024-03-01T10:22:11Z`` (so that bad dates can be injected) and ``currency``
holds the original currency (``USD``, ``EUR``, ``GBP``, ``CAD`` by country); money
columns are float64 rounded to cents in that currency. The manifest's
``fx_rates`` convert to USD (``usd = amount * rate``).

Behaviour
---------
Every customer has exactly one planted persona (ground truth in
``truth/personas.parquet``; parameters in :data:`PERSONAS`). They drive a
Pareto/NBD-like purchase process (Poisson orders at a gamma-distributed rate
between the first order and a dropout time), the choice of products and
prices, discounts, returns (about 8% of orders), channels and browsing:

==============  =====  ===================================================================
persona         share  behaviour (days are counted back from ``end``)
==============  =====  ===================================================================
champion        8%     ~45 orders, last one 0-21 days ago, high prices, 6-9 categories,
                       rarely discounted, few returns, many sessions
bargain_hunter  14%    ~18 orders, last 0-60 days ago, low prices, 85% of orders 25-50%
                       off, 22% of orders returned
lapsed_loyal    12%    ~18 orders, then none for 300-500 days
one_time        25%    exactly one small order 365-730 days ago, one category, ~1 session
new_customer    10%    first order 5-60 days ago, 1-3 orders so far
b2b_bulk        3%     a company account's buyer: ~25 orders of several case-pack lines
                       (6-120 units each), contract discount 8-15%, weekday hours
browser         28%    ~12 sessions with many product views, no order (3%: one order)
==============  =====  ===================================================================

Orders follow seasonality (a Q4 and Black Friday peak, a weekly pattern and
the local hour of the day). Order totals reconcile with their lines:
``subtotal = sum(quantity * unit_price - discount)`` over the sale lines,
``total = subtotal + shipping + tax``. A past e-mail campaign
(``CMP-2025-SPRING``) has a randomized 10% holdout and a true lift that differs
by persona (truth in ``truth/campaign.json`` and ``manifest.campaign``).

Generation is deterministic for a seed: each chunk of 50,000 customers has its
own random streams (``SeedSequence.spawn``), with a separate stream for the
dirty rows: with ``dirty=False`` every row that is not dirtied stays the same.
Within a chunk, orders (ids included) and events are in time order.

Dirty rows (``dirty=True`` only)
--------------------------------
Each kind is injected at the rate below, rounded per chunk of 50,000
customers; the exact count of each kind is in ``manifest.dirty``. No row has
two kinds, so ``rows in a file = clean rows + rows of its kinds`` reconciles
exactly.

======================  =======  ===========================================================
kind                    rate     what
======================  =======  ===========================================================
duplicate_orders        0.5%     an order row written twice (exact copy, after the original);
                                 its lines are written once
bad_dates               0.2%     ``ordered_at`` unparseable: ``2024-13-45T10:00:00Z``,
                                 ``not a date`` or ``31/31/2024``; the order's lines are still
                                 written, unchanged (as a real export would have them)
future_dates            0.05%    ``ordered_at`` about two years (720-750 days) after ``end``
unknown_currency        0.1%     ``currency`` is ``XXX`` or ``ZZZ``
unknown_customer        0.1%     ``customer_id`` like ``C9123456``: not in ``customers``
                                 (e-mail null)
guest_with_email        1%       ``customer_id`` null, ``email`` set: about half carry the
                                 e-mail of an existing customer (exact number in
                                 ``manifest.stats``), the others a new address
guest_anonymous         0.3%     ``customer_id`` and ``email`` both null
negative_price          0.02%    an order line with a negative ``unit_price`` (a data error,
                                 unlike return lines: negative quantity, positive price);
                                 its order's totals no longer match its lines
missing_customer_id     0.05%    extra customer rows with a null ``customer_id``
duplicate_customers     0.2%     a customer written twice; the second copy has a later
                                 ``updated_at`` and ``accepts_sms_marketing = true``
======================  =======  ===========================================================

Order rates are relative to the distinct orders, ``negative_price`` to the
order lines, the last two to the customers. The order kinds that take an order
away from its customer are only applied to customers with three or more
orders; ``negative_price`` and ``duplicate_orders`` only to otherwise clean
orders. ``customers`` has ``customers + missing_customer_id +
duplicate_customers`` rows and ``orders`` has ``stats.orders +
duplicate_orders`` rows.
"""

from __future__ import annotations

from custseg.synth._dirty import BAD_DATE_STRINGS, DIRTY_RATES, UNKNOWN_CURRENCIES
from custseg.synth._generate import CHUNK_SIZE, generate
from custseg.synth._personas import PERSONA_NAMES, PERSONAS, Persona
from custseg.synth._writer import PATHS, SCHEMAS
from custseg.synth.manifest import SynthManifest

__all__ = [
    "generate",
    "SynthManifest",
    "Persona",
    "PERSONAS",
    "PERSONA_NAMES",
    "DIRTY_RATES",
    "BAD_DATE_STRINGS",
    "UNKNOWN_CURRENCIES",
    "SCHEMAS",
    "PATHS",
    "CHUNK_SIZE",
]
