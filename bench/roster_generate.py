"""Generate a city-scale OneRoster 1.2 CSV set (Japan Profile) for the roster benchmark.

    python bench/roster_generate.py OUT_DIR [--students 300000] [--seed 1] [--zip]

Families of one to three children share a guardian (some have two guardians);
elementary schools of six grades and junior high schools of three, about 30 students
per homeroom, one teacher per homeroom. Rows are written as they are made, so memory
stays small whatever the size. Names are drawn from short lists: this is load, not
realism.
"""

from __future__ import annotations

import argparse
import csv
import random
import uuid
import zipfile
from pathlib import Path
from typing import Any

from app.domain.roster import spec

FAMILY = [
    ("山田", "ヤマダ"),
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
]
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("陽翔", "ハルト"),
    ("結菜", "ユイナ"),
    ("蓮", "レン"),
    ("葵", "アオイ"),
    ("湊", "ミナト"),
    ("芽依", "メイ"),
    ("大翔", "ヒロト"),
    ("さくら", "サクラ"),
]
ADULT = [("一郎", "イチロウ"), ("恵子", "ケイコ"), ("誠", "マコト"), ("裕子", "ユウコ"), ("健", "ケン")]
STAMP = "2026-04-01T09:00:00.000Z"
PER_CLASS = 30
CLASSES_PER_GRADE = 4

# The OneRoster 1.2 binding's columns (what an import requires), then the Japan Profile ones.
USERS = [
    *spec.FILES["users"].binding,
    "metadata.jp.kanaGivenName",
    "metadata.jp.kanaFamilyName",
    "metadata.jp.kanaMiddleName",
    "metadata.jp.homeClass",
]
ROLES = list(spec.FILES["roles"].binding)
ENROLLMENTS = [*spec.FILES["enrollments"].binding, "metadata.jp.ShussekiNo", "metadata.jp.PublicFlg"]


class Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _writer(directory: Path, name: str, header: list[str]) -> tuple[Any, Any]:
    handle = (directory / name).open("w", encoding="utf-8", newline="")
    writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    return handle, writer


def generate(out: Path, students: int, seed: int = 1) -> dict[str, int]:
    rng = random.Random(seed)
    new_id = Ids(rng)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.csv").write_text(
        "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\n"
        + "".join(
            f"file.{key},bulk\r\n"
            for key in ("academicSessions", "classes", "courses", "enrollments", "orgs", "roles", "users")
        )
        + "file.demographics,absent\r\n",
        encoding="utf-8",
    )
    district, year = new_id(), new_id()
    (out / "academicSessions.csv").write_text(
        '"sourcedId","status","dateLastModified","title","type","startDate","endDate","parentSourcedId","schoolYear"\r\n'
        f'"{year}","active","{STAMP}","2026年度","schoolYear","2026-04-01","2027-03-31","","2026"\r\n',
        encoding="utf-8",
    )
    files = {
        "orgs": _writer(
            out,
            "orgs.csv",
            ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"],
        ),
        "courses": _writer(
            out,
            "courses.csv",
            [
                "sourcedId",
                "status",
                "dateLastModified",
                "schoolYearSourcedId",
                "title",
                "courseCode",
                "grades",
                "orgSourcedId",
                "subjects",
                "subjectCodes",
            ],
        ),
        "classes": _writer(
            out,
            "classes.csv",
            [
                "sourcedId",
                "status",
                "dateLastModified",
                "title",
                "grades",
                "courseSourcedId",
                "classCode",
                "classType",
                "location",
                "schoolSourcedId",
                "termSourcedIds",
                "subjects",
                "subjectCodes",
                "periods",
                "metadata.jp.specialNeeds",
            ],
        ),
        "users": _writer(out, "users.csv", USERS),
        "roles": _writer(out, "roles.csv", ROLES),
        "enrollments": _writer(out, "enrollments.csv", ENROLLMENTS),
    }
    w = {key: writer for key, (_handle, writer) in files.items()}
    w["orgs"].writerow([district, "active", STAMP, "ベンチ市教育委員会", "district", "999999", ""])

    def user(sid: str, given: tuple[str, str], family: tuple[str, str], org: str, **extra: str) -> None:
        row = dict.fromkeys(USERS, "")
        row.update(
            sourcedId=sid,
            status="active",
            dateLastModified=STAMP,
            enabledUser="true",
            username=f"{sid[:13]}@bench.example.jp",
            givenName=given[0],
            familyName=family[0],
            preferredGivenName=given[0],
            preferredFamilyName=family[0],
            primaryOrgSourcedId=org,
            **{"metadata.jp.kanaGivenName": given[1], "metadata.jp.kanaFamilyName": family[1]},
        )
        row.update(extra)
        w["users"].writerow(row.values())

    def role(user_sid: str, name: str, org: str) -> None:
        w["roles"].writerow([new_id(), "active", STAMP, user_sid, "primary", name, "2026-04-01", "", org, ""])

    counts = {"students": 0, "guardians": 0, "teachers": 0, "schools": 0, "classes": 0}
    # A family is created when its first child is; later children reuse it.
    open_families: list[tuple[str, tuple[str, str], int]] = []
    school_no = 0
    while counts["students"] < students:
        school_no += 1
        junior = school_no % 3 == 0
        stage, grades = ("J", 3) if junior else ("P", 6)
        school = new_id()
        kind = "中学校" if junior else "小学校"
        code = f"{'C' if junior else 'B'}1{school_no:011d}"
        w["orgs"].writerow(
            [school, "active", STAMP, f"ベンチ市立第{school_no}{kind}", "school", code, district]
        )
        counts["schools"] += 1
        for grade in range(1, grades + 1):
            grade_code = f"{stage}{grade}"
            course = new_id()
            w["courses"].writerow(
                [course, "active", STAMP, year, f"{grade}年ホームルーム", "", grade_code, school, "", ""]
            )
            for number in range(1, CLASSES_PER_GRADE + 1):
                klass = new_id()
                w["classes"].writerow(
                    [
                        klass,
                        "active",
                        STAMP,
                        f"{grade}年{number}組",
                        grade_code,
                        course,
                        "",
                        "homeroom",
                        "",
                        school,
                        year,
                        "",
                        "",
                        "",
                        "false",
                    ]
                )
                counts["classes"] += 1
                teacher = new_id()
                user(
                    teacher,
                    rng.choice(ADULT),
                    rng.choice(FAMILY),
                    school,
                    email=f"t{counts['teachers']}@school.bench.example.jp",
                )
                role(teacher, "teacher", school)
                w["enrollments"].writerow(
                    [
                        new_id(),
                        "active",
                        STAMP,
                        klass,
                        school,
                        teacher,
                        "teacher",
                        "true",
                        "2026-04-01",
                        "",
                        "",
                        "",
                    ]
                )
                counts["teachers"] += 1
                for seat in range(1, PER_CLASS + 1):
                    if counts["students"] >= students:
                        break
                    if open_families and rng.random() < 0.3:
                        guardian, family, left = open_families.pop(rng.randrange(len(open_families)))
                        if left > 1:
                            open_families.append((guardian, family, left - 1))
                    else:
                        guardian, family = new_id(), rng.choice(FAMILY)
                        user(
                            guardian,
                            rng.choice(ADULT),
                            family,
                            school,
                            email=f"g{counts['guardians']}@home.bench.example.jp",
                        )
                        role(guardian, "guardian", school)
                        counts["guardians"] += 1
                        open_families.append((guardian, family, rng.randint(0, 2)))
                        if len(open_families) > 2000:
                            open_families.pop(0)
                    student = new_id()
                    user(
                        student,
                        rng.choice(GIVEN),
                        family,
                        school,
                        agentSourcedIds=guardian,
                        grades=grade_code,
                        **{"metadata.jp.homeClass": klass},
                    )
                    role(student, "student", school)
                    w["enrollments"].writerow(
                        [
                            new_id(),
                            "active",
                            STAMP,
                            klass,
                            school,
                            student,
                            "student",
                            "false",
                            "2026-04-01",
                            "",
                            str(seat),
                            "true",
                        ]
                    )
                    counts["students"] += 1
    for handle, _unused in files.values():
        handle.close()
    return counts


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.glob("*.csv")):
            archive.write(path, path.name)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--zip", action="store_true", help="Also write OUT.zip.")
    args = parser.parse_args()
    counts = generate(args.out, args.students, args.seed)
    if args.zip:
        zip_folder(args.out, args.out.with_suffix(".zip"))
    print(", ".join(f"{key}: {value:,}" for key, value in counts.items()))


if __name__ == "__main__":
    main()
