"""Errors a person can act on. Each carries an i18n key and its parameters."""

from __future__ import annotations

from typing import Any


class RelaisError(Exception):
    """Base class: ``key`` names the message in the catalogues, ``params`` fill it in."""

    key = "error.generic"

    def __init__(self, key: str | None = None, /, **params: Any) -> None:
        self.key = key or type(self).key
        self.params = params
        super().__init__(f"{self.key} {params}")


class NotAllowed(RelaisError):
    """The actor lacks the role this action needs."""

    key = "error.not_allowed"


class NotFound(RelaisError):
    """The thing asked for does not exist (or is not visible to the actor)."""

    key = "error.not_found"


class NotAmbassador(RelaisError):
    """Only ambassadors may do this; the member should join first."""

    key = "error.not_ambassador"


class CharterNotAccepted(RelaisError):
    """The member has not accepted the current charter version."""

    key = "error.charter_outdated"


class CharterChanged(RelaisError):
    """The member accepted a version that is no longer the current one."""

    key = "error.charter_changed"


class AlreadyDecided(RelaisError):
    """Someone else moved the submission first; says who, what and when."""

    key = "error.already_decided"


class InvalidTransition(RelaisError):
    """The submission's status does not allow this action."""

    key = "error.invalid_transition"


class InvalidInput(RelaisError):
    """A form field is wrong; ``field`` says which."""

    key = "error.invalid_input"

    def __init__(self, key: str, /, *, field: str, **params: Any) -> None:
        self.field = field
        super().__init__(key, **params)


class StaleCard(RelaisError):
    """The card clicked shows an older version of the submission than the current one."""

    key = "error.stale_card"


class DuplicatePhoto(InvalidInput):
    """The same photo is already in one of the author's live submissions: an error of the
    photos field, so a form asks for other photos and keeps the other answers."""

    key = "error.duplicate_photo"

    def __init__(self, **params: Any) -> None:
        super().__init__(self.key, field="photos", **params)


class AlreadyThanked(RelaisError):
    """The submission's author was thanked already; says by whom and when."""

    key = "error.already_thanked"
