"""What the domain refuses; the runtime maps each base (NotFound, Refused, Conflict, RuleBroken) to
one HTTP status, so no refusal here names a status of its own."""

from __future__ import annotations

from vrac_runtime.errors import Conflict, NotFound, Refused, RuleBroken


class UnknownCase(NotFound):
    """No ``case-opened`` has reached this service for the case."""


class UnknownScreening(NotFound):
    pass


class UnknownDiploma(NotFound):
    pass


class LinkWithdrawn(Refused):
    """The family's link opens a diploma only while its case is open and diploma consent
    stands: a withdrawal or a closed case stops it before the link's own expiry."""


class DiplomaNotShared(Conflict):
    """No new link for a diploma the family no longer shares (case closed, consent
    withdrawn)."""


class UnknownLink(NotFound):
    pass


class LinkRevoked(Refused):
    """A coach or the data-protection officer revoked the link: the link itself is refused,
    whatever the state of the diploma."""


class CaseIsClosed(Conflict):
    """The case was closed: nothing new is recorded for it."""


class NoConsent(Conflict):
    """The parents have not given (or have withdrawn) the consent the action needs."""


class InvalidInput(RuleBroken):
    """A rule about the input that the request schema cannot express."""


class ChildNotKnownYet(Conflict):
    """The family's details have not arrived yet; trying again later can succeed."""


class NoIssuerKey(Conflict):
    """The pilot has no issuer key configured: its diplomas get no credential."""


class CredentialRefused(Exception):
    """A credential that does not pass the check; ``str()`` names what failed. Not an HTTP
    refusal: the check answers it as its verdict."""
