"""A generic CRM contacts export (HubSpot, Salesforce and similar) into ``customers``."""

from __future__ import annotations

from custseg.config import ColumnSpec as C
from custseg.ingest.mapping import Mapping

__all__ = ["CRM_CONTACTS"]

CRM_CONTACTS = Mapping(
    name="crm_contacts",
    table="customers",
    description=(
        "CRM contacts CSV: HubSpot export/import labels (Record ID, First Name, ...) and "
        "Salesforce Contact API names (Id, FirstName, MailingCity, ...)."
    ),
    columns={
        "customer_id": C(column=["Record ID", "Contact ID", "Id", "ID"]),
        "first_name": C(column=["First Name", "First name", "FirstName"]),
        "last_name": C(column=["Last Name", "Last name", "LastName"]),
        "email": C(column=["Email", "Email Address", "E-mail"]),
        "phone": C(
            column=["Phone Number", "Phone number", "Phone", "Mobile phone number", "MobilePhone"]
        ),
        "occupation": C(column=["Job Title", "Job title", "Title"]),
        "city": C(column=["City", "MailingCity"]),
        "region": C(column=["State/Region", "MailingState"]),
        "country": C(column=["Country/Region", "MailingCountry", "Country"]),
        "postal_code": C(column=["Zip code", "Zip Code", "Postal Code", "MailingPostalCode"]),
        "created_at": C(column=["Create Date", "CreatedDate", "Created At"]),
        "updated_at": C(column=["Last Activity Date", "LastModifiedDate", "Last Modified Date"]),
        "tags": C(column=["Lifecycle stage", "Lifecycle Stage"]),
    },
)
