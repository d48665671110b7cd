"""The sign-in problems a person can meet, with a clear page for each (ja via accounts.po)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse

from app.i18n import gettext as _
from app.surfaces.web import render


@dataclass(frozen=True)
class Problem:
    title: str
    text: str
    status: int
    retry: str = "/signin"  # where the "try again" link goes
    retry_label: str = "Back to sign-in"


PROBLEMS = {
    "provider_denied": Problem(
        "Sign-in was cancelled",
        "The sign-in was cancelled or refused at the sign-in service. Nothing was changed. "
        "You can try again, or choose another way to sign in.",
        400,
    ),
    "provider_error": Problem(
        "The sign-in could not be completed",
        "The sign-in service reported a problem, or its answer could not be verified. "
        "Nothing was changed. Please try again.",
        400,
    ),
    "provider_unavailable": Problem(
        "The sign-in service cannot be reached",
        "The sign-in service did not answer. Please try again later, or sign in another way.",
        503,
    ),
    "state_mismatch": Problem(
        "This sign-in has expired or was not started here",
        "For your security, a sign-in must be started on this site and finished within 10 minutes. "
        "Please start again.",
        400,
    ),
    "unknown_account": Problem(
        "This account has no access to Tobira",
        "You signed in, but this account has not been given a role here. Ask your board of "
        "education's administrator to invite the e-mail address of this account, then sign in again.",
        403,
    ),
    "weak_authentication": Problem(
        "A stronger sign-in is required",
        "Your board of education requires a second factor (for example a one-time code or a "
        "security key) to sign in to Tobira. Sign in again and use it; if the sign-in service "
        "does not offer one, ask your administrator to set it up.",
        403,
    ),
    "reauthentication_missing": Problem(
        "Please confirm it is you",
        "Before showing a student's record or an export, Tobira asks the sign-in service to check "
        "again that it is you, and it did not. Nothing was shown. Please try again.",
        403,
        retry="/staff",
        retry_label="Back to the staff console",
    ),
    "wrong_kind": Problem(
        "This account cannot be used here",
        "This account is already used in Tobira in another way (guardian or staff). "
        "Please sign in with the service meant for you.",
        403,
    ),
    "student_not_on_roster": Problem(
        "We could not find you on the school's list",
        "You signed in, but this account is not on your school's list of students. Nothing is shown. "
        "Please ask your teacher.",
        403,
    ),
    "code_invalid": Problem(
        "The code is not valid",
        "Check the code on the letter from the school and enter it again. "
        "Letters and dashes do not need to match in case or width.",
        400,
        "/link",
        "Enter the code again",
    ),
    "code_expired": Problem(
        "The code has expired",
        "The code on this letter is no longer valid. Ask your child's school for a new letter.",
        400,
        "/link",
        "Enter another code",
    ),
    "code_used": Problem(
        "The code has already been used",
        "Each code works once. If you already used it, your child is on your page. "
        "Otherwise ask your child's school for a new letter.",
        400,
        "/children",
        "Go to my children",
    ),
    "code_revoked": Problem(
        "The code has been replaced",
        "The school has printed a newer letter for you; this code no longer works. "
        "Please use the code on the newest letter.",
        400,
        "/link",
        "Enter another code",
    ),
    "link_expired": Problem(
        "The sign-in link has expired",
        "Sign-in links work for 20 minutes. Ask for a new one below.",
        400,
        "/signin#email",
        "Ask for a new link",
    ),
    "link_used": Problem(
        "The sign-in link has already been used",
        "Each sign-in link works once. Ask for a new one if you need to sign in again.",
        400,
        "/signin#email",
        "Ask for a new link",
    ),
    "link_invalid": Problem(
        "The sign-in link is not valid",
        "Copy the whole link from the e-mail, or ask for a new one.",
        400,
        "/signin#email",
        "Ask for a new link",
    ),
    "rate_limited": Problem(
        "Too many attempts",
        "For your security, further attempts are paused for a while. Please wait 15 minutes and try again.",
        429,
    ),
}


def problem_page(request: Request, kind: str) -> HTMLResponse:
    problem = PROBLEMS[kind]
    return render(
        request,
        "accounts/problem.html",
        {
            "kind": kind,
            "title": _(problem.title),
            "text": _(problem.text),
            "retry": problem.retry,
            "retry_label": _(problem.retry_label),
        },
        status_code=problem.status,
    )
