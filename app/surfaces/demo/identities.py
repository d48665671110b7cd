"""Who can sign in to the demo: identities at the three local demo OpenID providers.

The guardian provider (`demo`), the staff provider (`demo-staff`) and the students'
provider (`demo-students`) are separate oidc-provider-mock instances, so one issuer never
serves two audiences (ADR 0050, 0085).
E-mail addresses here match the seeded roster and staff invitations; the seed and the
runner both read them from this module so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOARD_CODE = "demo"
MAIL_DOMAIN = "demo.tobira.test"
GUARDIAN_PROVIDER = "demo"
STAFF_PROVIDER = "demo-staff"
STUDENT_PROVIDER = "demo-students"
# The claim of the students' provider that carries the roster sourcedId (ADR 0085).
STUDENT_CLAIM = "roster_id"


def guardian_email(number: int) -> str:
    """The address the school has on file for the n-th seeded guardian (1-based)."""
    return f"hogosha{number:03d}@{MAIL_DOMAIN}"


# The story family (seeded first): two guardians, two children (P4 and J2).
CODE_GUARDIAN_EMAIL = guardian_email(1)  # links with the printed enrolment code
VERIFIED_GUARDIAN_EMAIL = guardian_email(2)  # linked without a code (verified e-mail)
EMAIL_LINK_GUARDIAN_EMAIL = guardian_email(3)  # has no OIDC account: signs in by e-mail link

BOARD_ADMIN_EMAIL = f"kyoiku-admin@{MAIL_DOMAIN}"
ELEMENTARY_ADMIN_EMAIL = f"minato-admin@{MAIL_DOMAIN}"
JUNIOR_ADMIN_EMAIL = f"sakura-admin@{MAIL_DOMAIN}"
TEACHER_EMAIL = f"minato-teacher@{MAIL_DOMAIN}"
AUDITOR_EMAIL = f"auditor@{MAIL_DOMAIN}"
GROUP_TEACHER_EMAIL = f"sakura-teacher@{MAIL_DOMAIN}"
TEACHER_GROUP = "tobira-sakura-teachers"


@dataclass(frozen=True)
class DemoIdentity:
    sub: str
    audience: str  # guardian | staff | student
    email: str
    email_verified: bool
    family_name: str
    given_name: str
    story: str
    story_en: str
    groups: tuple[str, ...] = field(default=())
    roster_id: str = ""  # students: their roster sourcedId

    def claims(self) -> dict[str, object]:
        claims: dict[str, object] = {
            "email": self.email,
            "email_verified": self.email_verified,
            "name": f"{self.family_name} {self.given_name}",
            "family_name": self.family_name,
            "given_name": self.given_name,
        }
        if self.groups:
            claims["groups"] = list(self.groups)
        if self.roster_id:
            claims[STUDENT_CLAIM] = self.roster_id
        return claims


IDENTITIES: tuple[DemoIdentity, ...] = (
    DemoIdentity(
        sub="guardian-with-letter",
        audience="guardian",
        email="sato.family@example.test",
        email_verified=True,
        family_name="佐藤",
        given_name="由美",
        story="学校の通知文のコードで子どもと連携する保護者（名簿にない個人アドレス）",
        story_en="Guardian who links to the children with the code from the school's letter "
        "(private address not on the roster)",
    ),
    DemoIdentity(
        sub="guardian-verified-email",
        audience="guardian",
        email=VERIFIED_GUARDIAN_EMAIL,
        email_verified=True,
        family_name="佐藤",
        given_name="健一",
        story="確認済みメールアドレスが名簿と一致し、コードなしで連携される二人目の保護者",
        story_en="Second guardian linked without a code: the verified e-mail matches the roster",
    ),
    DemoIdentity(
        sub="guardian-unverified-email",
        audience="guardian",
        email=guardian_email(4),
        email_verified=False,
        family_name="中村",
        given_name="直樹",
        story="メールアドレスは名簿と同じでも未確認のため、自動では連携されない保護者",
        story_en="Guardian whose e-mail matches the roster but is not verified: not linked automatically",
    ),
    DemoIdentity(
        sub="staff-board-admin",
        audience="staff",
        email=BOARD_ADMIN_EMAIL,
        email_verified=True,
        family_name="教育",
        given_name="花子",
        story="教育委員会の管理者（全校）",
        story_en="Board administrator (all schools)",
    ),
    DemoIdentity(
        sub="staff-minato-admin",
        audience="staff",
        email=ELEMENTARY_ADMIN_EMAIL,
        email_verified=True,
        family_name="港",
        given_name="一郎",
        story="みなと小学校の学校管理者",
        story_en="School administrator, Minato Elementary",
    ),
    DemoIdentity(
        sub="staff-sakura-admin",
        audience="staff",
        email=JUNIOR_ADMIN_EMAIL,
        email_verified=True,
        family_name="桜井",
        given_name="明子",
        story="さくら中学校の学校管理者",
        story_en="School administrator, Sakura Junior High",
    ),
    DemoIdentity(
        sub="staff-minato-teacher",
        audience="staff",
        email=TEACHER_EMAIL,
        email_verified=True,
        family_name="森",
        given_name="誠",
        story="みなと小学校の教員",
        story_en="Teacher, Minato Elementary",
    ),
    DemoIdentity(
        sub="staff-sakura-teacher-group",
        audience="staff",
        email=GROUP_TEACHER_EMAIL,
        email_verified=True,
        family_name="林",
        given_name="拓也",
        story=f"さくら中学校の教員（IdP のグループ「{TEACHER_GROUP}」から役割を付与）",
        story_en=f"Teacher, Sakura Junior High (role from the IdP group '{TEACHER_GROUP}')",
        groups=(TEACHER_GROUP,),
    ),
    DemoIdentity(
        sub="staff-auditor",
        audience="staff",
        email=AUDITOR_EMAIL,
        email_verified=True,
        family_name="監査",
        given_name="次郎",
        story="監査担当（記録と一覧の閲覧のみ）",
        story_en="Auditor (read-only: audit log and catalogue)",
    ),
    # The story family's children (seeded first: demo-s-0001 in P4, demo-s-0002 in J2).
    DemoIdentity(
        sub="student-elementary",
        audience="student",
        email=f"s0001@students.{MAIL_DOMAIN}",
        email_verified=True,
        family_name="佐藤",
        given_name="陽翔",
        story="みなと小学校4年の児童（ふりがな付きのやさしい日本語）",
        story_en="Pupil in P4 at Minato Elementary (easy Japanese with furigana)",
        roster_id="demo-s-0001",
    ),
    DemoIdentity(
        sub="student-junior-high",
        audience="student",
        email=f"s0002@students.{MAIL_DOMAIN}",
        email_verified=True,
        family_name="佐藤",
        given_name="大翔",
        story="さくら中学校2年の生徒（やさしい日本語、ふりがななし）",
        story_en="Student in J2 at Sakura Junior High (easy Japanese without furigana)",
        roster_id="demo-s-0002",
    ),
    DemoIdentity(
        sub="student-not-on-roster",
        audience="student",
        email=f"s9999@students.{MAIL_DOMAIN}",
        email_verified=True,
        family_name="名簿",
        given_name="なし",
        story="名簿にない児童生徒のアカウント（何も表示されない）",
        story_en="A student account not on the roster (sees nothing)",
        roster_id="demo-s-9999",
    ),
)


def identities_for(audience: str) -> list[DemoIdentity]:
    return [identity for identity in IDENTITIES if identity.audience == audience]
