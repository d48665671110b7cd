"""The dev mailbox page (mounted by app/main.py only when ENVIRONMENT is dev or test).

Shows what the demo's SMTP sink received: every message to every address, so that
confirmation and sign-in links can be followed without a real mail server.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app.surfaces.demo import mailbox
from app.surfaces.web import render

router = APIRouter(prefix="/dev/mailbox")
DEFAULT_MAIL_DIR = "demo-data/mail"


def mail_dir(request: Request) -> Path:
    """Set by the demo runner (app.state.demo_mail_dir); else DEMO_MAIL_DIR or demo-data/mail."""
    configured = getattr(request.app.state, "demo_mail_dir", None)
    if configured is not None:
        return Path(configured)
    return Path(os.environ.get("DEMO_MAIL_DIR", DEFAULT_MAIL_DIR))


@router.get("")
def mailbox_page(request: Request) -> Response:
    messages = mailbox.list_messages(mail_dir(request))
    # htmx polls for the list alone (templates/demo/_messages.html); without JavaScript
    # the Refresh link reloads the page.
    return render(request, "demo/mailbox.html", {"messages": messages}, fragment="demo/_messages.html")


@router.get("/{message_id}")
def message_page(request: Request, message_id: str) -> Response:
    message = mailbox.read_message(mail_dir(request), message_id)
    if message is None:
        raise HTTPException(404, "This message is not in the mailbox.")
    return render(request, "demo/message.html", {"message": message})


@router.get("/{message_id}/attachments/{index}")
def attachment(request: Request, message_id: str, index: int) -> Response:
    found = mailbox.read_attachment(mail_dir(request), message_id, index)
    if found is None:
        raise HTTPException(404, "This message is not in the mailbox.")
    filename, content_type, content = found
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )
