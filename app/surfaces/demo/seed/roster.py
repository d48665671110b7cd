"""A deterministic demo roster: two schools, homerooms, ~200 students and their guardians.

Pure data (no database): `build_families()` always returns the same families, so the
seed is reproducible and tests can rely on names and numbers. Names come from short
lists of common names; a few guardians prefer English or have no e-mail on file, one
family name (𠮷田) lies outside CP932, as real rosters do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.surfaces.demo.identities import guardian_email

FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"),
    ("伊藤", "いとう"), ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"),
    ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"),
    ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"),
    ("木村", "きむら"), ("林", "はやし"), ("清水", "しみず"), ("山崎", "やまざき"),
    ("森", "もり"), ("池田", "いけだ"), ("橋本", "はしもと"), ("阿部", "あべ"),
    ("石川", "いしかわ"), ("前田", "まえだ"), ("藤田", "ふじた"), ("岡田", "おかだ"),
    ("後藤", "ごとう"), ("長谷川", "はせがわ"), ("村上", "むらかみ"), ("近藤", "こんどう"),
    ("青木", "あおき"), ("坂本", "さかもと"), ("遠藤", "えんどう"), ("西村", "にしむら"),
    ("福田", "ふくだ"), ("太田", "おおた"), ("三浦", "みうら"), ("藤井", "ふじい"),
)  # fmt: skip
CHILD_NAMES: tuple[tuple[str, str], ...] = (
    ("陽翔", "はると"), ("蓮", "れん"), ("湊", "みなと"), ("蒼", "あおい"), ("樹", "いつき"),
    ("大翔", "ひろと"), ("悠真", "ゆうま"), ("朝陽", "あさひ"), ("颯太", "そうた"), ("陽太", "ようた"),
    ("結翔", "ゆいと"), ("律", "りつ"), ("悠人", "ゆうと"), ("奏太", "かなた"), ("大和", "やまと"),
    ("陽葵", "ひまり"), ("凛", "りん"), ("紬", "つむぎ"), ("葵", "あおい"), ("芽依", "めい"),
    ("結菜", "ゆいな"), ("陽菜", "ひな"), ("莉子", "りこ"), ("澪", "みお"), ("結衣", "ゆい"),
    ("咲良", "さくら"), ("美桜", "みお"), ("杏", "あん"), ("心春", "こはる"), ("花", "はな"),
    ("翔", "しょう"),
)  # fmt: skip
GUARDIAN_NAMES_A: tuple[tuple[str, str], ...] = (
    ("由美", "ゆみ"), ("智子", "ともこ"), ("恵", "めぐみ"), ("直美", "なおみ"), ("真由美", "まゆみ"),
    ("陽子", "ようこ"), ("裕子", "ゆうこ"), ("美穂", "みほ"), ("亜希子", "あきこ"), ("久美子", "くみこ"),
    ("香織", "かおり"),
)  # fmt: skip
GUARDIAN_NAMES_B: tuple[tuple[str, str], ...] = (
    ("健一", "けんいち"), ("誠", "まこと"), ("大輔", "だいすけ"), ("直樹", "なおき"), ("拓也", "たくや"),
    ("剛", "つよし"), ("隆", "たかし"), ("浩二", "こうじ"), ("和也", "かずや"),
)  # fmt: skip
OUTSIDE_CP932 = ("𠮷田", "よしだ")

ELEMENTARY_PER_GRADE = 20
# Junior high: grade -> sizes of homerooms 1 and 2.
JUNIOR_CLASS_SIZES = {"J1": (14, 13), "J2": (14, 13), "J3": (13, 13)}
SIBLING_FAMILIES = 20  # including the story family
OUTSIDE_CP932_FAMILY = 60


@dataclass(frozen=True)
class Slot:
    school: str  # elementary | junior_high
    grade: str
    homeroom: int


@dataclass
class ChildSpec:
    number: int
    family_name: tuple[str, str]
    given_name: tuple[str, str]
    slot: Slot


@dataclass
class GuardianSpec:
    number: int
    family_name: tuple[str, str]
    given_name: tuple[str, str]
    email: str | None
    language: str


@dataclass
class FamilySpec:
    guardians: list[GuardianSpec] = field(default_factory=list)
    children: list[ChildSpec] = field(default_factory=list)


def _slots() -> tuple[list[Slot], list[Slot]]:
    elementary = [
        Slot("elementary", f"P{grade}", 1) for grade in range(1, 7) for _ in range(ELEMENTARY_PER_GRADE)
    ]
    junior = [
        Slot("junior_high", grade, homeroom + 1)
        for grade, sizes in JUNIOR_CLASS_SIZES.items()
        for homeroom, size in enumerate(sizes)
        for _ in range(size)
    ]
    return elementary, junior


def build_families() -> list[FamilySpec]:
    """Story family first (two guardians; children in P4 and J2), then 19 more families
    with a child in each school, then one family per remaining child."""
    elementary, junior = _slots()
    story_slots = [elementary.pop(3 * ELEMENTARY_PER_GRADE), junior.pop(28)]
    sibling_slots = list(
        zip(elementary[::6][: SIBLING_FAMILIES - 1], junior[::4][: SIBLING_FAMILIES - 1], strict=True)
    )
    for pair in sibling_slots:
        elementary.remove(pair[0])
        junior.remove(pair[1])
    plan: list[list[Slot]] = [story_slots, *[list(p) for p in sibling_slots]]
    plan += [[slot] for slot in junior] + [[slot] for slot in elementary]

    families: list[FamilySpec] = []
    guardian_no = 0
    child_no = 0
    for index, slots in enumerate(plan):
        family_name = FAMILY_NAMES[(index * 7) % len(FAMILY_NAMES)]
        if index == OUTSIDE_CP932_FAMILY:
            family_name = OUTSIDE_CP932
        family = FamilySpec()
        guardian_names = [
            GUARDIAN_NAMES_A[index % len(GUARDIAN_NAMES_A)],
            GUARDIAN_NAMES_B[(index * 3) % len(GUARDIAN_NAMES_B)],
        ]
        for name in guardian_names[: 1 if index % 3 == 2 else 2]:
            guardian_no += 1
            family.guardians.append(
                GuardianSpec(
                    number=guardian_no,
                    family_name=family_name,
                    given_name=name,
                    email=None if guardian_no % 97 == 50 else guardian_email(guardian_no),
                    language="en" if guardian_no % 17 == 9 else "ja",
                )
            )
        for position, slot in enumerate(slots):
            child_no += 1
            given = CHILD_NAMES[(index * 11 + position * 5) % len(CHILD_NAMES)]
            family.children.append(ChildSpec(child_no, family_name, given, slot))
        families.append(family)
    return families
