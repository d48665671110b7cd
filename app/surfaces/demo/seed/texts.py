"""Board and school texts of the demo (Japanese first, English beside it); the notice, the
services and their choices are in the demo catalogue file (app/_resources/demo/catalogue.yaml)."""

from __future__ import annotations

BOARD = {
    "name": "とびら市教育委員会",
    "name_en": "Tobira City Board of Education",
    "contact_email": "kyoiku@demo.tobira.test",
    "contact_phone": "000-0000-0000",
    "jurisdiction": "JP",
}

SCHOOLS = {
    "elementary": {
        "sourced_id": "demo-school-minato",
        "code": "E01",
        "name": "とびら市立みなと小学校",
        "name_en": "Tobira City Minato Elementary School",
        "kind": "elementary",
    },
    "junior_high": {
        "sourced_id": "demo-school-sakura",
        "code": "J01",
        "name": "とびら市立さくら中学校",
        "name_en": "Tobira City Sakura Junior High School",
        "kind": "junior_high",
    },
}
