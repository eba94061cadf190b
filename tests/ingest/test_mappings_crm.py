"""Built-in crm_contacts mapping on tests/data/formats/crm_contacts.csv (values from its README)."""

from __future__ import annotations

from datetime import UTC, datetime

from .conftest import FORMATS, by_key, load, write

# Record ID: (email, country ISO, country as given, postal_code)
CRM = {
    "51": ("ada.lovelace@example.com", "US", "United States", "94110"),
    "52": ("charles.babbage@example.com", "GB", "United Kingdom", "EC1A 1BB"),
    "53": ("emilie.chatelet@example.com", "FR", "France", "75001"),
    "54": ("margaret.hamilton@example.com", "US", "United States", "02139"),
    "55": (None, "US", "United States", "97201"),
    "56": ("rosalind.franklin@example.com", "GB", "United Kingdom", "NW1 2DB"),
    "57": ("s.ramanujan@example.com", "IN", "India", "560001"),
    "58": ("barbara.liskov@example.com", "US", "United States", "02139"),
}


def test_crm_contacts(ws):
    rep = load(ws, FORMATS / "crm_contacts.csv", mapping="crm_contacts")
    assert rep.table == "customers"
    assert (rep.rows_in, rep.rows_loaded, rep.rows_quarantined) == (8, 8, 0)
    c = by_key(ws, "customers", "customer_id")
    assert sorted(c) == sorted(CRM)
    for rid, (email, iso, name, zip_) in CRM.items():
        assert c[rid]["email"] == email, rid  # 52 was upper case, 57 had spaces
        assert c[rid]["postal_code"] == zip_, rid  # 54/58: leading zero kept without apostrophe
        # the schema stores ISO 3166-1 alpha-2: names are mapped to codes
        assert c[rid]["country"] == iso, (rid, name)
        assert c[rid]["is_stub"] is False


def test_crm_names_phones_titles_regions_dates(ws):
    load(ws, FORMATS / "crm_contacts.csv", mapping="crm_contacts")
    c = by_key(ws, "customers", "customer_id")
    assert (c["53"]["first_name"], c["53"]["last_name"], c["53"]["region"], c["53"]["city"]) == (
        "Émilie",
        "du Châtelet",
        "Île-de-France",
        "Paris",
    )
    assert c["55"]["phone"] == "+1 503-555-0142"
    assert c["56"]["phone"] is None
    assert c["58"]["occupation"] == "Professor, Computer Science"
    assert c["51"]["occupation"] == "Analyst"
    # Create Date has no offset: read as UTC
    assert c["51"]["created_at"] == datetime(2024, 3, 5, 14, 22, tzinfo=UTC)
    assert c["51"]["updated_at"] == datetime(2024, 6, 1, 9, 10, tzinfo=UTC)
    assert c["53"]["updated_at"] is None and c["55"]["updated_at"] is None


def test_salesforce_names_are_alternatives(ws, tmp_path):
    f = write(
        tmp_path / "sf.csv",
        "Id,FirstName,LastName,Email,MailingCity,MailingPostalCode,CreatedDate\n"
        "003A,Grace,Hopper,GRACE@x.com,Arlington,02134,2024-01-02T03:04:05Z\n",
    )
    rep = load(ws, f, mapping="crm_contacts")
    assert rep.rows_loaded == 1
    g = by_key(ws, "customers", "customer_id")["003A"]
    assert (g["first_name"], g["email"], g["city"], g["postal_code"]) == (
        "Grace",
        "grace@x.com",
        "Arlington",
        "02134",
    )
    assert g["created_at"] == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
