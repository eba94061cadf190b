"""Web, app and e-mail events: sessions with page and product views, searches,
add-to-carts, purchases, newsletter opens and clicks, plus anonymous visitors.

Every browsing session starts with a ``session`` event. About 80% of a known
customer's sessions are logged in (``customer_id`` set); the others carry only
the customer's cookie (``anonymous_id``), so they can be stitched. Anonymous
visitors who never registered add sessions without a customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A
from custseg.synth._catalog import CATEGORIES
from custseg.synth._context import DAY, Context
from custseg.synth._orders import DEVICES, Orders
from custseg.synth._personas import CHANNELS, PERSONA_NAMES, column

__all__ = ["EVENT_TYPES", "make_events", "SITE"]

SITE = "https://shop.demo-store.example"
EVENT_TYPES: tuple[str, ...] = ("session", "page_view", "search", "product_view", "add_to_cart",
                                "checkout", "purchase", "email_open", "email_click")  # fmt: skip
_T = {t: i for i, t in enumerate(EVENT_TYPES)}

OS_NAMES: tuple[str, ...] = ("Windows", "macOS", "Linux", "iOS", "Android", "iPadOS")
_OS_P = np.array([[0.60, 0.35, 0.05, 0, 0, 0], [0, 0, 0, 0.55, 0.45, 0], [0, 0, 0, 0, 0.4, 0.6]])
BROWSERS: tuple[str, ...] = ("Chrome", "Safari", "Edge", "Firefox", "Samsung Internet")
_BROWSER_P = np.array(
    [
        [0.70, 0, 0.20, 0.10, 0],
        [0.40, 0.55, 0, 0.05, 0],
        [0.5, 0, 0, 0.5, 0],
        [0.15, 0.85, 0, 0, 0],
        [0.80, 0, 0, 0, 0.20],
        [0.10, 0.90, 0, 0, 0],
    ]
)
_SOURCES: tuple[tuple[str, str, float], ...] = (
    ("google", "organic", 0.32), ("google", "cpc", 0.18), ("(direct)", "(none)", 0.20),
    ("newsletter", "email", 0.10), ("facebook", "social", 0.06), ("instagram", "social", 0.06),
    ("bing", "organic", 0.03), ("partner-blog", "referral", 0.05),
)  # fmt: skip
_SRC_P = np.array([s[2] for s in _SOURCES])
_NEWSLETTER = 3  # index of (newsletter, email) in _SOURCES
_DEVICE_P = np.array([0.45, 0.45, 0.10])
_EMAIL_DEVICE_P = np.array([0.35, 0.60, 0.05])

_STATIC = (
    "/",
    "/sale",
    "/new",
    "/about",
    "/help/shipping",
    "/account",
    "/cart",
    "/checkout",
    "/checkout/thank-you",
    "/?utm_source=newsletter&utm_medium=email",
    "/spring?utm_source=newsletter&utm_medium=email&utm_campaign=CMP-2025-SPRING",
)
_U_HOME, _U_SALE, _U_NEW = 0, 1, 2
_U_BROWSE = 6  # the first six static pages are browsable
_U_CHECKOUT, _U_THANKS, _U_NEWSLETTER, _U_CAMPAIGN = 7, 8, 9, 10
_PI = {name: i for i, name in enumerate(PERSONA_NAMES)}


_DTYPES = {"cust": np.int32, "logged": np.bool_, "anon": np.uint64, "ts": np.int64,
           "type": np.int8, "device": np.int8, "os": np.int8, "browser": np.int8, "src": np.int8,
           "product": np.int32, "url": np.int32}  # fmt: skip


@dataclass
class _Ev:
    """Events as parallel arrays (codes; -1 means null)."""

    cust: np.ndarray
    logged: np.ndarray
    anon: np.ndarray  # uint64, 0 = null
    ts: np.ndarray
    type: np.ndarray
    device: np.ndarray
    os: np.ndarray
    browser: np.ndarray
    src: np.ndarray
    product: np.ndarray
    url: np.ndarray

    @staticmethod
    def concat(parts: list[_Ev]) -> _Ev:
        """Concatenate, narrowing the dtypes (the sort by time is then cheaper)."""
        return _Ev(
            *(
                np.concatenate([getattr(p, f) for p in parts]).astype(_DTYPES[f], copy=False)
                for f in _Ev.__dataclass_fields__
            )
        )

    def take(self, idx: np.ndarray) -> _Ev:
        return _Ev(*(getattr(self, f)[idx] for f in _Ev.__dataclass_fields__))


def _urls(ctx: Context) -> tuple[pa.StringArray, int, int, int]:
    """All URLs events can have; returns them and where category, search and product URLs start."""
    cats = list(CATEGORIES)
    terms = sorted({noun.lower() for c in CATEGORIES.values() for noun in c[3]})
    paths = list(_STATIC) + [f"/c/{c}" for c in cats]
    paths += ["/search?q=" + t.replace(" ", "+") for t in terms]
    urls = pa.array([SITE + p for p in paths], pa.string())
    product_urls = A.join(SITE + "/p/", ctx.catalog.sku)
    return (pa.concat_arrays([urls, product_urls]), len(_STATIC), len(_STATIC) + len(cats),
            len(paths))  # fmt: skip


def _os_browser(rng: np.random.Generator, device: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    known = device >= 0
    os = np.where(known, A.choice_rows(rng, _OS_P, np.maximum(device, 0)), -1)
    br = np.where(known, A.choice_rows(rng, _BROWSER_P, np.maximum(os, 0)), -1)
    return os, br


def _sessions(
    rng: np.random.Generator,
    ctx: Context,
    s_cust: np.ndarray,
    t0: np.ndarray,
    device: np.ndarray,
    anon: np.ndarray,
    logged: np.ndarray,
    product_views: np.ndarray,
    cart_p: np.ndarray,
    category: np.ndarray,
    url_base: tuple[int, int, int],
) -> _Ev:
    """Expand sessions into their events (session, page views, search, product views, cart)."""
    cat = ctx.catalog
    n_s = len(t0)
    cat_url, search_url, product_url = url_base
    pv = rng.poisson(0.4, n_s)
    srch = (rng.random(n_s) < 0.25).astype(np.int64)
    prod = rng.poisson(product_views)
    cart = ((rng.random(n_s) < cart_p) & (prod > 0)).astype(np.int64)
    size = 1 + pv + srch + prod + cart
    sess = np.repeat(np.arange(n_s), size)
    n_e = len(sess)
    first = np.cumsum(size) - size
    k = np.arange(n_e) - np.repeat(first, size)
    t1 = 1 + pv[sess]
    t2 = t1 + srch[sess]
    t3 = t2 + prod[sess]
    kind = (k >= 1).astype(np.int64) + (k >= t1) + (k >= t2) + (k >= t3)
    etype = np.array([_T["session"], _T["page_view"], _T["search"], _T["product_view"],
                      _T["add_to_cart"]])[kind]  # fmt: skip
    gaps = np.where(k == 0, 0, rng.exponential(45.0, n_e)).astype(np.int64) + (k > 0)
    cs = np.cumsum(gaps)
    ts = t0[sess] + cs - cs[first][sess]

    ecat = category[sess]
    is_prod = (kind == 3) | (kind == 4)
    sku = cat.cat_start[ecat] + (rng.random(n_e) * cat.cat_size[ecat]).astype(np.int64)
    product = np.where(is_prod, sku, -1)
    landing = np.where(
        rng.random(n_e) < 0.35,
        cat_url + ecat,
        rng.choice([_U_HOME, _U_SALE, _U_NEW], n_e, p=[0.6, 0.25, 0.15]),
    )
    page = np.where(rng.random(n_e) < 0.5, cat_url + ecat, rng.integers(0, _U_BROWSE, n_e))
    search = search_url + rng.integers(0, product_url - search_url, n_e)
    url = np.select([kind == 0, kind == 1, kind == 2], [landing, page, search], product_url + sku)
    os, br = _os_browser(rng, device)
    src = A.choice_rows(rng, _SRC_P[None, :], np.zeros(n_s, dtype=np.int64))
    return _Ev(
        cust=s_cust[sess],
        logged=logged[sess],
        anon=anon[sess],
        ts=ts,
        type=etype,
        device=device[sess],
        os=os[sess],
        browser=br[sess],
        src=np.where(k == 0, src[sess], -1),
        product=product,
        url=url,
    )  # fmt: skip


def make_events(
    rng: np.random.Generator,
    ctx: Context,
    persona: np.ndarray,
    created_s: np.ndarray,
    accepts_email: np.ndarray,
    primary_device: np.ndarray,
    cookies: np.ndarray,
    perm: np.ndarray,
    breadth: np.ndarray,
    orders: Orders,
    campaign_events: tuple[np.ndarray, np.ndarray, np.ndarray],
    customer_ids: pa.StringArray,
    first_event_number: int,
) -> pa.Table:
    """Generate the events of a chunk of customers (sorted by time).

    Parameters
    ----------
    cookies
        ``(n, 2)`` uint64 cookie ids per customer (primary and secondary device).
    campaign_events
        ``(customer, ts, is_click)`` of the campaign's e-mail opens and clicks.
    first_event_number
        Number of the first event (event ids are ``E`` + 10 digits).
    """
    n = len(persona)
    urls, cat_url, search_url, product_url = _urls(ctx)
    base = (cat_url, search_url, product_url)

    # Last order per customer (lapsed and one-time customers browse around their orders).
    last_ts = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_ts, orders.cust, orders.ts)

    shape = 4.0
    mean = column("sessions")[persona]
    n_sess = rng.poisson(rng.gamma(shape, mean / shape))
    s_cust = np.repeat(np.arange(n), n_sess)
    ns = len(s_cust)
    sp = persona[s_cust]
    ws = created_s[s_cust]
    we = np.full(ns, ctx.t_end, dtype=np.int64)
    lt = last_ts[s_cust]
    lapsed_early = (sp == _PI["lapsed_loyal"]) & (rng.random(ns) < 0.85) & (lt > 0)
    we = np.where(lapsed_early, np.minimum(lt + 20 * DAY, ctx.t_end), we)
    once = (sp == _PI["one_time"]) & (lt > 0)
    we = np.where(once, np.minimum(lt + 15 * DAY, ctx.t_end), we)
    t0 = ws + (rng.random(ns) * np.maximum(we - ws, 0)).astype(np.int64)
    dev = np.where(rng.random(ns) < 0.75, primary_device[s_cust], rng.choice(3, ns, p=_DEVICE_P))
    anon = cookies[s_cust, (dev != primary_device[s_cust]).astype(np.int64)]
    slot = (rng.random(ns) * breadth[s_cust]).astype(np.int64)
    parts = [
        _sessions(rng, ctx, s_cust, t0, dev, anon, rng.random(ns) < 0.8,
                  column("product_views")[sp], column("cart_p")[sp],
                  perm[s_cust, slot].astype(np.int64), base),
    ]  # fmt: skip

    # Anonymous visitors who never registered.
    n_vis = int(round(0.2 * n))
    v_sess = 1 + rng.poisson(0.4, n_vis)
    nv = int(v_sess.sum())
    v_cookie = np.repeat(rng.integers(1, 2**63, n_vis, dtype=np.uint64), v_sess)
    parts.append(
        _sessions(rng, ctx, np.full(nv, -1), rng.integers(ctx.t_start, ctx.t_end, nv),
                  rng.choice(3, nv, p=_DEVICE_P), v_cookie, np.zeros(nv, bool),
                  np.full(nv, 1.2), np.full(nv, 0.08), rng.integers(0, len(CATEGORIES), nv), base)
    )  # fmt: skip

    # Purchases made on the web or in the app.
    online = np.flatnonzero(
        (orders.channel == CHANNELS.index("web")) | (orders.channel == CHANNELS.index("app"))
    )
    no = len(online)
    o_dev = orders.device[online]
    os, br = _os_browser(rng, o_dev)
    br = np.where(orders.channel[online] == CHANNELS.index("app"), -1, br)
    o_cust = orders.cust[online]
    o_ts = orders.ts[online] - rng.integers(0, 90, no)
    o_sku = orders.l_sku[orders.first_line()[online]]
    parts.append(
        _Ev(cust=o_cust, logged=np.ones(no, bool), anon=cookies[o_cust, 0], ts=o_ts,
            type=np.full(no, _T["purchase"]), device=o_dev, os=os, browser=br,
            src=np.full(no, -1), product=o_sku, url=np.full(no, _U_THANKS))
    )  # fmt: skip
    # A quarter of them also left a checkout event a few minutes earlier.
    h = rng.random(no) < 0.25
    nh = int(h.sum())
    parts.append(
        _Ev(cust=o_cust[h], logged=np.ones(nh, bool), anon=cookies[o_cust[h], 0],
            ts=o_ts[h] - rng.integers(60, 600, nh), type=np.full(nh, _T["checkout"]),
            device=o_dev[h], os=os[h], browser=br[h], src=np.full(nh, -1),
            product=np.full(nh, -1), url=np.full(nh, _U_CHECKOUT))
    )  # fmt: skip

    # Newsletter opens (and some clicks) of opted-in customers.
    months = np.maximum(ctx.t_end - created_s, 0) / (30 * DAY)
    opens = rng.poisson(column("email_opens_per_month")[persona] * months * accepts_email)
    e_cust = np.repeat(np.arange(n), opens)
    ne = len(e_cust)
    e_ts = created_s[e_cust] + (rng.random(ne) * (ctx.t_end - created_s[e_cust])).astype(np.int64)
    e_dev = rng.choice(3, ne, p=_EMAIL_DEVICE_P)
    os, br = _os_browser(rng, e_dev)
    parts.append(
        _Ev(cust=e_cust, logged=np.ones(ne, bool), anon=np.zeros(ne, np.uint64), ts=e_ts,
            type=np.full(ne, _T["email_open"]), device=e_dev, os=os, browser=np.full(ne, -1),
            src=np.full(ne, _NEWSLETTER), product=np.full(ne, -1), url=np.full(ne, -1))
    )  # fmt: skip
    clicked = rng.random(ne) < 0.2
    c = np.flatnonzero(clicked)
    parts.append(
        _Ev(cust=e_cust[c], logged=np.ones(len(c), bool), anon=cookies[e_cust[c], 0],
            ts=np.minimum(e_ts[c] + rng.integers(30, 3600, len(c)), ctx.t_end),
            type=np.full(len(c), _T["email_click"]), device=e_dev[c], os=os[c], browser=br[c],
            src=np.full(len(c), _NEWSLETTER), product=np.full(len(c), -1),
            url=np.full(len(c), _U_NEWSLETTER))
    )  # fmt: skip

    # The spring campaign's opens and clicks (treatment arm only).
    c_cust, c_ts, c_click = campaign_events
    nc = len(c_cust)
    c_dev = rng.choice(3, nc, p=_EMAIL_DEVICE_P)
    os, br = _os_browser(rng, c_dev)
    parts.append(
        _Ev(cust=c_cust, logged=np.ones(nc, bool),
            anon=np.where(c_click, cookies[c_cust, 0], np.uint64(0)), ts=c_ts,
            type=np.where(c_click, _T["email_click"], _T["email_open"]), device=c_dev, os=os,
            browser=np.where(c_click, br, -1), src=np.full(nc, _NEWSLETTER),
            product=np.full(nc, -1), url=np.where(c_click, _U_CAMPAIGN, -1))
    )  # fmt: skip

    ev = _Ev.concat(parts)
    ev.ts = np.clip(ev.ts, ctx.t_start, ctx.t_end)
    ev = ev.take(np.argsort(ev.ts, kind="stable"))
    m = len(ev.ts)
    src_names = sorted({s[0] for s in _SOURCES})
    med_names = sorted({s[1] for s in _SOURCES})
    src_idx = np.array([src_names.index(s[0]) for s in _SOURCES])[np.maximum(ev.src, 0)]
    med_idx = np.array([med_names.index(s[1]) for s in _SOURCES])[np.maximum(ev.src, 0)]
    return pa.table(
        {
            "event_id": A.fixed_width_ids("E", first_event_number + np.arange(m), 10),
            "customer_id": A.cat(customer_ids, np.maximum(ev.cust, 0), (ev.cust < 0) | ~ev.logged),
            "anonymous_id": A.null_where(A.hex_ids("a", ev.anon, 16), ev.anon == 0),
            "ts": A.timestamps(ev.ts * 10**6),
            "type": A.cat(EVENT_TYPES, ev.type),
            "device": A.cat(DEVICES, np.maximum(ev.device, 0), ev.device < 0),
            "os": A.cat(OS_NAMES, np.maximum(ev.os, 0), ev.os < 0),
            "browser": A.cat(BROWSERS, np.maximum(ev.browser, 0), ev.browser < 0),
            "source": A.cat(src_names, src_idx, ev.src < 0),
            "medium": A.cat(med_names, med_idx, ev.src < 0),
            "product_id": A.cat(ctx.catalog.sku, np.maximum(ev.product, 0), ev.product < 0),
            "url": A.cat(urls, np.maximum(ev.url, 0), ev.url < 0),
        }
    )
