"""Bulk assignment from a CSV upload: read, validate and report every row. No I/O."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter

from email_validator import EmailNotValidError, validate_email

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
MAX_NAME = 200
_MAX_LENGTHS = {"company": 200, "job_title": 200, "phone": 50}  # the persons table's column widths

# Issuance's ticket numbers: Crockford base32, so never I, L, O or U.
_TICKET_NUMBER = re.compile(r"TF-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
_LANGUAGE = re.compile(r"[a-z]{2}")
_DELIMITERS = (",", ";", "\t")
# Excel reads (and can write) a first line such as "sep=;" that names the delimiter and is not shown.
_EXCEL_SEPARATOR_LINE = re.compile(r"sep=([,;\t])\n", re.IGNORECASE)

# Header, as compared (see _header_key), -> field. Other headers become custom fields.
_ALIASES = {
    "ticket": "ticket", "ticket number": "ticket", "ticket id": "ticket", "biljett": "ticket",
    "name": "name", "full name": "name", "namn": "name",
    "email": "email", "e mail": "email", "email address": "email", "e post": "email", "e postadress": "email",
    "company": "company", "företag": "company", "job title": "job_title", "title": "job_title",
    "titel": "job_title", "phone": "phone", "telefon": "phone", "language": "language", "språk": "language",
}
_FIELDS = frozenset(_ALIASES.values())
_REQUIRED = ("ticket", "name", "email")
_person_details = attrgetter("name", "company", "job_title", "phone", "language", "custom")


@dataclass(frozen=True)
class ImportRow:
    """One data row of the file. ``ticket_ref`` and ``email`` are normalized when valid, else as written."""

    line: int  # the row number a spreadsheet shows; the header is line 1
    ticket_ref: str  # a ticket number such as TF-7K3M-9QXD, or a ticket id in canonical form
    name: str
    email: str
    company: str | None = None
    job_title: str | None = None
    phone: str | None = None
    language: str = "en"
    custom: dict[str, str] = field(default_factory=dict)  # header -> value, blank values left out
    problem: str | None = None
    problem_code: str | None = None

    @property
    def accepted(self) -> bool:
        return self.problem_code is None


@dataclass(frozen=True)
class ImportResult:
    """Every data row in file order, or no rows and the reasons the whole file is refused."""

    rows: list[ImportRow]
    errors: list[str]


def parse_upload(data: bytes, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES) -> ImportResult:
    if len(data) > max_bytes:
        return _file_refused(f"The file is larger than {max_bytes / 2**20:.3g} MiB.")
    text = _decode(data)
    if text is None or "\x00" in text:
        return _file_refused("The file is not CSV text; save the spreadsheet as CSV.")
    text, delimiter = _delimited(text)
    try:
        records = list(enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1))
    except csv.Error as error:  # e.g. an unclosed quote swallowing the rest of the file
        return _file_refused(f"The file is not valid CSV: {error}.")
    cleaned = [(line, [_clean(value) for value in values]) for line, values in records]
    filled = [(line, values) for line, values in cleaned if any(values)]  # blank lines are skipped silently
    if not filled:
        return _file_refused("The file is empty.")
    (_, header), body = filled[0], filled[1:]
    columns, errors = _columns(header)
    if errors:
        return _file_refused(*errors)
    if not body:
        return _file_refused("The file has a header but no rows.")
    if len(body) > max_rows:
        return _file_refused(f"The file has {len(body)} rows; at most {max_rows} can be imported at once.")
    return ImportResult(rows=_without_repeats([_row(line, values, columns) for line, values in body]), errors=[])


def report_csv(rows: Iterable[ImportRow]) -> str:
    """The per-row outcome for the organizer to download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("line", "ticket", "email", "result", "reason"))
    writer.writerows((row.line, row.ticket_ref, row.email, "accepted" if row.accepted else "refused", row.problem or "")
                     for row in rows)
    return buffer.getvalue()


def fingerprint(data: bytes) -> str:
    """Equal for re-uploads of the same content, whatever the line endings, encoding or final newline."""
    text = _decode(data)
    return hashlib.sha256(text.rstrip("\n").encode() if text is not None else data).hexdigest()


def _file_refused(*errors: str) -> ImportResult:
    return ImportResult(rows=[], errors=list(errors))


def _decode(data: bytes) -> str | None:
    """UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), else cp1252 (Excel on Windows)."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    return None


def _delimited(text: str) -> tuple[str, str]:
    """The text without Excel's separator line, and its delimiter: the one splitting the header most."""
    if hint := _EXCEL_SEPARATOR_LINE.match(text):
        return text[hint.end():], hint.group(1)
    header = next((line for line in text.split("\n") if re.search(r"\w", line)), "")
    return text, max(_DELIMITERS, key=lambda d: len(next(csv.reader([header], delimiter=d))))  # ties: comma


def _clean(value: str) -> str:
    """Trimmed, without the apostrophe Excel users type to keep "0701..." as text ("'t Hooft" keeps its own)."""
    value = value.strip()
    if value.startswith("'") and not value[1:2].isalpha():
        value = value[1:].strip()
    return value


def _header_key(title: str) -> str:
    """Headers compare case-insensitively, with "_" and "-" read as spaces: "E-post", "Job_Title"."""
    return " ".join(title.lower().replace("_", " ").replace("-", " ").split())


def _columns(header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> field name or, for custom fields, the header as written; and header problems."""
    columns: dict[int, str] = {}
    titles: dict[str, str] = {}  # field or compared custom header -> the header as written
    errors = []
    for index, title in enumerate(header):
        key = _ALIASES.get(_header_key(title), _header_key(title))
        if title and key in titles:
            errors.append(f'The columns "{titles[key]}" and "{title}" mean the same; keep one.')
        elif title:
            titles[key] = title
            columns[index] = key if key in _FIELDS else title
    if missing := [name for name in _REQUIRED if name not in titles]:
        errors.append(f"Required columns are missing: {', '.join(missing)}.")
    return columns, errors


def _row(line: int, values: list[str], columns: dict[int, str]) -> ImportRow:
    given = {key: values[index] if index < len(values) else "" for index, key in columns.items()}
    ticket_ref, ticket_valid = _ticket_ref(given["ticket"])
    email, email_error = _email(given["email"])
    row = ImportRow(
        line=line, ticket_ref=ticket_ref, name=given["name"], email=email,
        company=given.get("company") or None, job_title=given.get("job_title") or None,
        phone=given.get("phone") or None, language=given.get("language", "").lower() or "en",
        custom={key: value for key, value in given.items() if key not in _FIELDS and value},
    )
    too_long = next((key for key, limit in _MAX_LENGTHS.items() if len(given.get(key, "")) > limit), None)
    problems = (  # the first that applies is reported
        (any(value for index, value in enumerate(values) if index not in columns), "value_without_column",
         "A value is in a column without a header (a comma in a name without quotes?)."),
        (not row.ticket_ref, "missing_ticket", "No ticket."),
        (not ticket_valid, "invalid_ticket_reference",
         f'"{row.ticket_ref}" is neither a ticket number such as TF-7K3M-9QXD nor a ticket id.'),
        (not row.name, "missing_name", "No name."),
        (len(row.name) > MAX_NAME, "name_too_long", f"The name is longer than {MAX_NAME} characters."),
        (not row.email, "missing_email", "No email address."),
        (email_error, "invalid_email", f'"{row.email}" is not a valid email address: {email_error}'),
        (not _LANGUAGE.fullmatch(row.language), "invalid_language",
         f'"{row.language}" is not a two-letter language code such as en.'),
        (too_long, "value_too_long",
         f"The {(too_long or '').replace('_', ' ')} is longer than {_MAX_LENGTHS.get(too_long)} characters."),
    )
    return next((_refuse(row, code, reason) for applies, code, reason in problems if applies), row)


def _ticket_ref(value: str) -> tuple[str, bool]:
    if _TICKET_NUMBER.fullmatch(value.upper()):
        return value.upper(), True
    try:
        return str(uuid.UUID(value)), True
    except ValueError:
        return value, False


def _email(value: str) -> tuple[str, str | None]:
    """The address as the holder contract's EmailStr stores it (domain lower-cased), or why it is invalid."""
    try:
        return validate_email(value, check_deliverability=False).normalized, None
    except EmailNotValidError as error:
        return value, str(error)


def _refuse(row: ImportRow, code: str, reason: str) -> ImportRow:
    return replace(row, problem_code=code, problem=reason)


def _without_repeats(rows: list[ImportRow]) -> list[ImportRow]:
    """Refuse a ticket's later lines, and later lines giving a person (by email) other details:
    applying both would let the last line silently overrule one already reported as accepted."""
    ticket_lines: dict[str, int] = {}
    people: dict[str, ImportRow] = {}
    checked = []
    for row in rows:
        if row.problem_code not in ("value_without_column", "missing_ticket", "invalid_ticket_reference"):
            if (first := ticket_lines.setdefault(row.ticket_ref, row.line)) != row.line:
                row = _refuse(row, "duplicate_ticket_in_file", f"The same ticket is on line {first}.")
        if row.accepted:
            earlier = people.setdefault(row.email.lower(), row)
            if _person_details(earlier) != _person_details(row):
                row = _refuse(row, "conflicting_person_details",
                              f"Line {earlier.line} gives {row.email} other details; one email is one person.")
        checked.append(row)
    return checked
