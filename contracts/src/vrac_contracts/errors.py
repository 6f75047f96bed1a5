"""The one error type raised for anything that does not meet the contract."""

from __future__ import annotations


class ContractError(ValueError):
    """A message, attribute or field that breaks the contract.

    ``attribute`` names what is wrong (a CloudEvents header such as ``ce_type``, or a data
    field path such as ``data.guardians.0.email``) and ``reason`` says why. Neither ever
    contains payload values, because payloads may hold personal data and these errors end up
    in logs and dead-letter headers.
    """

    def __init__(self, attribute: str, reason: str) -> None:
        self.attribute = attribute
        self.reason = " ".join(reason.split())  # always one line
        super().__init__(attribute, self.reason)

    def __str__(self) -> str:
        return f"{self.attribute}: {self.reason}"

    def __repr__(self) -> str:
        return f"ContractError({self.attribute!r}, {self.reason!r})"
