from assignment.domain import PersonDetails, holder_changes


def test_assigning_the_current_holder_again_changes_nothing() -> None:
    assert not holder_changes("Ada@Example.com", PersonDetails("Ada", " ada@example.com "))


def test_a_new_person_or_nobody_is_a_change() -> None:
    assert holder_changes(None, PersonDetails("Ada", "ada@example.com"))
    assert holder_changes("ada@example.com", PersonDetails("Bo", "bo@example.com"))
    assert holder_changes("ada@example.com", None)
    assert not holder_changes(None, None)
