import datetime as dt

from vrac_contracts.consent import ConsentState, consent_key, granted, is_newer
from vrac_contracts.values import ConsentPurpose

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def test_agency_consents_are_filed_per_agency_and_others_once_per_case() -> None:
    agency = ConsentPurpose.SHARE_WITH_AGENCY
    assert consent_key(agency, "agy_a") != consent_key(agency, "agy_b")
    assert consent_key(ConsentPurpose.DIPLOMA) == "diploma"
    assert consent_key("diploma") == consent_key(ConsentPurpose.DIPLOMA)


def test_sharing_with_an_agency_that_is_not_named_is_never_granted() -> None:
    agency = ConsentPurpose.SHARE_WITH_AGENCY
    consents = {consent_key(agency, "agy_a"): ConsentState(True, T0)}
    assert granted(consents, agency, "agy_a")
    assert not granted(consents, agency, None)
    assert not granted(consents, agency, "agy_b")


def test_a_late_older_decision_does_not_replace_a_newer_one() -> None:
    newer = ConsentState(False, T0 + dt.timedelta(minutes=1))
    older = ConsentState(True, T0)
    assert is_newer(None, older)
    assert is_newer(older, newer)
    assert not is_newer(newer, older)
    assert not is_newer(newer, newer)
