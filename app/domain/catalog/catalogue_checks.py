"""Checks of a catalogue file against the board and itself, beyond what the schema can say.

Run on the raw document alongside the schema check, so a file gets every problem in one run;
each check looks only at entries of the right shape and leaves shape to the schema. Named by
path: duplicate service, category and choice codes; category codes outside the vocabulary;
school codes, homerooms and roster ids the board does not have; reversed grade ranges; a
choice's default outside its options or a hideable category the service does not hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.catalog.catalogue_file import Problem, category_vocabulary
from app.domain.people.models import GRADES, School, SchoolClass, Student
from app.i18n import N_


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, item in enumerate(_list(value)):
        if isinstance(item, dict):
            yield i, item


def _duplicates(entries: Iterator[tuple[int, dict[str, Any]]], key: str, path: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for i, entry in entries:
        code = entry.get(key)
        if not isinstance(code, str):
            continue
        if code in first:
            yield Problem(
                f"{path}[{i}].{key}",
                N_("The code {code} is used twice (also at {other})."),
                {"code": code, "other": f"{path}[{first[code]}]"},
            )
        else:
            first[code] = i


class _Board:
    """The board's schools, homerooms and roster ids that the file names (three queries)."""

    def __init__(self, db: Session, board_id: int, document: dict[str, Any]) -> None:
        schools: set[str] = set()
        homerooms: set[str] = set()
        students: set[str] = set()
        for _i, service in _dicts(document.get("services")):
            for _j, rule in _dicts(service.get("coverage")):
                if isinstance(rule.get("school"), str):
                    schools.add(rule["school"])
                if isinstance(rule.get("homeroom"), str):
                    homerooms.add(rule["homeroom"])
                students.update(s for s in _list(rule.get("students")) if isinstance(s, str))
        self.schools = dict(
            db.execute(
                select(School.code, School.id).where(School.board_id == board_id, School.code.in_(schools))
            ).all()
        )
        self.homerooms = set(
            db.execute(
                select(SchoolClass.school_id, SchoolClass.title).where(
                    SchoolClass.board_id == board_id, SchoolClass.title.in_(homerooms)
                )
            ).all()
        )
        self.students = set(
            db.scalars(
                select(Student.sourced_id).where(
                    Student.board_id == board_id, Student.sourced_id.in_(students)
                )
            )
        )


def _rule_problems(board: _Board, rule: dict[str, Any], path: str) -> Iterator[Problem]:
    school = rule.get("school")
    if isinstance(school, str) and school not in board.schools:
        yield Problem(
            f"{path}.school", N_("This board has no school with the code {code}."), {"code": school}
        )
    grades = rule.get("grades")
    if isinstance(grades, str):
        low, _sep, high = grades.partition("-")
        if low in GRADES and high in GRADES and GRADES.index(low) > GRADES.index(high):
            yield Problem(f"{path}.grades", N_("The last grade comes before the first."))
    homeroom = rule.get("homeroom")
    if isinstance(homeroom, str):
        if not isinstance(school, str):
            yield Problem(f"{path}.homeroom", N_("Name the school of the homeroom (school)."))
        elif school in board.schools and (board.schools[school], homeroom) not in board.homerooms:
            yield Problem(
                f"{path}.homeroom",
                N_("School {school} has no homeroom {title}."),
                {"school": school, "title": homeroom},
            )
    for k, student in enumerate(_list(rule.get("students"))):
        if isinstance(student, str) and student not in board.students:
            yield Problem(f"{path}.students[{k}]", N_("No student of this board has this roster id."))


def _choice_problems(
    choice: dict[str, Any], held: set[str], vocabulary: set[str], path: str
) -> Iterator[Problem]:
    options = [o for o in _list(choice.get("options")) if isinstance(o, str)]
    default = choice.get("default")
    if isinstance(default, str) and options and default not in options:
        yield Problem(f"{path}.default", N_("The default must be one of the options."))
    for k, code in enumerate(_list(choice.get("hideable_categories"))):
        if not isinstance(code, str):
            continue
        if code not in vocabulary:
            yield Problem(
                f"{path}.hideable_categories[{k}]", N_("Unknown kind of data: {code}."), {"code": code}
            )
        elif code not in held:
            yield Problem(
                f"{path}.hideable_categories[{k}]",
                N_("The service does not hold this kind of data ({code})."),
                {"code": code},
            )


def board_problems(db: Session, board_id: int, document: dict[str, Any]) -> list[Problem]:
    vocabulary = category_vocabulary(db)
    board = _Board(db, board_id, document)
    problems = list(_duplicates(_dicts(document.get("services")), "code", "services"))
    for i, service in _dicts(document.get("services")):
        path = f"services[{i}]"
        problems += _duplicates(_dicts(service.get("categories")), "code", f"{path}.categories")
        held: set[str] = set()
        for j, category in _dicts(service.get("categories")):
            code = category.get("code")
            if isinstance(code, str) and code not in vocabulary:
                problems.append(
                    Problem(
                        f"{path}.categories[{j}].code", N_("Unknown kind of data: {code}."), {"code": code}
                    )
                )
            if isinstance(code, str):
                held.add(code)
        seen_rules: dict[str, int] = {}
        for j, rule in _dicts(service.get("coverage")):
            problems += _rule_problems(board, rule, f"{path}.coverage[{j}]")
            key = repr(sorted((k, str(v)) for k, v in rule.items()))
            if key in seen_rules:
                problems.append(
                    Problem(
                        f"{path}.coverage[{j}]",
                        N_("The same rule is listed twice (also at {other})."),
                        {"other": f"{path}.coverage[{seen_rules[key]}]"},
                    )
                )
            seen_rules.setdefault(key, j)
        problems += _duplicates(_dicts(service.get("choices")), "code", f"{path}.choices")
        for j, choice in _dicts(service.get("choices")):
            problems += _choice_problems(choice, held, vocabulary, f"{path}.choices[{j}]")
    problems += _duplicates(_dicts(document.get("choices")), "code", "choices")
    for i, choice in _dicts(document.get("choices")):
        if choice.get("kind") == "categories":
            problems.append(
                Problem(
                    f"choices[{i}].kind",
                    N_("A choice for the whole board is a toggle; kinds of data belong to a service."),
                )
            )
        problems += _choice_problems(choice, set(), vocabulary, f"choices[{i}]")
    return problems
