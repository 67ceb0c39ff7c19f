from assignment.domain import PersonDetails, holder_changes


def test_assigning_the_current_holder_again_changes_nothing() -> None:
    assert not holder_changes("Ada@Example.com", PersonDetails("Ada", " ada@example.com "))


def test_a_new_person_or_nobody_is_a_change() -> None:
    assert holder_changes(None, PersonDetails("Ada", "ada@example.com"))
    assert holder_changes("ada@example.com", PersonDetails("Bo", "bo@example.com"))
    assert holder_changes("ada@example.com", None)
    assert not holder_changes(None, None)


def test_custom_fields_are_checked_against_the_organizers_definitions() -> None:
    from assignment.domain import PersonField, custom_field_problems

    fields = [PersonField("diet", "Diet", required=True), PersonField("tshirt", "T-shirt size")]
    assert custom_field_problems(fields, {"diet": "vegan"}) == []
    assert custom_field_problems(fields, {"diet": " "}) == ["Diet (diet) is required"]
    assert custom_field_problems(fields, {"diet": "x", "shoe": "42"}) == ["unknown field 'shoe'"]
    assert custom_field_problems([], {}) == []
    assert custom_field_problems([], {"anything": "x"}) == ["unknown field 'anything'"]
