"""The controlled vocabulary of personal-data categories (個人情報の種類).

Drawn from the Saitama notice (seed 000) and the Toda guideline (seed 003). The migration
`0002` writes these rows; codes are stable identifiers used by choices and exports.
"""

from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    code: str
    name: str
    name_en: str
    description: str
    description_en: str
    sensitive: bool


CATEGORIES: tuple[Category, ...] = (
    Category(
        "identity",
        "基本情報",
        "Identity basics",
        "氏名、学年・学級・出席番号、学校名 等",
        "Name, grade, class, attendance number, school name, etc.",
        False,
    ),
    Category(
        "credentials",
        "ID・パスワード",
        "Account IDs and passwords",
        "ID、パスワード、Microsoft アカウント等の識別番号",
        "User IDs, passwords, Microsoft account and other identifiers",
        False,
    ),
    Category(
        "learning_records",
        "学習記録",
        "Learning records",
        "ワークシート・作品の提出やクラスでの共有 等",
        "Worksheets, submitted work and what is shared in class",
        False,
    ),
    Category(
        "activity_media",
        "学習活動の記録（写真・動画）",
        "Photos and video of activities",
        "授業や学校行事、部活動等の動画・写真 等",
        "Video and photos of lessons, school events, club activities",
        False,
    ),
    Category(
        "home_contact",
        "家庭との連絡",
        "Home–school contact",
        "出欠席の理由、アンケートの入力内容 等",
        "Reasons for absence, answers to school questionnaires, etc.",
        False,
    ),
    Category(
        "survey_answers",
        "調査の回答",
        "Survey answers",
        "学力に関する調査結果、生活習慣等に関する調査結果（回答状況）",
        "Results of attainment surveys and answers about daily habits, study time and attitudes",
        False,
    ),
    Category(
        "grades",
        "成績・評価",
        "Grades and evaluations",
        "評価・評定 等",
        "Evaluations and grades",
        True,
    ),
    Category(
        "guidance",
        "進路・指導の記録",
        "Guidance and career records",
        "進路指導情報（面談記録 等）",
        "Career guidance information (interview records, etc.)",
        True,
    ),
    Category(
        "health_attendance",
        "健康・出欠の情報",
        "Health and attendance",
        "出欠席・保健室利用記録 等",
        "Attendance and school-nurse visit records, etc.",
        True,
    ),
)
