"""Real cities (with real coordinates) and per-country facts for the demo store.

The table holds 68 cities in nine countries. Customers are placed in a city
with a probability proportional to its country's share of the customer base and
the city's metro population, then jittered by a few kilometres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from custseg.synth import _arrow as A

__all__ = ["City", "CITIES", "COUNTRIES", "Geo", "GEO"]


@dataclass(frozen=True)
class City:
    """One city of the geography table."""

    name: str
    region: str
    country: str
    lat: float
    lon: float
    population_m: float
    utc_offset_h: float
    postal_prefix: str


@dataclass(frozen=True)
class Country:
    """Facts about one country the demo store sells to."""

    iso2: str
    share: float
    currency: str
    tax_rate: float
    phone_cc: str
    phone_digits: int
    language: str
    name_group: str
    postal_suffix: str  # D = digit, L = letter, anything else literal


COUNTRIES: dict[str, Country] = {
    c.iso2: c
    for c in (
        Country("US", 0.55, "USD", 0.07, "1", 10, "en", "en", "DD"),
        Country("CA", 0.08, "CAD", 0.13, "1", 10, "en", "en", " DLD"),
        Country("GB", 0.10, "GBP", 0.20, "44", 10, "en", "en", " DLL"),
        Country("DE", 0.07, "EUR", 0.19, "49", 10, "de", "de", "DDD"),
        Country("FR", 0.06, "EUR", 0.20, "33", 9, "fr", "fr", "DDD"),
        Country("NL", 0.03, "EUR", 0.21, "31", 9, "nl", "nl", "DD LL"),
        Country("ES", 0.04, "EUR", 0.21, "34", 9, "es", "es", "DDD"),
        Country("IT", 0.04, "EUR", 0.22, "39", 10, "it", "it", "DD"),
        Country("AU", 0.03, "USD", 0.10, "61", 9, "en", "en", "DD"),
    )
}

_C = City
CITIES: tuple[City, ...] = (
    # United States
    _C("New York", "New York", "US", 40.7128, -74.0060, 19.8, -5, "100"),
    _C("Los Angeles", "California", "US", 34.0522, -118.2437, 12.9, -8, "900"),
    _C("Chicago", "Illinois", "US", 41.8781, -87.6298, 9.4, -6, "606"),
    _C("Houston", "Texas", "US", 29.7604, -95.3698, 7.1, -6, "770"),
    _C("Phoenix", "Arizona", "US", 33.4484, -112.0740, 4.8, -7, "850"),
    _C("Philadelphia", "Pennsylvania", "US", 39.9526, -75.1652, 6.2, -5, "191"),
    _C("San Antonio", "Texas", "US", 29.4241, -98.4936, 2.6, -6, "782"),
    _C("San Diego", "California", "US", 32.7157, -117.1611, 3.3, -8, "921"),
    _C("Dallas", "Texas", "US", 32.7767, -96.7970, 7.6, -6, "752"),
    _C("Austin", "Texas", "US", 30.2672, -97.7431, 2.3, -6, "787"),
    _C("Seattle", "Washington", "US", 47.6062, -122.3321, 4.0, -8, "981"),
    _C("Denver", "Colorado", "US", 39.7392, -104.9903, 2.9, -7, "802"),
    _C("Boston", "Massachusetts", "US", 42.3601, -71.0589, 4.9, -5, "021"),
    _C("Atlanta", "Georgia", "US", 33.7490, -84.3880, 6.1, -5, "303"),
    _C("Miami", "Florida", "US", 25.7617, -80.1918, 6.1, -5, "331"),
    _C("Minneapolis", "Minnesota", "US", 44.9778, -93.2650, 3.7, -6, "554"),
    _C("Portland", "Oregon", "US", 45.5152, -122.6784, 2.5, -8, "972"),
    _C("San Francisco", "California", "US", 37.7749, -122.4194, 4.6, -8, "941"),
    _C("Nashville", "Tennessee", "US", 36.1627, -86.7816, 2.0, -6, "372"),
    _C("Detroit", "Michigan", "US", 42.3314, -83.0458, 4.3, -5, "482"),
    _C("Charlotte", "North Carolina", "US", 35.2271, -80.8431, 2.7, -5, "282"),
    _C("Salt Lake City", "Utah", "US", 40.7608, -111.8910, 1.3, -7, "841"),
    # Canada
    _C("Toronto", "Ontario", "CA", 43.6532, -79.3832, 6.2, -5, "M5V"),
    _C("Montreal", "Quebec", "CA", 45.5017, -73.5673, 4.3, -5, "H2X"),
    _C("Vancouver", "British Columbia", "CA", 49.2827, -123.1207, 2.6, -8, "V6B"),
    _C("Calgary", "Alberta", "CA", 51.0447, -114.0719, 1.5, -7, "T2P"),
    _C("Ottawa", "Ontario", "CA", 45.4215, -75.6972, 1.4, -5, "K1P"),
    _C("Edmonton", "Alberta", "CA", 53.5461, -113.4938, 1.4, -7, "T5J"),
    # United Kingdom
    _C("London", "England", "GB", 51.5074, -0.1278, 9.5, 0, "SW1A"),
    _C("Manchester", "England", "GB", 53.4808, -2.2426, 2.8, 0, "M1"),
    _C("Birmingham", "England", "GB", 52.4862, -1.8904, 2.9, 0, "B1"),
    _C("Leeds", "England", "GB", 53.8008, -1.5491, 1.9, 0, "LS1"),
    _C("Glasgow", "Scotland", "GB", 55.8642, -4.2518, 1.7, 0, "G1"),
    _C("Edinburgh", "Scotland", "GB", 55.9533, -3.1883, 0.9, 0, "EH1"),
    _C("Bristol", "England", "GB", 51.4545, -2.5879, 0.7, 0, "BS1"),
    # Germany
    _C("Berlin", "Berlin", "DE", 52.5200, 13.4050, 4.5, 1, "10"),
    _C("Hamburg", "Hamburg", "DE", 53.5511, 9.9937, 2.6, 1, "20"),
    _C("Munich", "Bavaria", "DE", 48.1351, 11.5820, 2.9, 1, "80"),
    _C("Cologne", "North Rhine-Westphalia", "DE", 50.9375, 6.9603, 2.1, 1, "50"),
    _C("Frankfurt", "Hesse", "DE", 50.1109, 8.6821, 2.3, 1, "60"),
    _C("Stuttgart", "Baden-Wurttemberg", "DE", 48.7758, 9.1829, 2.7, 1, "70"),
    # France
    _C("Paris", "Ile-de-France", "FR", 48.8566, 2.3522, 12.3, 1, "75"),
    _C("Lyon", "Auvergne-Rhone-Alpes", "FR", 45.7640, 4.8357, 2.3, 1, "69"),
    _C("Marseille", "Provence-Alpes-Cote d'Azur", "FR", 43.2965, 5.3698, 1.9, 1, "13"),
    _C("Toulouse", "Occitanie", "FR", 43.6047, 1.4442, 1.4, 1, "31"),
    _C("Bordeaux", "Nouvelle-Aquitaine", "FR", 44.8378, -0.5792, 1.3, 1, "33"),
    _C("Lille", "Hauts-de-France", "FR", 50.6292, 3.0573, 1.2, 1, "59"),
    # Netherlands
    _C("Amsterdam", "North Holland", "NL", 52.3676, 4.9041, 2.5, 1, "10"),
    _C("Rotterdam", "South Holland", "NL", 51.9244, 4.4777, 1.8, 1, "30"),
    _C("Utrecht", "Utrecht", "NL", 52.0907, 5.1214, 0.9, 1, "35"),
    _C("The Hague", "South Holland", "NL", 52.0705, 4.3007, 1.1, 1, "25"),
    _C("Eindhoven", "North Brabant", "NL", 51.4416, 5.4697, 0.8, 1, "56"),
    # Spain
    _C("Madrid", "Community of Madrid", "ES", 40.4168, -3.7038, 6.8, 1, "28"),
    _C("Barcelona", "Catalonia", "ES", 41.3874, 2.1686, 5.6, 1, "08"),
    _C("Valencia", "Valencian Community", "ES", 39.4699, -0.3763, 1.6, 1, "46"),
    _C("Seville", "Andalusia", "ES", 37.3891, -5.9845, 1.5, 1, "41"),
    _C("Bilbao", "Basque Country", "ES", 43.2630, -2.9350, 1.0, 1, "48"),
    # Italy
    _C("Rome", "Lazio", "IT", 41.9028, 12.4964, 4.3, 1, "001"),
    _C("Milan", "Lombardy", "IT", 45.4642, 9.1900, 4.3, 1, "201"),
    _C("Naples", "Campania", "IT", 40.8518, 14.2681, 3.1, 1, "801"),
    _C("Turin", "Piedmont", "IT", 45.0703, 7.6869, 2.2, 1, "101"),
    _C("Florence", "Tuscany", "IT", 43.7696, 11.2558, 1.0, 1, "501"),
    _C("Bologna", "Emilia-Romagna", "IT", 44.4949, 11.3426, 1.0, 1, "401"),
    # Australia
    _C("Sydney", "New South Wales", "AU", -33.8688, 151.2093, 5.3, 10, "20"),
    _C("Melbourne", "Victoria", "AU", -37.8136, 144.9631, 5.1, 10, "30"),
    _C("Brisbane", "Queensland", "AU", -27.4698, 153.0251, 2.6, 10, "40"),
    _C("Perth", "Western Australia", "AU", -31.9505, 115.8605, 2.1, 8, "60"),
    _C("Adelaide", "South Australia", "AU", -34.9285, 138.6007, 1.4, 9.5, "50"),
)

#: Letters used in Canadian, British and Dutch postal codes (no easily confused letters).
_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"


class Geo:
    """Array views of :data:`CITIES` and :data:`COUNTRIES` for vectorized lookups."""

    def __init__(self) -> None:
        self.country_codes: list[str] = list(COUNTRIES)
        cidx = {c: i for i, c in enumerate(self.country_codes)}
        self.city_country = np.array([cidx[c.country] for c in CITIES], dtype=np.int64)
        self.lat = np.array([c.lat for c in CITIES])
        self.lon = np.array([c.lon for c in CITIES])
        self.utc_offset_s = np.array([int(c.utc_offset_h * 3600) for c in CITIES], dtype=np.int64)
        pop = np.array([c.population_m for c in CITIES])
        share = np.array([COUNTRIES[c.country].share for c in CITIES])
        country_pop = np.bincount(self.city_country, weights=pop)
        self.city_p = share * pop / country_pop[self.city_country]
        self.city_p /= self.city_p.sum()
        self.city_names = pa.array([c.name for c in CITIES], pa.string())
        self.regions = pa.array([c.region for c in CITIES], pa.string())
        #: Distinct region names, and each city's index among them.
        self.region_names = sorted({c.region for c in CITIES})
        self.city_region = np.array([self.region_names.index(c.region) for c in CITIES])
        self.postal_prefix = pa.array([c.postal_prefix for c in CITIES], pa.string())
        self.countries = [COUNTRIES[c] for c in self.country_codes]
        self.tax_rate = np.array([c.tax_rate for c in self.countries])
        self.currency_codes: list[str] = ["USD", "EUR", "GBP", "CAD"]
        self.country_currency = np.array(
            [self.currency_codes.index(c.currency) for c in self.countries], dtype=np.int64
        )
        # Montreal customers mostly speak French.
        self.city_french = np.array([c.name == "Montreal" for c in CITIES])
        # For shipping to another city of the same country.
        self.country_cities = [np.flatnonzero(self.city_country == i) for i in range(len(cidx))]

    def sample_cities(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """City indices for ``n`` customers."""
        return rng.choice(len(CITIES), size=n, p=self.city_p)

    def other_city_same_country(self, rng: np.random.Generator, city: np.ndarray) -> np.ndarray:
        """A random city of the same country as each of ``city`` (possibly the same one)."""
        out = np.empty_like(city)
        country = self.city_country[city]
        for i, members in enumerate(self.country_cities):
            m = country == i
            if m.any():
                out[m] = members[rng.integers(0, len(members), size=int(m.sum()))]
        return out

    def postal_codes(self, rng: np.random.Generator, city: np.ndarray) -> pa.StringArray:
        """Plausible postal codes for customers living in ``city`` (city prefix + random tail)."""
        n = len(city)
        if n == 0:
            return pa.array([], pa.string())
        country = self.city_country[city]
        parts: list[pa.Array] = []
        rows: list[np.ndarray] = []
        for i, c in enumerate(self.countries):
            idx = np.flatnonzero(country == i)
            if len(idx) == 0:
                continue
            cols = []
            for ch in c.postal_suffix:
                if ch == "D":
                    cols.append(48 + rng.integers(0, 10, size=len(idx), dtype=np.uint8))
                elif ch == "L":
                    letters = np.frombuffer(_POSTAL_LETTERS.encode(), dtype=np.uint8)
                    cols.append(letters[rng.integers(0, len(letters), size=len(idx))])
                else:
                    cols.append(np.full(len(idx), ord(ch), dtype=np.uint8))
            suffix = A._from_matrix(np.stack(cols, axis=1))
            parts.append(A.join(A.take(self.postal_prefix, city[idx]), suffix))
            rows.append(idx)
        order = np.concatenate(rows)
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)
        return pa.concat_arrays(parts).take(pa.array(inverse))


GEO = Geo()
