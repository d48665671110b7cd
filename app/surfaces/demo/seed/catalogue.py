"""The demo service catalogue, in the shape of the Saitama City notice (seed 000).

Services are grouped by use as the notice groups them; data categories and items follow
the notice; permitted uses a–e and the vendor promises follow the Ashiya review-board
report (seed 001); subcontractor chains (委託 → 再委託) follow the Shinjuku filing
(seed 004). Vendor facts are plausible demo values, not statements about the vendors:
every description says so, and fictional companies carry （架空）/ (fictional).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

DEMO_NOTE = "※ デモ用の記載です。事業者の実際の契約条件ではありません。"
DEMO_NOTE_EN = "Demo entry: not the vendor's actual contract terms."

# Permitted uses a–e (seed 001, 第2 5(1) ア–オ), the same for every demo service.
PERMITTED_USES: tuple[tuple[str, str, str], ...] = (
    (
        "a",
        "サービスを安全に保ち、円滑に利用できるようにするため",
        "To keep the service safe and running smoothly",
    ),
    ("b", "サービスの不正利用を防ぐため", "To prevent misuse of the service"),
    (
        "c",
        "サービスの維持、保守、不具合への対応のため",
        "For upkeep, maintenance and fixing faults",
    ),
    (
        "d",
        "教育委員会からの問い合わせや要望に対応するため",
        "To answer enquiries and requests from the board of education",
    ),
    ("e", "その他、a から d に付随する目的のため", "Other purposes incidental to a to d"),
)

# Items per category, worded as in the notice (seed 000).
IDENTITY = ("氏名、学年・学級・出席番号、学校名", "Name, grade, class, attendance number, school name")
CREDENTIALS = ("ユーザID、パスワード", "User ID and password")
MS_CREDENTIALS = ("Microsoft アカウント（ユーザID）、パスワード", "Microsoft account (user ID) and password")
LEARNING = (
    "ワークシート・作品の提出、クラスでの共有",
    "Worksheets and submitted work, and what is shared in class",
)
MEDIA = (
    "授業や学校行事、部活動等の写真・動画",
    "Photos and video of lessons, school events and club activities",
)
HOME = (
    "出欠席の連絡とその理由、アンケートの入力内容",
    "Absence notes and reasons, answers to questionnaires",
)


@dataclass(frozen=True)
class Sub:
    """A contractor (委託先) and, nested, its own subcontractors (再委託先)."""

    name: str
    name_en: str
    task: str
    task_en: str
    data_items: str
    data_items_en: str
    certifications: tuple[str, ...] = ("ISMS",)
    country: str = "JP"
    children: tuple[Sub, ...] = ()


@dataclass(frozen=True)
class Assign:
    school: str | None = None  # "elementary" | "junior_high" | None = every school
    grade_from: str | None = None
    grade_to: str | None = None


@dataclass(frozen=True)
class ServiceSpec:
    code: str
    use_group: str
    name: str
    name_en: str
    description: str
    description_en: str
    vendor: str
    vendor_en: str
    policy_url: str
    purpose: str
    purpose_en: str
    categories: tuple[tuple[str, tuple[str, str]], ...]
    certifications: tuple[str, ...] = ("ISMS",)
    country: str = "JP"
    court: str = "東京地方裁判所"
    court_en: str = "Tokyo District Court"
    governing_law: str = "日本法"
    governing_law_en: str = "Japanese law"
    backup_days: int = 30
    statistics: str = "none"
    erasure_certificate: bool = False
    yearly_audit: bool = False
    subcontractors: tuple[Sub, ...] = ()
    assignments: tuple[Assign, ...] = field(default=(Assign(),))


class Vendor(TypedDict):
    vendor: str
    vendor_en: str
    policy_url: str
    certifications: tuple[str, ...]


class Description(TypedDict):
    description: str
    description_en: str


HELPDESK = Sub(
    name="とびらICTサポート株式会社（架空）",
    name_en="Tobira ICT Support Co., Ltd. (fictional)",
    task="アカウントの発行・管理、学校からの問い合わせ窓口",
    task_en="Issuing and managing accounts; help desk for schools",
    data_items="学校名、学年、学級、氏名、ユーザID",
    data_items_en="School, grade, class, name, user ID",
    certifications=("ISMS", "PrivacyMark"),
    children=(
        Sub(
            name="みなと端末サービス株式会社（架空）",
            name_en="Minato Device Services Co., Ltd. (fictional)",
            task="端末の故障受付・修理手配",
            task_en="Device fault reports and repairs",
            data_items="学校名、学年、学級、ユーザID、端末管理番号",
            data_items_en="School, grade, class, user ID, device number",
            certifications=("PrivacyMark",),
        ),
    ),
)

MICROSOFT: Vendor = {
    "vendor": "日本マイクロソフト株式会社",
    "vendor_en": "Microsoft Japan Co., Ltd.",
    "policy_url": "https://privacy.microsoft.com/ja-jp/privacystatement",
    "certifications": ("ISMAP", "ISMS"),
}
UCHIDA: Vendor = {
    "vendor": "株式会社内田洋行",
    "vendor_en": "Uchida Yoko Co., Ltd.",
    "policy_url": "https://www.uchida.co.jp/privacy/",
    "certifications": ("ISMS", "PrivacyMark"),
}


def _desc(text: str, text_en: str) -> Description:
    return {"description": f"{text}\n{DEMO_NOTE}", "description_en": f"{text_en}\n{DEMO_NOTE_EN}"}


LEARNING_BASICS = (("identity", IDENTITY), ("credentials", CREDENTIALS), ("learning_records", LEARNING))

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        code="microsoft-teams",
        use_group="learning",
        name="Microsoft Teams",
        name_en="Microsoft Teams",
        **_desc(
            "授業での課題の配布・提出、クラスでの話し合いや連絡に使います。",
            "Used to hand out and collect work, and for class discussion and notices.",
        ),
        **MICROSOFT,
        purpose="授業での課題の配布・提出、クラスでの共有や話し合いのため",
        purpose_en="To hand out and collect class work and to share and discuss it in class",
        categories=(
            ("identity", IDENTITY),
            ("credentials", MS_CREDENTIALS),
            ("learning_records", LEARNING),
            ("activity_media", MEDIA),
        ),
        subcontractors=(HELPDESK,),
    ),
    ServiceSpec(
        code="microsoft-forms-learning",
        use_group="learning",
        name="Microsoft Forms（学習用）",
        name_en="Microsoft Forms (learning)",
        **_desc(
            "授業での小テストや振り返りの入力に使います。",
            "Used for short quizzes and reflections in lessons.",
        ),
        **MICROSOFT,
        purpose="授業での小テスト・振り返りを集め、指導に生かすため",
        purpose_en="To collect quizzes and reflections and use them in teaching",
        categories=(
            ("identity", IDENTITY),
            ("credentials", MS_CREDENTIALS),
            ("learning_records", ("小テストの解答、振り返りの記述", "Quiz answers and written reflections")),
        ),
    ),
    ServiceSpec(
        code="canva-education",
        use_group="learning",
        name="Canva for Education",
        name_en="Canva for Education",
        **_desc(
            "ポスターや発表資料など、作品づくりに使います。",
            "Used to make posters, slides and other creative work.",
        ),
        vendor="Canva Pty Ltd",
        vendor_en="Canva Pty Ltd",
        policy_url="https://www.canva.com/ja_jp/policies/privacy-policy/",
        certifications=("ISMS",),
        country="US",
        purpose="作品（ポスター・発表資料等）の制作とクラスでの共有のため",
        purpose_en="To make creative work (posters, slides) and share it in class",
        categories=(*LEARNING_BASICS, ("activity_media", MEDIA)),
    ),
    ServiceSpec(
        code="l-gate",
        use_group="learning",
        name="L-Gate",
        name_en="L-Gate",
        **_desc(
            "学習用のポータルとして、各サービスへの入口と学習記録の閲覧に使います。",
            "The learning portal: the entry point to other services and a view of learning records.",
        ),
        **UCHIDA,
        purpose="学習用サービスへのサインインと、学習記録の蓄積・閲覧のため",
        purpose_en="To sign in to learning services and to keep and view learning records",
        categories=LEARNING_BASICS,
        erasure_certificate=True,
        subcontractors=(
            Sub(
                name="株式会社とびらデータセンター（架空）",
                name_en="Tobira Data Centre Inc. (fictional)",
                task="サーバーの運用・監視、バックアップ",
                task_en="Server operation, monitoring and backups",
                data_items="学習記録を含むデータ一式（暗号化して保管）",
                data_items_en="All service data, including learning records (stored encrypted)",
                certifications=("ISMS", "ISMAP"),
            ),
        ),
    ),
    ServiceSpec(
        code="adobe-creative",
        use_group="learning",
        name="Adobe Creative（Adobe Express 等）",
        name_en="Adobe Creative (Adobe Express etc.)",
        **_desc(
            "中学校の美術・技術などで、画像や動画の制作に使います。",
            "Used in junior high art and technology lessons to make images and video.",
        ),
        vendor="アドビ株式会社",
        vendor_en="Adobe Systems Co., Ltd. (Japan)",
        policy_url="https://www.adobe.com/jp/privacy.html",
        certifications=("ISMS",),
        country="US",
        purpose="画像・動画などの作品制作のため",
        purpose_en="To make images, video and other creative work",
        categories=(*LEARNING_BASICS, ("activity_media", MEDIA)),
        assignments=(Assign("junior_high", "J1", "J3"),),
    ),
    ServiceSpec(
        code="miraiseed",
        use_group="learning",
        name="ミライシード",
        name_en="Miraiseed",
        **_desc(
            "小学校でドリル学習や協働学習に使います。",
            "Used in elementary school for drills and collaborative learning.",
        ),
        vendor="株式会社ベネッセコーポレーション",
        vendor_en="Benesse Corporation",
        policy_url="https://www.benesse.co.jp/privacy/",
        certifications=("ISMS", "PrivacyMark"),
        statistics="produced",
        purpose="一人ひとりの習熟に合わせたドリル学習と、協働学習のため",
        purpose_en="For drills matched to each child's progress, and for collaborative learning",
        categories=(
            ("identity", IDENTITY),
            ("credentials", CREDENTIALS),
            (
                "learning_records",
                ("ドリルの解答と正誤、学習の進み具合", "Drill answers, results and progress"),
            ),
        ),
        assignments=(Assign("elementary", "P1", "P6"),),
    ),
    ServiceSpec(
        code="pre-post",
        use_group="learning",
        name="Pre-Post",
        name_en="Pre-Post",
        **_desc(
            "単元の前後で理解度を確かめる小テストに使います。",
            "Used for short tests before and after a unit to see what was understood.",
        ),
        vendor="プレポスト教育システム株式会社（架空）",
        vendor_en="Pre-Post Education Systems Co., Ltd. (fictional)",
        policy_url="",
        certifications=("PrivacyMark",),
        purpose="単元の前後の理解度を把握し、授業改善に生かすため",
        purpose_en="To see understanding before and after a unit and improve teaching",
        categories=(
            ("identity", IDENTITY),
            ("credentials", CREDENTIALS),
            ("learning_records", ("小テストの解答と正誤", "Test answers and results")),
        ),
    ),
    ServiceSpec(
        code="ensap",
        use_group="learning",
        name="エンサップ",
        name_en="Ensap",
        **_desc(
            "音読・英語の発音練習の録音と振り返りに使います。",
            "Used to record reading aloud and English pronunciation practice, and to look back on it.",
        ),
        vendor="エンサップ学習サービス株式会社（架空）",
        vendor_en="Ensap Learning Services Co., Ltd. (fictional)",
        policy_url="",
        certifications=("ISMS",),
        purpose="音読・発音練習の録音を先生が確認し、助言するため",
        purpose_en="So that teachers can listen to recorded practice and give advice",
        categories=(
            *LEARNING_BASICS[:2],
            (
                "learning_records",
                ("音読・発音練習の録音、先生のコメント", "Recorded practice and teacher comments"),
            ),
        ),
    ),
    ServiceSpec(
        code="kahoot",
        use_group="learning",
        name="Kahoot!",
        name_en="Kahoot!",
        **_desc(
            "中学校の授業で、クイズ形式の振り返りに使います（ニックネームで参加）。",
            "Used in junior high lessons for quiz-style review (pupils join with a nickname).",
        ),
        vendor="Kahoot! ASA",
        vendor_en="Kahoot! ASA",
        policy_url="https://trust.kahoot.com/privacy-policy/",
        certifications=("ISMS",),
        country="NO",
        court="オスロ地方裁判所",
        court_en="Oslo District Court",
        governing_law="ノルウェー法",
        governing_law_en="Norwegian law",
        statistics="shared",
        purpose="授業のまとめをクイズ形式で行うため",
        purpose_en="To review lessons as a quiz",
        categories=(
            ("identity", ("ニックネーム、学級", "Nickname and class")),
            ("learning_records", ("クイズの解答と得点", "Quiz answers and scores")),
        ),
        assignments=(Assign("junior_high", "J1", "J3"),),
    ),
    ServiceSpec(
        code="microsoft-forms-home",
        use_group="home_contact",
        name="Microsoft Forms（家庭連絡用）",
        name_en="Microsoft Forms (home–school contact)",
        **_desc(
            "欠席・遅刻の連絡や、保護者向けアンケートに使います。",
            "Used for absence and lateness notes and questionnaires for families.",
        ),
        **MICROSOFT,
        purpose="家庭からの欠席連絡やアンケートの回答を受け付けるため",
        purpose_en="To receive absence notes and questionnaire answers from families",
        categories=(("identity", IDENTITY), ("home_contact", HOME)),
    ),
    ServiceSpec(
        code="etra-note",
        use_group="home_contact",
        name="E-tra ノート",
        name_en="E-tra Note",
        **_desc(
            "学校からのお知らせの配信と、家庭からの連絡に使います。",
            "Used to send school notices to families and to receive messages from them.",
        ),
        vendor="イートラ通信株式会社（架空）",
        vendor_en="E-tra Communications Co., Ltd. (fictional)",
        policy_url="",
        certifications=("ISMS", "PrivacyMark"),
        erasure_certificate=True,
        purpose="学校からのお知らせと、家庭との連絡のため",
        purpose_en="For school notices and contact with families",
        categories=(
            ("identity", IDENTITY),
            ("home_contact", HOME),
        ),
        subcontractors=(
            Sub(
                name="イートラ・オペレーションズ株式会社（架空）",
                name_en="E-tra Operations Co., Ltd. (fictional)",
                task="配信システムの運用・保守",
                task_en="Operating and maintaining the messaging system",
                data_items="学校名、学年、学級、氏名、保護者の連絡先",
                data_items_en="School, grade, class, name, guardians' contact details",
                certifications=("ISMS",),
                children=(
                    Sub(
                        name="株式会社とびらデータセンター（架空）",
                        name_en="Tobira Data Centre Inc. (fictional)",
                        task="サーバーの設置・監視",
                        task_en="Hosting and monitoring servers",
                        data_items="配信システムのデータ一式（暗号化して保管）",
                        data_items_en="All messaging data (stored encrypted)",
                        certifications=("ISMS", "ISMAP"),
                    ),
                ),
            ),
        ),
    ),
    ServiceSpec(
        code="l-gate-survey",
        use_group="survey",
        name="L-Gate（学習状況調査）",
        name_en="L-Gate (learning-status survey)",
        **_desc(
            "市の学習状況調査（小学4年生から中学3年生）の実施と集計に使います。",
            "Used to run and tally the city's learning-status survey (grade 4 to junior high year 3).",
        ),
        **UCHIDA,
        purpose="学力と生活習慣等の状況を把握し、指導と授業の改善に生かすため",
        purpose_en="To understand attainment and daily habits and improve teaching",
        categories=(
            (
                "identity",
                ("学年・学級、出席番号", "Grade, class, attendance number"),
            ),
            ("credentials", MS_CREDENTIALS),
            (
                "survey_answers",
                (
                    "学力に関する調査結果（解答状況）、生活習慣等に関する調査結果（基本的生活習慣、学習時間、"
                    "地域とのかかわり、将来に関する意識等の回答状況）",
                    "Attainment survey answers; answers about daily habits, study time, community, "
                    "views of the future and attitudes to learning",
                ),
            ),
        ),
        statistics="produced",
        assignments=(Assign("elementary", "P4", "P6"), Assign("junior_high", "J1", "J3")),
    ),
    ServiceSpec(
        code="school-dashboard",
        use_group="dashboard",
        name="とびら市スクールダッシュボード",
        name_en="Tobira City School Dashboard",
        **_desc(
            "先生が、成績・出欠・学習記録などを一つの画面で見て、子どもの様子に早く気づくための"
            "システムです。表示を望まない場合は、このページで選べます。",
            "Lets teachers see grades, attendance and learning records on one screen to notice "
            "early how a child is doing. You can choose here not to have your child's data shown.",
        ),
        vendor="とびらシステムズ株式会社（架空）",
        vendor_en="Tobira Systems Co., Ltd. (fictional)",
        policy_url="",
        certifications=("ISMS", "ISMAP", "PrivacyMark"),
        court="とびら地方裁判所（架空）",
        court_en="Tobira District Court (fictional)",
        erasure_certificate=True,
        yearly_audit=True,
        purpose="子どもの学習や健康の状況を先生が一覧し、指導と見守りに生かすため",
        purpose_en="So that teachers can see a child's learning and health at a glance and support them",
        categories=(
            ("identity", IDENTITY),
            ("credentials", CREDENTIALS),
            ("grades", ("評価・評定", "Evaluations and grades")),
            (
                "guidance",
                ("進路指導情報（面談記録 等）", "Career guidance information (interview notes etc.)"),
            ),
            ("health_attendance", ("出欠席、保健室の利用記録", "Attendance and school-nurse visits")),
            (
                "learning_records",
                ("ワークシート、作品", "Worksheets and submitted work"),
            ),
            ("activity_media", MEDIA),
        ),
        subcontractors=(
            Sub(
                name="とびらシステムズ株式会社（架空）",
                name_en="Tobira Systems Co., Ltd. (fictional)",
                task="ダッシュボードの運用・保守、障害対応",
                task_en="Operating and maintaining the dashboard; incident response",
                data_items="ダッシュボードのデータ一式",
                data_items_en="All dashboard data",
                certifications=("ISMS", "PrivacyMark"),
                children=(
                    Sub(
                        name="株式会社とびらデータセンター（架空）",
                        name_en="Tobira Data Centre Inc. (fictional)",
                        task="クラウド基盤の提供・監視、バックアップ",
                        task_en="Cloud platform, monitoring and backups",
                        data_items="ダッシュボードのデータ一式（暗号化して保管）",
                        data_items_en="All dashboard data (stored encrypted)",
                        certifications=("ISMS", "ISMAP"),
                    ),
                ),
            ),
        ),
    ),
)

DASHBOARD_CODE = "school-dashboard"
PHOTO_SERVICE_CODE = "microsoft-teams"
