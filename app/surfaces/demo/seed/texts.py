"""Board, notice and choice texts of the demo (Japanese first, English beside it)."""

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

NOTICE_TITLE = "各種クラウドサービスにおける個人情報及び教育データの取扱いについて（2026年度）"
NOTICE_TITLE_EN = "How cloud services handle your child's personal and education data (school year 2026)"
NOTICE_BODY = "\n\n".join(
    (
        "とびら市の学校では、児童生徒のよりよい学びと学校の業務改善のため、とびら市教育委員会が安全"
        "性を確認したクラウドサービスを、学習、家庭と学校との連絡、学習状況調査、スクールダッシュボ"
        "ードに使っています。",
        "各サービスが扱う個人情報の種類、利用目的と利用の範囲、事業者の取扱い（データセンターの所在"
        "、バックアップの保存期間、卒業時・契約終了時の消去、再委託など）は、お子さまごとのページで"
        "ご確認いただけます。",
        "個人情報は、個人情報保護法等の法令を守り、教育活動上必要な範囲でのみ利用します。家庭環境や"
        "病歴など秘匿性の高い情報は取り扱いません。広告や、広告のための分析には使いません。",
        "スクールダッシュボードにお子さまのデータを表示することを望まない場合は、このポータルで選ぶ"
        "ことができます。",
        "※ これはデモ用の架空の通知です。構成は、さいたま市教育委員会の保護者向け通知を参考にしています。",
    )
)
NOTICE_BODY_EN = "\n\n".join(
    (
        "Schools in Tobira City use cloud services checked for safety by the Tobira City Board of "
        "Education for learning, home–school contact, the learning-status survey and the School "
        "Dashboard, to help children learn better and to make school work lighter.",
        "For each of your children you can see which personal data each service holds, why and "
        "within what limits, and how the vendor handles it (where the data centre is, how long "
        "backups are kept, erasure at graduation and at the end of the contract, subcontracting and"
        " so on).",
        "Personal data is used only as far as education requires, in line with the Act on the "
        "Protection of Personal Information and other laws. Highly sensitive information such as "
        "family circumstances or medical history is not handled. Nothing is used for advertising or"
        " for profiling for advertising.",
        "If you do not want your child's data shown on the School Dashboard, you can choose so in "
        "this portal.",
        "This is a fictional demo notice. Its structure follows the Saitama City board of "
        "education's notice to parents.",
    )
)

DASHBOARD_CHOICE = {
    "code": "dashboard_display",
    "kind": "categories",
    "options": ["show", "hide_all", "hide_some"],
    "default_value": "show",
    "category_codes": ["grades", "guidance", "health_attendance", "learning_records", "activity_media"],
    "label": "スクールダッシュボードでの表示",
    "label_en": "Display on the School Dashboard",
    "explanation": (
        "「表示する」のままなら、先生はスクールダッシュボードでお子さまの情報を一覧できます。"
        "「すべて表示しない」を選ぶと、お子さまの成績・評価、進路・指導の記録、健康・出欠の情報、"
        "学習記録、写真・動画がダッシュボードに表示されなくなります。"
        "「一部を表示しない」では、表示しない種類を選べます。"
        "元の記録（通知表や出席簿など）は学校に残り、授業や成績のつけ方は変わりません。"
    ),
    "explanation_en": (
        "If you leave it at “show”, teachers can see your child's information on the School Dashboard "
        "at a glance. “Hide all” removes your child's grades, guidance records, health and attendance, "
        "learning records, and photos and video from the dashboard. “Hide some” lets you pick which of "
        "these are hidden. The original records (report cards, attendance registers) stay at the school, "
        "and lessons and grading do not change."
    ),
}

PHOTO_CHOICE = {
    "code": "class_photos",
    "kind": "toggle",
    "options": ["allow", "deny"],
    "default_value": "allow",
    "category_codes": [],
    "label": "クラスの共有スペースでの写真・動画",
    "label_en": "Photos and video in shared class spaces",
    "explanation": (
        "「許可する」の場合、授業や行事で撮影したお子さまの写真・動画を、Microsoft Teams のクラスの"
        "共有スペース（同じクラスの児童生徒と先生が見られる場所）に載せることがあります。"
        "「許可しない」を選ぶと、お子さまが写った写真・動画はクラスの共有スペースには載せず、"
        "先生だけが見られる場所で扱います。"
    ),
    "explanation_en": (
        "With “allow”, photos and video of your child taken in lessons and school events may be posted "
        "in the class's shared space in Microsoft Teams, where classmates and teachers can see them. "
        "With “deny”, photos and video showing your child are not posted there and are kept where only "
        "teachers can see them."
    ),
}
