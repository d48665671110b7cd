"""Pydantic response models: they are what /api/v1/openapi.json documents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HiddenStudent(BaseModel):
    student_id: str = Field(description="The student's roster id (OneRoster sourcedId).")
    hide: Literal["all", "some"] = Field(description="Hide every category of the service, or some.")
    categories: list[str] = Field(description="Data category codes whose data must be hidden.")


class HideList(BaseModel):
    service: str
    choice: str
    service_version: int = Field(description="Latest published version of the service.")
    items: list[HiddenStudent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    changes_cursor: str = Field(
        description="Pass as `since` to /api/v1/changes to receive only what changes after this list."
    )


class Change(BaseModel):
    student_id: str
    service: str
    choice: str
    action: Literal["add", "remove"] = Field(
        description="`add`: hide from now on (or hide different categories); `remove`: show again."
    )
    categories: list[str] = Field(description="For `add`: the categories to hide. Empty for `remove`.")


class ChangeFeed(BaseModel):
    changes: list[Change]
    next_cursor: str = Field(description="Pass as `since` next time.")
    has_more: bool = Field(description="True when more changes are waiting; ask again at once.")


class StudentChoice(BaseModel):
    student_id: str = Field(description="The student's roster id (OneRoster sourcedId).")
    value: str = Field(description="The confirmed value in force; it differs from the choice's `default`.")
    categories: list[str] = Field(description="For a categories choice: the data category codes hidden.")


class ChoiceList(BaseModel):
    service: str | None = Field(description="Service code; null for a board-wide choice.")
    choice: str
    kind: Literal["toggle", "categories"]
    options: list[str]
    default: str = Field(
        description="What is in force for every student not listed (e.g. `deny` for an opt-in choice)."
    )
    status: Literal["active", "retired"]
    items: list[StudentChoice] = Field(description="Students whose confirmed value is not the default.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ErrorBody(BaseModel):
    status: int
    title: str
    detail: str


class ErrorResponse(BaseModel):
    error: ErrorBody
