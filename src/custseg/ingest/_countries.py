"""Country names -> ISO 3166-1 alpha-2, for sources that give names (CRMs, GA4 geo).

English short names and common variants, lower-cased. Unknown names are kept as given;
two-letter values are upper-cased.
"""

from __future__ import annotations

__all__ = ["COUNTRY_CODES"]

_NAMES = """
US: united states, united states of america, usa, u.s., u.s.a., america
GB: united kingdom, uk, u.k., great britain, britain, england, scotland, wales, northern ireland
CA: canada
MX: mexico
BR: brazil, brasil
AR: argentina
CL: chile
CO: colombia
PE: peru
DE: germany, deutschland
FR: france
NL: netherlands, the netherlands, holland, nederland
BE: belgium, belgique, belgië
LU: luxembourg
CH: switzerland, schweiz, suisse
AT: austria, österreich
IT: italy, italia
ES: spain, españa
PT: portugal
IE: ireland
DK: denmark, danmark
SE: sweden, sverige
NO: norway, norge
FI: finland, suomi
IS: iceland
PL: poland, polska
CZ: czechia, czech republic
SK: slovakia
HU: hungary
RO: romania
BG: bulgaria
GR: greece
HR: croatia
SI: slovenia
RS: serbia
UA: ukraine
EE: estonia
LV: latvia
LT: lithuania
TR: turkey, türkiye
RU: russia, russian federation
IL: israel
AE: united arab emirates, uae
SA: saudi arabia
QA: qatar
EG: egypt
MA: morocco
NG: nigeria
KE: kenya
ZA: south africa
IN: india
PK: pakistan
BD: bangladesh
LK: sri lanka
CN: china, people's republic of china
HK: hong kong
TW: taiwan
JP: japan
KR: south korea, korea, republic of korea
SG: singapore
MY: malaysia
TH: thailand
VN: vietnam, viet nam
PH: philippines
ID: indonesia
AU: australia
NZ: new zealand
"""

COUNTRY_CODES: dict[str, str] = {
    name.strip(): code
    for line in _NAMES.strip().splitlines()
    for code, names in [line.split(":", 1)]
    for name in names.split(",")
}
