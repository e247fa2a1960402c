"""Where an event takes place, for "events near me": the 18 French regions, online, abroad.

Ids are stable slugs stored in the database and in faq/events.yaml; labels are what users read.
"""

from __future__ import annotations

ONLINE = "en-ligne"
ABROAD = "etranger"

# The 13 metropolitan regions, then the 5 overseas ones (INSEE's list of 18 regions).
REGIONS: dict[str, str] = {
    "auvergne-rhone-alpes": "Auvergne-Rhône-Alpes",
    "bourgogne-franche-comte": "Bourgogne-Franche-Comté",
    "bretagne": "Bretagne",
    "centre-val-de-loire": "Centre-Val de Loire",
    "corse": "Corse",
    "grand-est": "Grand Est",
    "hauts-de-france": "Hauts-de-France",
    "ile-de-france": "Île-de-France",
    "normandie": "Normandie",
    "nouvelle-aquitaine": "Nouvelle-Aquitaine",
    "occitanie": "Occitanie",
    "pays-de-la-loire": "Pays de la Loire",
    "provence-alpes-cote-d-azur": "Provence-Alpes-Côte d'Azur",
    "guadeloupe": "Guadeloupe",
    "martinique": "Martinique",
    "guyane": "Guyane",
    "la-reunion": "La Réunion",
    "mayotte": "Mayotte",
}

# Every place an event can be: a region, online or abroad.
PLACES: dict[str, str] = {**REGIONS, ONLINE: "En ligne", ABROAD: "À l'étranger"}


def place_label(place_id: str) -> str:
    """What users read for a region id (the id itself if it is unknown)."""
    return PLACES.get(place_id, place_id)
