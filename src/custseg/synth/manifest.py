"""The manifest of a generated store (``manifest.json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

__all__ = ["SynthManifest", "MANIFEST_NAME"]

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class SynthManifest:
    """What :func:`custseg.synth.generate` wrote, with exact counts and the ground truth.

    Attributes
    ----------
    seed, customers, start, end
        The arguments of the run.
    dirty_enabled
        Whether dirty rows were injected.
    base_currency
        Currency the fx rates convert to (``USD``).
    fx_rates
        Units of the base currency per unit of each other currency
        (``base = amount * rate``).
    files
        Per table: ``{"path": path relative to the store, "rows": rows written}``.
    dirty
        Per dirty kind: exact number of rows of that kind (see :mod:`custseg.synth`).
    dirty_rates
        The documented rate of each kind.
    personas
        Number of customers per planted persona.
    campaign
        Ground truth of the campaign (also in ``truth/campaign.json``).
    stats
        Further exact counts (orders by status, return representation, guests, ...).
    version
        Version of the generator's data layout.
    """

    seed: int
    customers: int
    start: date
    end: date
    dirty_enabled: bool
    base_currency: str = "USD"
    fx_rates: dict[str, float] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    dirty: dict[str, int] = field(default_factory=dict)
    dirty_rates: dict[str, float] = field(default_factory=dict)
    personas: dict[str, int] = field(default_factory=dict)
    campaign: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-compatible data (dates as ISO strings)."""
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        return d

    def to_json(self) -> str:
        """The manifest as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SynthManifest:
        """Parse the text written by :meth:`to_json`."""
        d = json.loads(text)
        d["start"] = date.fromisoformat(d["start"])
        d["end"] = date.fromisoformat(d["end"])
        return cls(**d)

    @classmethod
    def read(cls, store: str | Path) -> SynthManifest:
        """Read ``manifest.json`` from a store directory (or the file itself)."""
        p = Path(store)
        if p.is_dir():
            p = p / MANIFEST_NAME
        return cls.from_json(p.read_text(encoding="utf-8"))

    def path(self, table: str) -> str:
        """Relative path of ``table``'s file."""
        return self.files[table]["path"]
