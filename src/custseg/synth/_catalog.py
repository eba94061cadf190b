"""The product catalog: about 400 SKUs over 10 categories and 30 brands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A

__all__ = ["CATEGORIES", "BRANDS", "Catalog", "build_catalog"]

#: category -> (SKU prefix, median price in USD, mean unit weight in kg, product nouns)
CATEGORIES: dict[str, tuple[str, float, float, tuple[str, ...]]] = {
    "apparel": (
        "APP",
        45.0,
        0.4,
        ("T-Shirt", "Hoodie", "Jeans", "Jacket", "Dress", "Sweater", "Shorts", "Polo"),
    ),
    "footwear": (
        "FTW",
        85.0,
        1.0,
        (
            "Sneakers",
            "Boots",
            "Sandals",
            "Loafers",
            "Trail Runners",
            "Slippers",
            "High-Tops",
            "Oxfords",
        ),
    ),
    "outdoor": (
        "OUT",
        75.0,
        1.5,
        (
            "Tent",
            "Backpack",
            "Sleeping Bag",
            "Headlamp",
            "Trekking Poles",
            "Camp Stove",
            "Water Filter",
            "Rain Shell",
        ),
    ),
    "electronics": (
        "ELE",
        140.0,
        0.8,
        (
            "Headphones",
            "Speaker",
            "Charger",
            "Smartwatch",
            "Keyboard",
            "Mouse",
            "Webcam",
            "Power Bank",
        ),
    ),
    "home": (
        "HOM",
        55.0,
        2.0,
        (
            "Throw Blanket",
            "Table Lamp",
            "Cushion",
            "Vase",
            "Rug",
            "Candle Set",
            "Wall Clock",
            "Storage Box",
        ),
    ),
    "kitchen": (
        "KIT",
        35.0,
        1.2,
        (
            "Chef Knife",
            "Skillet",
            "Mug Set",
            "Cutting Board",
            "Kettle",
            "Blender",
            "Dutch Oven",
            "Spice Rack",
        ),
    ),
    "beauty": (
        "BEA",
        22.0,
        0.2,
        (
            "Face Cream",
            "Serum",
            "Shampoo",
            "Lip Balm",
            "Body Lotion",
            "Sunscreen",
            "Cleanser",
            "Hair Oil",
        ),
    ),
    "fitness": (
        "FIT",
        40.0,
        2.5,
        (
            "Yoga Mat",
            "Dumbbell Set",
            "Resistance Bands",
            "Jump Rope",
            "Foam Roller",
            "Kettlebell",
            "Gym Bag",
            "Water Bottle",
        ),
    ),
    "toys": (
        "TOY",
        28.0,
        0.6,
        (
            "Building Set",
            "Puzzle",
            "Plush Bear",
            "Board Game",
            "RC Car",
            "Art Kit",
            "Train Set",
            "Doll House",
        ),
    ),
    "office": (
        "OFF",
        18.0,
        0.5,
        (
            "Notebook",
            "Pen Set",
            "Desk Organizer",
            "Stapler",
            "Printer Paper",
            "Desk Lamp",
            "Whiteboard",
            "File Folders",
        ),
    ),
}

BRANDS: tuple[str, ...] = (
    "Northwind", "Alder & Finch", "Bluepeak", "Cobalt Co.", "Driftwood", "Ember", "Fjordline",
    "Granite Goods", "Halcyon", "Ironbark", "Juniper Lane", "Kestrel", "Lumen", "Marlow",
    "Nimbus", "Oakridge", "Pinecrest", "Quill & Co.", "Redstone", "Saltmarsh", "Tidewater",
    "Umbra", "Vantage", "Willow & Vine", "Xeno", "Yarrow", "Zephyr", "Brightline", "Coppergate",
    "Meadowlark",
)  # fmt: skip

_ADJECTIVES = (
    "Classic",
    "Essential",
    "Pro",
    "Ultra",
    "Everyday",
    "Premium",
    "Lite",
    "Compact",
    "Deluxe",
    "Eco",
    "Urban",
    "Alpine",
    "Studio",
    "Signature",
    "Travel",
)
_COLORS = ("Black", "White", "Navy", "Olive", "Sand", "Grey", "Red", "Forest", "Slate", "Rose")

#: Lowest and highest number of SKUs per category.
_SKUS_PER_CATEGORY = (32, 48)


@dataclass(frozen=True)
class Catalog:
    """The catalog as arrays, sorted by (category, price).

    Attributes
    ----------
    table
        The ``products`` table as written.
    category
        Category index of each SKU.
    price_cents
        USD list price in cents.
    weight_kg
        Unit weight.
    cat_start, cat_size
        Position of each category's first SKU and its number of SKUs.
    cat_median
        Median price in USD per category.
    sku
        SKU per row (unique).
    name, category_name, brand
        Per SKU, dictionary-encoded with unique dictionaries (``take`` keeps the encoding).
    """

    table: pa.Table
    category: np.ndarray
    price_cents: np.ndarray
    weight_kg: np.ndarray
    cat_start: np.ndarray
    cat_size: np.ndarray
    cat_median: np.ndarray
    sku: pa.StringArray
    name: pa.DictionaryArray
    category_name: pa.DictionaryArray
    brand: pa.DictionaryArray

    def __len__(self) -> int:
        return len(self.category)

    def local_price_cents(self, fx_to_usd: float) -> np.ndarray:
        """List prices in a currency worth ``fx_to_usd`` USD per unit, ending in .99."""
        if fx_to_usd == 1.0:
            return self.price_cents
        return np.maximum(np.ceil(self.price_cents / fx_to_usd / 100.0) * 100 - 1, 99).astype(
            np.int64
        )

    def pick(self, category: np.ndarray, target_usd: np.ndarray, jitter: np.ndarray) -> np.ndarray:
        """SKU index in ``category`` priced nearest ``target_usd``, moved by ``jitter`` places."""
        key = self.category * 10**8 + self.price_cents
        pos = np.searchsorted(key, category * 10**8 + np.round(target_usd * 100).astype(np.int64))
        lo = self.cat_start[category]
        hi = lo + self.cat_size[category] - 1
        return np.clip(pos + jitter, lo, hi)


def build_catalog(rng: np.random.Generator, start: date) -> Catalog:
    """Generate the catalog; every product is launched before ``start``."""
    names = list(CATEGORIES)
    rows: list[tuple[int, str, str, str, int, float, int]] = []
    start_s = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    serial = 10_000
    for ci, cat in enumerate(names):
        prefix, median, weight, nouns = CATEGORIES[cat]
        brands = rng.choice(len(BRANDS), size=int(rng.integers(4, 7)), replace=False)
        for _ in range(int(rng.integers(_SKUS_PER_CATEGORY[0], _SKUS_PER_CATEGORY[1] + 1))):
            serial += int(rng.integers(1, 40))
            brand = BRANDS[int(rng.choice(brands))]
            adjective = _ADJECTIVES[int(rng.integers(len(_ADJECTIVES)))]
            noun = nouns[int(rng.integers(len(nouns)))]
            color = _COLORS[int(rng.integers(len(_COLORS)))]
            pname = f"{brand} {adjective} {noun} - {color}"
            price = max(299, int(np.ceil(median * rng.lognormal(0.0, 0.55))) * 100 - 1)
            w = round(float(weight * rng.lognormal(0.0, 0.4)), 2)
            launched = start_s - int(rng.integers(86_400, 3 * 365 * 86_400))
            rows.append((ci, f"{prefix}-{serial}", pname, brand, price, w, launched))
    rows.sort(key=lambda r: (r[0], r[4], r[1]))
    category = np.array([r[0] for r in rows], dtype=np.int64)
    price = np.array([r[4] for r in rows], dtype=np.int64)
    table = pa.table(
        {
            "sku": pa.array([r[1] for r in rows], pa.string()),
            "product_name": pa.array([r[2] for r in rows], pa.string()),
            "category": pa.array([names[r[0]] for r in rows], pa.string()),
            "brand": pa.array([r[3] for r in rows], pa.string()),
            "price": A.money(price),
            "launched_at": A.timestamps(np.array([r[6] for r in rows], dtype=np.int64) * 10**6),
        }
    )
    size = np.bincount(category, minlength=len(names))
    return Catalog(
        table=table,
        category=category,
        price_cents=price,
        weight_kg=np.array([r[5] for r in rows]),
        cat_start=np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64),
        cat_size=size.astype(np.int64),
        cat_median=np.array([CATEGORIES[c][1] for c in names]),
        sku=table.column("sku").combine_chunks(),
        name=A.encode(table.column("product_name")),
        category_name=A.encode(table.column("category")),
        brand=A.encode(table.column("brand")),
    )
