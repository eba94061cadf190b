"""Names, e-mail domains, demographics and company names for synthetic people.

All e-mail domains use reserved example names (``*.example``, ``example.com``) so
that no generated address can belong to a real person.
"""

from __future__ import annotations

_F = "female"
_M = "male"

#: name group -> (female first names, male first names, last names)
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
         "Evelyn", "Grace", "Chloe", "Emily", "Lucy", "Hannah", "Zoe", "Priya", "Maya"),
        ("Liam", "Noah", "Oliver", "James", "Elijah", "William", "Henry", "Lucas", "Benjamin",
         "Jack", "Samuel", "Daniel", "Ethan", "Logan", "Owen", "Leo", "Arjun", "Mateo"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
         "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
         "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green",
         "Baker", "Adams", "Nguyen", "Patel", "Kim", "Murphy", "Campbell", "Evans"),
    ),
    "de": (
        ("Mia", "Emilia", "Hannah", "Sofia", "Lina", "Marie", "Lea", "Anna", "Clara", "Leonie",
         "Lena", "Julia", "Katharina", "Sabine", "Petra"),
        ("Noah", "Leon", "Paul", "Ben", "Finn", "Elias", "Felix", "Lukas", "Jonas", "Maximilian",
         "Tobias", "Stefan", "Michael", "Andreas", "Jürgen"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
         "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Yılmaz"),
    ),
    "fr": (
        ("Louise", "Jade", "Ambre", "Alice", "Emma", "Rose", "Chloé", "Léa", "Manon", "Camille",
         "Inès", "Juliette", "Margaux", "Nathalie", "Élodie"),
        ("Gabriel", "Léo", "Raphaël", "Arthur", "Louis", "Jules", "Adam", "Hugo", "Lucas",
         "Nathan", "Théo", "Antoine", "Julien", "Nicolas", "Mathieu"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David",
         "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "Lefèvre", "Benali"),
    ),
    "nl": (
        ("Emma", "Julia", "Mila", "Tess", "Sophie", "Zoë", "Sara", "Nora", "Eva", "Fenna",
         "Lotte", "Anouk", "Sanne", "Femke", "Iris"),
        ("Noah", "Sem", "Liam", "Lucas", "Daan", "Finn", "Levi", "Luuk", "Bram", "Jesse", "Thijs",
         "Ruben", "Joris", "Pieter", "Sven"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
         "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
         "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "Bulut"),
    ),
    "es": (
        ("Lucía", "Sofía", "Martina", "María", "Julia", "Paula", "Valeria", "Emma", "Daniela",
         "Carla", "Alba", "Noa", "Elena", "Carmen", "Laura"),
        ("Hugo", "Martín", "Lucas", "Mateo", "Leo", "Daniel", "Alejandro", "Pablo", "Manuel",
         "Álvaro", "Adrián", "David", "Javier", "Sergio", "Diego"),
        ("García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
         "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
         "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez"),
    ),
    "it": (
        ("Sofia", "Giulia", "Aurora", "Alice", "Ginevra", "Emma", "Giorgia", "Greta", "Beatrice",
         "Anna", "Chiara", "Francesca", "Martina", "Elena", "Sara"),
        ("Leonardo", "Francesco", "Alessandro", "Lorenzo", "Mattia", "Tommaso", "Gabriele",
         "Andrea", "Riccardo", "Edoardo", "Matteo", "Giuseppe", "Marco", "Luca", "Davide"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
         "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
         "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani"),
    ),
}  # fmt: skip

#: Characters replaced when building the local part of an e-mail address.
TRANSLIT: dict[str, str] = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ë": "e", "ê": "e",
    "à": "a", "á": "a", "â": "a", "í": "i", "ï": "i", "ó": "o", "ô": "o", "ú": "u", "ñ": "n",
    "ç": "c", "ı": "i", " ": "",
}  # fmt: skip

EMAIL_DOMAINS = (
    "mail.example",
    "inbox.example",
    "post.example",
    "webmail.example",
    "example.com",
    "example.net",
    "example.org",
    "posteo.example",
)
GUEST_EMAIL_DOMAIN = "guest-checkout.example"

GENDERS = (_F, _M, "non-binary")
INCOME_BANDS = ("<25k", "25-50k", "50-75k", "75-100k", "100-150k", "150k+")
EDUCATION = ("secondary", "vocational", "bachelor", "master", "doctorate")
MARITAL = ("single", "married", "partnered", "divorced", "widowed")
HOUSEHOLDS = ("single", "couple", "family with children", "shared", "multi-generational")
OCCUPATIONS = ("engineer", "teacher", "nurse", "sales manager", "software developer",
               "designer", "accountant", "student", "retired", "self-employed", "consultant",
               "retail associate", "physician", "marketing specialist", "project manager",
               "electrician", "chef")  # fmt: skip

INDUSTRIES = (
    "retail",
    "hospitality",
    "education",
    "healthcare",
    "construction",
    "technology",
    "professional services",
    "manufacturing",
    "non-profit",
)
EMPLOYEE_BANDS = ("1-9", "10-49", "50-249", "250-999", "1000+")
TIERS = ("bronze", "silver", "gold", "platinum")
COMPANY_WORDS = (
    "Supply",
    "Works",
    "Partners",
    "Studio",
    "Group",
    "Logistics",
    "Trading",
    "Outfitters",
    "Solutions",
    "Hospitality",
    "Labs",
    "Interiors",
    "Services",
)
COMPANY_SUFFIX: dict[str, str] = {
    "US": "Inc.", "CA": "Ltd.", "GB": "Ltd", "DE": "GmbH", "FR": "SARL", "NL": "B.V.",
    "ES": "S.L.", "IT": "S.r.l.", "AU": "Pty Ltd",
}  # fmt: skip

#: Survey (psychographic) answers, see :mod:`custseg.synth._survey`.
INTERESTS = ("outdoors", "fashion", "tech", "home", "fitness")
VALUES = ("sustainability", "quality", "price", "convenience")
LIFESTYLES = (
    "urban professional",
    "family-focused",
    "student",
    "active outdoors",
    "homebody",
    "retired",
)
PRICE_SENSITIVITY = ("low", "medium", "high")
