"""Customer rows (identity, demographics, geography, consent) and B2B accounts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custseg.synth import _arrow as A
from custseg.synth import _people as P
from custseg.synth._context import DAY, Context
from custseg.synth._geo import COUNTRIES
from custseg.synth._personas import PERSONA_NAMES

__all__ = ["People", "make_people", "make_accounts", "customer_ids", "ID_WIDTH", "ACCOUNT_COLUMNS"]

ACCOUNT_COLUMNS = ("account_id", "company_name", "industry", "employee_band", "tier")

#: Digits in a customer id (``C0000001``).
ID_WIDTH = 7

_PI = {name: i for i, name in enumerate(PERSONA_NAMES)}
_GROUPS = list(P.NAMES)


def customer_ids(numbers: np.ndarray) -> pa.StringArray:
    """Customer ids ``C0000001`` ... for 1-based customer numbers."""
    return A.fixed_width_ids("C", numbers, ID_WIDTH)


def _persona_table(default: float, **overrides: float) -> np.ndarray:
    out = np.full(len(PERSONA_NAMES), default)
    for k, v in overrides.items():
        out[_PI[k]] = v
    return out


_ACCEPT_EMAIL = _persona_table(0.5, champion=0.75, bargain_hunter=0.8, lapsed_loyal=0.6,
                               one_time=0.4, new_customer=0.6)  # fmt: skip
_AGE_MEAN = _persona_table(38.0, champion=42, bargain_hunter=34, lapsed_loyal=45, new_customer=33,
                           b2b_bulk=44, browser=29)  # fmt: skip
_VIP = _persona_table(0.01, champion=0.7, b2b_bulk=0.2)
_LOYALTY = _persona_table(0.05, champion=0.5, lapsed_loyal=0.4, bargain_hunter=0.3)
_INCOME_P = np.tile([0.10, 0.20, 0.25, 0.20, 0.15, 0.10], (len(PERSONA_NAMES), 1))
_INCOME_P[_PI["champion"]] = [0.02, 0.08, 0.15, 0.20, 0.30, 0.25]
_INCOME_P[_PI["bargain_hunter"]] = [0.20, 0.30, 0.25, 0.15, 0.07, 0.03]
_INCOME_P[_PI["b2b_bulk"]] = [0.02, 0.10, 0.25, 0.28, 0.22, 0.13]

#: Share of customers whose field is missing (null) in the CRM.
MISSING = {
    "email": 0.03, "phone": 0.30, "birth_date": 0.25, "gender": 0.15, "income_band": 0.45,
    "education": 0.55, "marital_status": 0.50, "household": 0.50, "occupation": 0.55,
    "language": 0.05, "postal_code": 0.03, "latlon": 0.04, "consent": 0.02,
}  # fmt: skip

_TAG_NAMES = ("vip", "wholesale", "newsletter", "loyalty")
#: Tag string for each combination of the four tag bits (null when no tag applies).
_TAGS: list[str | None] = [
    ", ".join(t for bit, t in enumerate(_TAG_NAMES) if code >> bit & 1) or None
    for code in range(16)
]
_NO_TAG = np.array([t is None for t in _TAGS])


@dataclass
class People:
    """One chunk's customers: the table to write plus arrays the other generators use."""

    table: pa.Table
    ids: pa.StringArray
    email: pa.StringArray
    city: np.ndarray
    country: np.ndarray
    postal: pa.StringArray
    accepts_email: np.ndarray  # True only when consent is known to be given
    created_s: np.ndarray
    updated_s: np.ndarray
    first_name_lc: pa.StringArray
    last_name_lc: pa.StringArray


def _ascii_lower(arr: pa.Array) -> pa.Array:
    out = pc.utf8_lower(arr)
    for src, dst in P.TRANSLIT.items():
        out = pc.replace_substring(out, src, dst)
    return out


def _bool(rng: np.random.Generator, p: np.ndarray | float, n: int, missing: float) -> pa.Array:
    return pa.array(rng.random(n) < p, pa.bool_(), mask=rng.random(n) < missing)


def make_people(
    rng: np.random.Generator,
    ctx: Context,
    numbers: np.ndarray,
    persona: np.ndarray,
    city: np.ndarray,
    created_s: np.ndarray,
    account_number: np.ndarray,
    company_slug: pa.Array,
) -> People:
    """Generate customer rows.

    Parameters
    ----------
    rng
        Random generator of the chunk.
    ctx
        Run context.
    numbers
        1-based customer numbers (they make the ids and keep e-mail addresses unique).
    persona
        Persona index per customer (drives consent, age, income and tags).
    city
        City index (into :data:`custseg.synth._geo.CITIES`) per customer.
    created_s
        Creation time (epoch seconds) per customer.
    account_number
        1-based B2B account number, 0 for consumers.
    company_slug
        Domain label of the account's company (null for consumers).
    """
    geo = ctx.geo
    n = len(numbers)
    country = geo.city_country[city]
    group_of_country = np.array([_GROUPS.index(c.name_group) for c in geo.countries])
    group = group_of_country[country]

    # Names: gender first, then a first name of that gender from the country's name group.
    gender = rng.choice(3, size=n, p=[0.495, 0.48, 0.025])
    name_gender = np.where(gender == 2, rng.integers(0, 2, n), gender)
    first_pool: list[str] = []
    first_off = np.zeros((len(_GROUPS), 2), dtype=np.int64)
    first_len = np.zeros((len(_GROUPS), 2), dtype=np.int64)
    last_pool: list[str] = []
    last_off = np.zeros(len(_GROUPS), dtype=np.int64)
    last_len = np.zeros(len(_GROUPS), dtype=np.int64)
    for gi, g in enumerate(_GROUPS):
        female, male, last = P.NAMES[g]
        for si, names in enumerate((female, male)):
            first_off[gi, si], first_len[gi, si] = len(first_pool), len(names)
            first_pool += names
        last_off[gi], last_len[gi] = len(last_pool), len(last)
        last_pool += last
    fi = first_off[group, name_gender] + (rng.random(n) * first_len[group, name_gender]).astype(
        np.int64
    )
    li = last_off[group] + (rng.random(n) * last_len[group]).astype(np.int64)
    first = A.take(first_pool, fi)
    last = A.take(last_pool, li)
    first_lc = _ascii_lower(first)
    last_lc = _ascii_lower(last)

    # E-mail: unique through a bijective scramble of the customer number.
    tag = pa.array((numbers * 7919 + 1_234_567) % 10**7, pa.int64()).cast(pa.string())
    consumer_domain = A.take(P.EMAIL_DOMAINS, rng.integers(0, len(P.EMAIL_DOMAINS), n))
    is_b2b = account_number > 0
    domain = pc.if_else(pa.array(is_b2b), A.join(company_slug, ".example"), consumer_domain)
    email_missing = (rng.random(n) < MISSING["email"]) & ~is_b2b
    email = A.null_where(A.join(first_lc, ".", last_lc, tag, "@", domain), email_missing)

    # Phone (E.164): national numbers of 9 or 10 digits, first digit 2-9.
    cc = A.take(["+" + c.phone_cc for c in geo.countries], country)
    lead = A.take([str(d) for d in range(10)], rng.integers(2, 10, n))
    ten = np.array([c.phone_digits == 10 for c in geo.countries])[country]
    rest = pc.if_else(pa.array(ten), A.digit_strings(rng, n, 9), A.digit_strings(rng, n, 8))
    phone = A.null_where(A.join(cc, lead, rest), rng.random(n) < MISSING["phone"])

    updated_s = created_s + (rng.random(n) * (ctx.t_end - created_s)).astype(np.int64)

    age_days = np.clip(rng.normal(_AGE_MEAN[persona], 11.0), 18, 85) * 365.25
    end_day = ctx.t_end // DAY
    birth = (end_day - age_days).astype(np.int32)
    birth_date = pa.array(birth, pa.date32(), mask=rng.random(n) < MISSING["birth_date"])

    def cat(values: tuple[str, ...], idx: np.ndarray, key: str) -> pa.Array:
        return A.take(values, idx, rng.random(n) < MISSING[key])

    income = A.choice_rows(rng, _INCOME_P, persona)
    language_codes = [c.language for c in geo.countries] + ["fr"]
    lang = np.where(geo.city_french[city] & (rng.random(n) < 0.8), len(language_codes) - 1, country)
    language = A.take(language_codes, lang, rng.random(n) < MISSING["language"])

    postal = geo.postal_codes(rng, city)
    ll_missing = rng.random(n) < MISSING["latlon"]
    lat = np.round(geo.lat[city] + rng.normal(0, 0.04, n), 5)
    lon = np.round(geo.lon[city] + rng.normal(0, 0.06, n), 5)

    consent_email = rng.random(n) < _ACCEPT_EMAIL[persona]
    consent_missing = rng.random(n) < MISSING["consent"]
    accepts_email = pa.array(consent_email, pa.bool_(), mask=consent_missing)
    accepts_sms = _bool(rng, 0.25, n, MISSING["consent"])

    vip = rng.random(n) < _VIP[persona]
    newsletter = consent_email & ~consent_missing & (rng.random(n) < 0.85)
    loyalty = rng.random(n) < _LOYALTY[persona]
    tag_code = vip * 1 + is_b2b * 2 + newsletter * 4 + loyalty * 8

    ids = customer_ids(numbers)
    account_ids = A.null_where(A.fixed_width_ids("A", np.maximum(account_number, 0), 6), ~is_b2b)
    table = pa.table(
        {
            "customer_id": ids,
            "email": email,
            "phone": phone,
            "first_name": first,
            "last_name": last,
            "created_at": A.timestamps(created_s * 10**6),
            "updated_at": A.timestamps(updated_s * 10**6),
            "birth_date": birth_date,
            "gender": cat(P.GENDERS, gender, "gender"),
            "income_band": cat(P.INCOME_BANDS, income, "income_band"),
            "education": cat(P.EDUCATION, rng.choice(5, n, p=[0.3, 0.15, 0.35, 0.17, 0.03]),
                             "education"),
            "marital_status": cat(P.MARITAL, rng.choice(5, n, p=[0.38, 0.40, 0.12, 0.08, 0.02]),
                                  "marital_status"),
            "household": cat(P.HOUSEHOLDS, rng.choice(5, n, p=[0.28, 0.27, 0.32, 0.09, 0.04]),
                             "household"),
            "occupation": cat(P.OCCUPATIONS, rng.integers(0, len(P.OCCUPATIONS), n),
                              "occupation"),
            "language": language,
            "country": A.take(geo.country_codes, country),
            "region": A.take(geo.regions, city),
            "city": A.take(geo.city_names, city),
            "postal_code": A.null_where(postal, rng.random(n) < MISSING["postal_code"]),
            "latitude": pa.array(lat, pa.float64(), mask=ll_missing),
            "longitude": pa.array(lon, pa.float64(), mask=ll_missing),
            "account_id": account_ids,
            "tags": A.take(_TAGS, tag_code, _NO_TAG[tag_code]),
            "accepts_email_marketing": accepts_email,
            "accepts_sms_marketing": accepts_sms,
        }
    )  # fmt: skip
    return People(
        table=table,
        ids=ids,
        email=email,
        city=city,
        country=country,
        postal=postal,
        accepts_email=consent_email & ~consent_missing,
        created_s=created_s,
        updated_s=updated_s,
        first_name_lc=first_lc,
        last_name_lc=last_lc,
    )


def make_accounts(
    rng: np.random.Generator, is_b2b: np.ndarray, country: np.ndarray, first_number: int
) -> tuple[np.ndarray, pa.Table, pa.Array]:
    """Group the B2B buyers of a chunk into accounts of 1-3 buyers.

    Returns
    -------
    account_number
        Per customer: 1-based account number, 0 for consumers.
    table
        The ``accounts`` rows.
    slug
        Per customer: the company's domain label (null for consumers).
    """
    n = len(is_b2b)
    buyers = np.flatnonzero(is_b2b)
    account_number = np.zeros(n, dtype=np.int64)
    if len(buyers) == 0:
        empty = pa.array([], pa.string())
        table = pa.table({k: empty for k in ACCOUNT_COLUMNS})
        return account_number, table, pa.nulls(n, pa.string())
    sizes = rng.choice([1, 2, 3], size=len(buyers), p=[0.5, 0.3, 0.2])
    acc_of_buyer = np.repeat(np.arange(len(buyers)), sizes)[: len(buyers)]
    n_acc = int(acc_of_buyer[-1]) + 1
    numbers = first_number + np.arange(n_acc)
    account_number[buyers] = numbers[acc_of_buyer]

    # Company facts, from the first buyer's country.
    first_buyer = buyers[np.searchsorted(acc_of_buyer, np.arange(n_acc))]
    suffix_of_country = np.array([list(P.COMPANY_SUFFIX).index(c) for c in COUNTRIES])
    all_last = [name for g in P.NAMES.values() for name in g[2]]
    base = A.take(all_last, rng.integers(0, len(all_last), n_acc))
    word = A.take(P.COMPANY_WORDS, rng.integers(0, len(P.COMPANY_WORDS), n_acc))
    suffix = A.take(list(P.COMPANY_SUFFIX.values()), suffix_of_country[country[first_buyer]])
    slug_acc = A.join(_ascii_lower(base), "-", pc.utf8_lower(word), "-",
                      pa.array(numbers, pa.int64()).cast(pa.string()))  # fmt: skip
    table = pa.table(
        {
            "account_id": A.fixed_width_ids("A", numbers, 6),
            "company_name": A.join(base, " ", word, " ", suffix),
            "industry": A.take(P.INDUSTRIES, rng.integers(0, len(P.INDUSTRIES), n_acc)),
            "employee_band": A.take(P.EMPLOYEE_BANDS,
                                    rng.choice(5, n_acc, p=[0.2, 0.35, 0.28, 0.12, 0.05])),
            "tier": A.take(P.TIERS, rng.choice(4, n_acc, p=[0.4, 0.33, 0.2, 0.07])),
        }
    )  # fmt: skip
    slug_idx = np.maximum(account_number - first_number, 0)
    slug = A.take(slug_acc, slug_idx, account_number == 0)
    return account_number, table, slug
