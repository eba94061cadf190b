"""The past spring e-mail campaign: a randomized experiment with a 10% holdout.

Every eligible customer (e-mail consent given, an e-mail address, registered
before the send) is assigned to ``treatment`` (gets the e-mail) or ``control``
(held out) at random. Whether they convert within the 14-day attribution window
depends on their persona and arm with the true rates in
:attr:`custseg.synth._personas.Persona.control_rate` / ``treatment_rate``, so
the true lift differs by persona: lapsed customers respond strongly, champions
barely (they buy anyway), B2B buyers not at all.

Conversions are recorded in ``campaign_outcomes`` only; they are *not* mirrored
into ``orders`` (that would move lapsed customers out of their planted persona).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A
from custseg.synth._context import DAY, Context
from custseg.synth._personas import PERSONAS, column

__all__ = [
    "CAMPAIGN_ID",
    "CONTROL_SHARE",
    "WINDOW_DAYS",
    "campaign_table",
    "make_campaign",
    "campaign_truth",
]

CAMPAIGN_ID = "CMP-2025-SPRING"
CONTROL_SHARE = 0.10
WINDOW_DAYS = 14


def campaign_table(ctx: Context) -> pa.Table:
    """The ``campaigns`` table (a single campaign)."""
    return pa.table(
        {
            "campaign_id": [CAMPAIGN_ID],
            "name": ["Spring 2025: new arrivals and a win-back offer"],
            "channel": ["email"],
            "started_at": A.timestamps(np.array([ctx.campaign_start * 10**6])),
            "description": ["E-mail with spring new arrivals and 15% off the next order; "
                            "10% of eligible customers held out as a randomized control group."],
        }
    )  # fmt: skip


def make_campaign(
    rng: np.random.Generator,
    ctx: Context,
    persona: np.ndarray,
    eligible: np.ndarray,
    customer_ids: pa.StringArray,
) -> tuple[pa.Table, pa.Table, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Assign, send and observe the campaign for a chunk of customers.

    Returns
    -------
    exposures, outcomes
        The two tables.
    counts
        ``(n_personas, 2 arms, 3)`` array of exposed, converted, revenue cents
        (arm 0 = treatment, 1 = control).
    events
        ``(customer, ts, is_click)`` of the e-mail opens and clicks it caused.
    """
    idx = np.flatnonzero(eligible)
    m = len(idx)
    p = persona[idx]
    control = rng.random(m) < CONTROL_SHARE
    rate = np.where(control, column("control_rate")[p], column("treatment_rate")[p])
    converted = rng.random(m) < rate
    revenue = np.where(
        converted, np.round(column("campaign_revenue")[p] * rng.lognormal(0.0, 0.4, m) * 100), 0
    ).astype(np.int64)
    sent = ctx.campaign_start + rng.integers(0, 3 * 3600, m)
    observed = ctx.campaign_start + WINDOW_DAYS * DAY
    ids = A.take(customer_ids, idx)
    cid = A.cat([CAMPAIGN_ID], np.zeros(m, np.int64))
    exposures = pa.table(
        {
            "campaign_id": cid,
            "customer_id": ids,
            "arm": A.cat(["treatment", "control"], control.astype(np.int64)),
            "sent_at": A.timestamps(sent * 10**6, control),
        }
    )
    outcomes = pa.table(
        {
            "campaign_id": cid,
            "customer_id": ids,
            "converted": pa.array(converted, pa.bool_()),
            "revenue": A.money(revenue),
            "observed_at": A.timestamps(np.full(m, observed * 10**6, dtype=np.int64)),
        }
    )
    counts = np.zeros((len(PERSONAS), 2, 3), dtype=np.int64)
    arm = control.astype(np.int64)
    np.add.at(counts, (p, arm, 0), 1)
    np.add.at(counts, (p, arm, 1), converted.astype(np.int64))
    np.add.at(counts, (p, arm, 2), revenue)

    # Opens (and clicks) of the treated.
    treated = ~control
    opened = treated & (rng.random(m) < 0.3 + 0.4 * converted)
    open_ts = sent + rng.integers(300, 2 * DAY, m)
    clicked = opened & (rng.random(m) < np.where(converted, 0.75, 0.05))
    click_ts = open_ts + rng.integers(30, 1800, m)
    o, c = np.flatnonzero(opened), np.flatnonzero(clicked)
    events = (
        np.concatenate([idx[o], idx[c]]),
        np.minimum(np.concatenate([open_ts[o], click_ts[c]]), ctx.t_end),
        np.concatenate([np.zeros(len(o), bool), np.ones(len(c), bool)]),
    )
    return exposures, outcomes, counts, events


def campaign_truth(ctx: Context, counts: np.ndarray) -> dict:
    """The campaign's ground truth: true rates per persona and what was observed."""
    per = {}
    for i, persona in enumerate(PERSONAS):
        t, c = counts[i, 0], counts[i, 1]
        per[persona.name] = {
            "treatment_rate": persona.treatment_rate,
            "control_rate": persona.control_rate,
            "true_lift": round(persona.treatment_rate - persona.control_rate, 6),
            "median_revenue_if_converted": persona.campaign_revenue,
            "treatment": {"exposed": int(t[0]), "converted": int(t[1]),
                          "revenue": round(int(t[2]) / 100, 2)},
            "control": {"exposed": int(c[0]), "converted": int(c[1]),
                        "revenue": round(int(c[2]) / 100, 2)},
        }  # fmt: skip
    return {
        "campaign_id": CAMPAIGN_ID,
        "channel": "email",
        "started_at": A.iso_utc_strings(np.array([ctx.campaign_start])).to_pylist()[0],
        "attribution_window_days": WINDOW_DAYS,
        "control_share": CONTROL_SHARE,
        "currency": "USD",
        "mirrored_in_orders": False,
        "personas": per,
    }
