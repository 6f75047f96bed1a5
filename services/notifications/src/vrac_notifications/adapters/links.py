"""Links to a child's diploma that the family can open without an account."""

from __future__ import annotations

from dataclasses import dataclass

from vrac_runtime.auth import issue_link


@dataclass(frozen=True)
class DiplomaLinks:
    """Signs ``<screening>/diplomas/<id>.pdf`` for a limited time with the shared secret."""

    screening_url: str
    secret: str
    issuer: str
    valid_days: int

    def __call__(self, diploma_id: str) -> str:
        path = f"/diplomas/{diploma_id}.pdf"
        token = issue_link(self.secret, path, ttl=self.valid_days * 86_400, issuer=self.issuer)
        return f"{self.screening_url.rstrip('/')}{path}?link={token}"
