"""Survey answers (the psychographic attributes), correlated with the personas."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A
from custseg.synth import _people as P
from custseg.synth._catalog import CATEGORIES
from custseg.synth._context import DAY, Context, epoch
from custseg.synth._personas import PERSONA_NAMES

__all__ = ["SURVEY_SOURCE", "SURVEY_KEYS", "make_survey"]

SURVEY_SOURCE = "survey_2024"
SURVEY_KEYS: tuple[str, ...] = ("interest", "values", "lifestyle", "price_sensitivity")
#: Share of the customers registered before the survey closed who answered it.
_RESPONSE_P = 0.35
#: Share of the questions a respondent answered.
_ANSWER_P = 0.92

_CATEGORY_INTEREST = {"apparel": "fashion", "footwear": "fashion", "outdoor": "outdoors",
                      "electronics": "tech", "home": "home", "kitchen": "home", "beauty": "fashion",
                      "fitness": "fitness", "toys": "home", "office": "tech"}  # fmt: skip
_INTEREST_OF_CAT = np.array([P.INTERESTS.index(_CATEGORY_INTEREST[c]) for c in CATEGORIES])


def _by_persona(default: list[float], **special: list[float]) -> np.ndarray:
    out = np.tile(np.array(default, dtype=float), (len(PERSONA_NAMES), 1))
    for k, v in special.items():
        out[PERSONA_NAMES.index(k)] = v
    return out


_VALUES_P = _by_persona(
    [0.25, 0.25, 0.25, 0.25],
    champion=[0.25, 0.5, 0.05, 0.2],
    bargain_hunter=[0.1, 0.1, 0.65, 0.15],
    b2b_bulk=[0.05, 0.3, 0.25, 0.4],
)
_LIFESTYLE_P = _by_persona(
    [0.22, 0.25, 0.10, 0.15, 0.18, 0.10],
    browser=[0.2, 0.2, 0.35, 0.1, 0.1, 0.05],
    lapsed_loyal=[0.15, 0.25, 0.05, 0.15, 0.15, 0.25],
)
_PRICE_P = _by_persona(
    [0.3, 0.45, 0.25], champion=[0.6, 0.3, 0.1], bargain_hunter=[0.05, 0.25, 0.7]
)


def survey_window(ctx: Context) -> tuple[int, int]:
    """Epoch seconds when the 2024 survey opened and closed (within the store's history)."""
    lo = max(epoch(date(2024, 3, 1)), ctx.t_start)
    hi = min(epoch(date(2024, 11, 1)), ctx.t_end)
    if hi <= lo:
        lo, hi = ctx.t_end - 180 * DAY, ctx.t_end
    return lo, hi


def make_survey(
    rng: np.random.Generator,
    ctx: Context,
    persona: np.ndarray,
    top_category: np.ndarray,
    created_s: np.ndarray,
    customer_ids: pa.StringArray,
) -> pa.Table:
    """Survey answers of a chunk of customers (one row per answered question)."""
    n = len(persona)
    lo, hi = survey_window(ctx)
    resp = np.flatnonzero((created_s < hi) & (rng.random(n) < _RESPONSE_P))
    r = len(resp)
    rp = persona[resp]
    begin = np.maximum(created_s[resp], lo)
    observed = begin + (rng.random(r) * (hi - begin)).astype(np.int64)
    interest = np.where(rng.random(r) < 0.7, _INTEREST_OF_CAT[top_category[resp]],
                        rng.integers(0, len(P.INTERESTS), r))  # fmt: skip
    vocab = list(P.INTERESTS + P.VALUES + P.LIFESTYLES + P.PRICE_SENSITIVITY)
    offset = np.cumsum([0, len(P.INTERESTS), len(P.VALUES), len(P.LIFESTYLES)])
    codes = (
        np.stack(
            [
                interest,
                A.choice_rows(rng, _VALUES_P, rp),
                A.choice_rows(rng, _LIFESTYLE_P, rp),
                A.choice_rows(rng, _PRICE_P, rp),
            ],
            axis=1,
        )
        + offset
    )
    answered = rng.random((r, len(SURVEY_KEYS))) < _ANSWER_P
    row, key = np.nonzero(answered)
    return pa.table(
        {
            "customer_id": A.take(customer_ids, resp[row]),
            "key": A.cat(SURVEY_KEYS, key),
            "value": A.cat(vocab, codes[row, key]),
            "source": A.cat([SURVEY_SOURCE], np.zeros(len(row), np.int64)),
            "observed_at": A.timestamps((observed[row] + 20 * key) * 10**6),
        }
    )
