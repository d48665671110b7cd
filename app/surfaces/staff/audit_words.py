"""The audit log in words: what happened, who did it and how it ended, for the staff member
or review board reading it. The codes stay in the database and in the filters' values; an
action added later without a label here is shown by its code rather than hidden."""

from __future__ import annotations

import json
from typing import Any

from app.i18n import gettext

ACTION_WORDS = {
    "accounts.disabled": "Account disabled",
    "accounts.email_link_rate_limited": "Sign-in link refused (too many requests)",
    "accounts.email_link_sent": "Sign-in link sent",
    "accounts.enrolment_letters_issued": "Enrolment letters issued",
    "accounts.guardian_linked": "Guardian linked to a child",
    "accounts.language_saved": "Language saved",
    "accounts.link_failed": "Linking a child failed",
    "accounts.provider_trust_changed": "Sign-in provider trust changed",
    "accounts.sign_in_failed": "Sign-in failed",
    "accounts.signed_in": "Signed in",
    "accounts.signed_out": "Signed out",
    "accounts.staff_group_mapping_added": "Staff group mapping added",
    "accounts.staff_group_mapping_removed": "Staff group mapping removed",
    "accounts.staff_invitation_bound": "Staff invitation accepted",
    "accounts.staff_role_granted": "Staff role granted",
    "accounts.staff_role_revoked": "Staff role revoked",
    "api.acknowledged": "Downstream system confirmed it applied the list",
    "api.changes": "Downstream system read the changes",
    "api.choice_list": "Downstream system read the choice list",
    "api.hide_list": "Downstream system read the hide list",
    "audit.anchor_sent": "Audit chain head e-mailed",
    "audit.viewed": "Audit log viewed",
    "board.request_days_changed": "Answer period for requests changed",
    "catalog.coverage_added": "Coverage rule added",
    "catalog.coverage_removed": "Coverage rule removed",
    "catalogue.exported": "Catalogue file exported",
    "catalogue.imported": "Catalogue file imported",
    "choice.confirmation_link_refused": "Confirmation link refused",
    "choice.confirmation_resent": "Confirmation e-mail sent again",
    "choice.confirmed": "Choice confirmed",
    "choice.request_cancelled": "Choice request cancelled",
    "choice.request_superseded": "Choice request closed by the school's record",
    "choice.requested": "Choice requested",
    "choice.reviewed": "Guardian reviewed a change",
    "choice_definition.announced": "New choice announced to guardians",
    "choice_definition.announcement_requested": "Announcement of a new choice requested",
    "choice_definition.created": "Choice added",
    "choice_definition.edited": "Choice edited",
    "choice_definition.retired": "Choice withdrawn",
    "choices.carried_over": "Earlier choices carried over",
    "definition.categories_followed": "Choice follows the service's kinds of data",
    "disclosure_package.downloaded": "Disclosure package downloaded",
    "export.optouts": "Opt-out list exported",
    "guardian.coverage_announced": "Guardians told about new coverage",
    "guardian.service_change_announced": "Guardians told about a service change",
    "guardian_request.answered": "Guardian's request answered",
    "guardian_request.extended": "Guardian's request extended",
    "guardian_request.queue_viewed": "Request list viewed",
    "guardian_request.viewed": "Guardian's request viewed",
    "incident.notified": "Families told about an incident",
    "incident.recorded": "Incident recorded",
    "incident.sent": "Incident notice sent",
    "notice.published": "Notice published",
    "notifications.bodies_purged": "Old e-mail bodies removed",
    "reach.list_viewed": "List of families not reached viewed",
    "reach.reminder_sent": "Reminder sent",
    "reach.reminder_setting_changed": "Reminder setting changed",
    "retention.certificate_recorded": "Erasure certificate recorded",
    "retention.policy_changed": "Retention policy changed",
    "retention.run": "Retention run",
    "roster.import": "Roster imported",
    "service.published": "Service published",
    "service.retired": "Service retired",
    "student.searched": "Students searched",
    "student.viewed": "Student's record viewed",
    "students.message_handled": "Student's message handled",
    "students.message_sent": "Student sent a message",
    "students.messages_viewed": "Students' messages viewed",
}
OUTCOME_WORDS = {
    "success": "Done",
    "failure": "Failed",
    "refused": "Refused",
    "changed": "Changed",
    "kept": "Kept as it was",
}
ACTOR_WORDS = {
    "account": "Account",
    "api_key": "API key",
    "system": "Tobira (automatic)",
    "cli": "Command line",
    "anonymous": "Not signed in",
}


def action_label(code: str) -> str:
    return gettext(ACTION_WORDS[code]) if code in ACTION_WORDS else code


def outcome_label(code: str) -> str:
    return gettext(OUTCOME_WORDS[code]) if code in OUTCOME_WORDS else code


def actor_label(kind: str) -> str:
    return gettext(ACTOR_WORDS[kind]) if kind in ACTOR_WORDS else kind


def detail_lines(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Each detail on its own line, in full: the key as recorded, the value as plain text
    (nested values as compact JSON), so nothing is cut off or hidden in one long string."""
    lines: list[tuple[str, str]] = []
    for key, value in sorted((details or {}).items()):
        if isinstance(value, bool):
            text = gettext("Yes") if value else gettext("No")
        elif isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = str(value)
        lines.append((key, text))
    return lines
