import csv
import io
import uuid

import pytest

from assignment.bulk_import import ImportRow, fingerprint, parse_upload, report_csv

HEADER = "ticket,name,email\n"


def parse_text(text: str, **limits) -> list[ImportRow]:
    result = parse_upload(text.encode(), **limits)
    assert result.errors == []
    return result.rows


def problem_codes(text: str) -> list[str | None]:
    return [row.problem_code for row in parse_text(text)]


def test_a_comma_file_gives_normalized_rows_numbered_as_in_a_spreadsheet() -> None:
    rows = parse_text(
        "Ticket,Name,Email,Company,Job_Title,Phone,Language\n"
        " tf-7k3m-9qxd , Ada Lovelace ,Ada@Example.COM,Analytical Ltd,Engineer,'+46701234567,SV\n"
    )
    assert rows == [ImportRow(line=2, ticket_ref="TF-7K3M-9QXD", name="Ada Lovelace", email="Ada@example.com",
                              company="Analytical Ltd", job_title="Engineer", phone="+46701234567", language="sv")]
    assert rows[0].accepted


def test_a_semicolon_file_from_swedish_excel_with_swedish_headers() -> None:
    text = ("Biljett;Namn;E-post;Företag;Titel;Telefon;Språk\r\n"
            "TF-AAAA-BBBB;Berg, Åsa;asa@example.se;Berg AB;VD;'0701234567;sv\r\n")
    [row] = parse_text(text)
    assert (row.ticket_ref, row.name, row.email, row.company, row.job_title, row.phone, row.language) == (
        "TF-AAAA-BBBB", "Berg, Åsa", "asa@example.se", "Berg AB", "VD", "0701234567", "sv")
    assert row.accepted


def test_a_tab_file_and_excels_separator_line() -> None:
    assert parse_text("ticket\tname\temail\nTF-AAAA-BBBB\tAda\tada@example.com\n")[0].accepted
    [row] = parse_text("sep=;\nticket;name;email\nTF-AAAA-BBBB;Ada, Countess;ada@example.com\n")
    assert (row.line, row.name, row.accepted) == (2, "Ada, Countess", True)


def test_a_utf8_bom_is_not_part_of_the_first_header() -> None:
    result = parse_upload("\ufeffticket;name;email\nTF-AAAA-BBBB;Åsa;asa@example.se\n".encode())
    assert result.errors == [] and result.rows[0].name == "Åsa"


def test_a_cp1252_file_from_excel_on_windows() -> None:
    data = "Biljett;Namn;E-post\r\nTF-AAAA-BBBB;Åsa Öberg;asa@example.se\r\nTF-AAAA-CCCC;Ümit;umit@example.de\r\n"
    rows = parse_upload(data.encode("cp1252")).rows
    assert [row.name for row in rows] == ["Åsa Öberg", "Ümit"]


def test_a_utf16_file_from_excels_unicode_text_export() -> None:
    data = "ticket\tname\temail\r\nTF-AAAA-BBBB\tÅsa Öberg\tasa@example.se\r\n".encode("utf-16")
    assert parse_upload(data).rows[0].name == "Åsa Öberg"


def test_uuid_references_become_canonical() -> None:
    ticket_id = uuid.uuid4()
    rows = parse_text(f"{HEADER}{str(ticket_id).upper()},Ada,ada@example.com\n{{{ticket_id.hex}}},Bo,bo@example.com\n")
    assert rows[0].ticket_ref == str(ticket_id)
    assert rows[1].problem_code == "duplicate_ticket_in_file"  # the same id, written differently


@pytest.mark.parametrize(("line", "code"), [
    ("TF-AAAA-BBBB,Ada,ada@example.com,extra", "value_without_column"),
    (",Ada,ada@example.com", "missing_ticket"),
    ("TF-AAAA-BBBI,Ada,ada@example.com", "invalid_ticket_reference"),  # I is not in the alphabet
    ("12345,Ada,ada@example.com", "invalid_ticket_reference"),
    ("TF-AAAA-BBBB,,ada@example.com", "missing_name"),
    (f"TF-AAAA-BBBB,{'A' * 201},ada@example.com", "name_too_long"),
    ("TF-AAAA-BBBB,Ada,", "missing_email"),
    ("TF-AAAA-BBBB,Ada,ada at example.com", "invalid_email"),
    ("TF-AAAA-BBBB,Ada,Ada <ada@example.com>", "invalid_email"),
])
def test_each_row_problem_has_a_code_and_a_reason(line: str, code: str) -> None:
    [row] = parse_text(f"{HEADER}{line}\n")
    assert row.problem_code == code and row.problem and not row.accepted


@pytest.mark.parametrize(("language", "code"), [("swe", "invalid_language"), ("s1", "invalid_language"),
                                                ("EN", None), ("", None)])
def test_language_is_two_letters_and_defaults_to_english(language: str, code: str | None) -> None:
    [row] = parse_text(f"ticket,name,email,language\nTF-AAAA-BBBB,Ada,ada@example.com,{language}\n")
    assert row.problem_code == code
    if code is None:
        assert row.language == "en"


@pytest.mark.parametrize(("column", "limit"), [("company", 200), ("job_title", 200), ("phone", 50)])
def test_optional_values_must_fit_the_persons_table(column: str, limit: int) -> None:
    fits, too_long = parse_text(f"ticket,name,email,{column}\nTF-AAAA-BBBB,Ada,ada@example.com,{'1' * limit}\n"
                                f"TF-CCCC-DDDD,Bo,bo@example.com,{'1' * (limit + 1)}\n")
    assert fits.accepted
    assert too_long.problem_code == "value_too_long" and column.replace("_", " ") in too_long.problem


def test_a_row_missing_trailing_cells_reads_them_as_blank() -> None:
    [row] = parse_text("ticket,name,email,company\nTF-AAAA-BBBB,Ada,ada@example.com\n")
    assert row.accepted and row.company is None


def test_lines_after_the_first_with_the_same_ticket_are_refused_naming_the_first() -> None:
    rows = parse_text(f"{HEADER}TF-AAAA-BBBB,Ada,ada@example.com\nTF-CCCC-DDDD,Bo,bo@example.com\n"
                      "tf-aaaa-bbbb,Cy,cy@example.com\nTF-AAAA-BBBB,Di,not-an-email\n")
    assert [row.problem_code for row in rows] == [None, None, "duplicate_ticket_in_file", "duplicate_ticket_in_file"]
    assert "line 2" in rows[2].problem and "line 2" in rows[3].problem


def test_one_person_on_several_tickets_must_have_the_same_details() -> None:
    rows = parse_text(f"{HEADER}TF-AAAA-BBBB,Ada,ada@example.com\nTF-CCCC-DDDD,Ada,ADA@EXAMPLE.COM\n"
                      "TF-EEEE-FFFF,Ada Lovelace,ada@example.com\n")
    assert [row.problem_code for row in rows] == [None, None, "conflicting_person_details"]
    assert "Line 2" in rows[2].problem


def test_blank_and_whitespace_only_lines_are_skipped_and_keep_the_numbering() -> None:
    rows = parse_text(f"\n{HEADER}\nTF-AAAA-BBBB,Ada,ada@example.com\n  ,  , \n,,\nTF-CCCC-DDDD,Bo,bo@example.com\n\n")
    assert [row.line for row in rows] == [4, 7]


def test_quoted_values_may_hold_delimiters_quotes_and_line_breaks() -> None:
    rows = parse_text(f'{HEADER}TF-AAAA-BBBB,"Lovelace, ""Ada""\nCountess",ada@example.com\n'
                      "TF-CCCC-DDDD,Bo,bo@example.com\n")
    assert rows[0].name == 'Lovelace, "Ada"\nCountess'
    assert [row.line for row in rows] == [2, 3]  # a spreadsheet shows the quoted line break inside one row


def test_unknown_columns_are_custom_fields() -> None:
    [row] = parse_text("ticket,name,email,Dietary needs, T-shirt size ,Notes\n"
                       "TF-AAAA-BBBB,Ada,ada@example.com,vegan,M,\n")
    assert row.custom == {"Dietary needs": "vegan", "T-shirt size": "M"}


def test_an_apostrophe_before_a_letter_is_part_of_the_name() -> None:
    [row] = parse_text(f"{HEADER}TF-AAAA-BBBB,'t Hooft,gerard@example.nl\n")
    assert row.name == "'t Hooft"


@pytest.mark.parametrize(("text", "error"), [
    ("", "empty"),
    ("\n ,, \n", "empty"),
    (HEADER, "no rows"),
    ("ticket,namn,company\nTF-AAAA-BBBB,Ada,X\n", "missing: email"),
    ("ticket;name\nTF-AAAA-BBBB;Ada\n", "missing: email"),
    ("ticket,name,e-mail,email\nTF-AAAA-BBBB,Ada,a@example.com,a@example.com\n", "mean the same"),
    ('ticket,name,email\nTF-AAAA-BBBB,"Ada' + "x" * 200_000 + "\n", "not valid CSV"),
])
def test_file_problems_refuse_the_whole_file(text: str, error: str) -> None:
    result = parse_upload(text.encode())
    assert result.rows == [] and error in " ".join(result.errors)


def test_a_binary_file_is_refused() -> None:
    result = parse_upload(b"PK\x03\x04\x14\x00\x00\x00\x08\x00")
    assert result.rows == [] and "not CSV" in result.errors[0]


def test_too_many_rows_or_bytes_refuse_the_whole_file() -> None:
    text = HEADER + "".join(f"TF-AAAA-{n:04d},P{n},p{n}@example.com\n" for n in range(1, 4))
    assert len(parse_text(text, max_rows=3)) == 3
    assert "at most 2" in parse_upload(text.encode(), max_rows=2).errors[0]
    assert "larger than" in parse_upload(text.encode(), max_bytes=50).errors[0]


def test_the_report_round_trips_through_a_csv_reader() -> None:
    rows = parse_text(f'{HEADER}TF-AAAA-BBBB,"Lovelace, Ada",ada@example.com\n'
                      'TF-AAAA-BBBB,"Bo ""the"" Builder",bo@example.com\n"TF-X,""Y""",Cy,cy@example.com\n')
    report = list(csv.reader(io.StringIO(report_csv(rows), newline="")))
    assert report == [
        ["line", "ticket", "email", "result", "reason"],
        ["2", "TF-AAAA-BBBB", "ada@example.com", "accepted", ""],
        ["3", "TF-AAAA-BBBB", "bo@example.com", "refused", "The same ticket is on line 2."],
        ["4", 'TF-X,"Y"', "cy@example.com", "refused", rows[2].problem],
    ]
    assert '"' in rows[2].problem and "," in rows[2].problem


def test_a_reupload_of_the_same_content_has_the_same_fingerprint() -> None:
    lf = f"{HEADER}TF-AAAA-BBBB,Åsa,asa@example.se\n"
    crlf = lf.replace("\n", "\r\n")
    assert fingerprint(lf.encode()) == fingerprint(crlf.encode()) == fingerprint(("\ufeff" + crlf).encode())
    assert fingerprint(lf.encode()) == fingerprint(lf.encode("cp1252")) == fingerprint(lf.rstrip("\n").encode())
    assert fingerprint(lf.encode()) != fingerprint(lf.replace("Åsa", "Asa").encode())
    assert len(fingerprint(lf.encode())) == 64
