"""CSV files of accounts and contacts: the columns, reading an uploaded file (any
encoding Excel writes), and the export.

The import's steps (preview, apply) live in crm.csv_import; both read and write the
same columns, so an exported file imports back unchanged.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.audit import audit_record
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account, Contact

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000


class ImportKind(StrEnum):
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"


@dataclass(frozen=True)
class Column:
    field: str
    label: Promise
    # Header spellings besides the field name, compared after _header_key().
    aliases: tuple[str, ...] = ()


ACCOUNT_COLUMNS = (
    Column("external_id", gettext_lazy("External id"), ("id", "account id", "外部id", "外部编号")),
    Column(
        "name", gettext_lazy("Name"), ("account", "account name", "company", "名称", "客户名称")
    ),
    Column("domains", gettext_lazy("Domains"), ("domain", "email domains", "域名")),
    Column("parent", gettext_lazy("Parent account"), ("parent account", "parent id", "上级客户")),
    Column("owner", gettext_lazy("CSM"), ("csm", "owner email", "负责人", "客户成功经理")),
    Column("segment", gettext_lazy("Segment"), ("细分", "客户分类")),
    Column("tier", gettext_lazy("Tier"), ("等级",)),
    Column("lifecycle", gettext_lazy("Lifecycle stage"), ("lifecycle stage", "stage", "生命周期")),
    Column("notes", gettext_lazy("Notes"), ("note", "备注")),
)

CONTACT_COLUMNS = (
    Column("external_id", gettext_lazy("External id"), ("id", "user id", "userid", "外部id")),
    Column("email", gettext_lazy("Email"), ("e-mail", "email address", "邮箱", "电子邮件")),
    Column("name", gettext_lazy("Name"), ("full name", "姓名")),
    Column("title", gettext_lazy("Job title"), ("job title", "职位")),
    Column("account", gettext_lazy("Account"), ("account name", "company", "公司", "客户")),
    Column("account_external_id", gettext_lazy("Account external id"), ("account id", "客户id")),
    Column("other_emails", gettext_lazy("Other emails"), ("other email", "其他邮箱")),
    Column("phones", gettext_lazy("Phones"), ("phone", "mobile", "电话", "手机")),
    Column("social", gettext_lazy("Social handles"), ("social handles", "社交账号")),
    Column("roles", gettext_lazy("Roles"), ("role", "角色")),
    Column("evangelist_stage", gettext_lazy("Evangelist stage"), ("stage", "推广阶段")),
)

COLUMNS: dict[ImportKind, tuple[Column, ...]] = {
    ImportKind.ACCOUNTS: ACCOUNT_COLUMNS,
    ImportKind.CONTACTS: CONTACT_COLUMNS,
}

# Excel runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().-]+$")


# --- reading a file ---------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's
    "Unicode text"), or GB18030 — what Excel writes on a Chinese Windows."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise ValidationError(_("The file is not UTF-8 or GB18030 text. Save it as “CSV UTF-8”."))


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    # Excel in many European locales separates with ";", its "Unicode text" with tabs.
    first_line = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(row number, cells)]); row numbers count as a spreadsheet does, the
    header being row 1. Blank rows are skipped but keep their number."""
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise ValidationError(_("The file is not valid CSV: %(e)s") % {"e": exc}) from None
    rows: list[tuple[int, list[str]]] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if any(c.strip() for c in cells):
                rows.append((number, cells))
                if len(rows) > MAX_ROWS:
                    raise ValidationError(
                        _("At most %(n)s rows per file, please; split it.") % {"n": MAX_ROWS}
                    )
    except csv.Error as exc:
        raise ValidationError(
            _("Row %(row)s is not valid CSV: %(e)s") % {"row": number, "e": exc}
        ) from None
    return [h.strip() for h in header], rows


@dataclass(frozen=True)
class ColumnMap:
    # (position in the row, field name), in the file's order
    used: list[tuple[int, str]]
    ignored: list[str]

    def fields(self) -> list[str]:
        return [f for _i, f in self.used]


def map_columns(kind: ImportKind, header: list[str]) -> ColumnMap:
    """Which file column feeds which field, by header name (field name, English label, a
    few common spellings, or the Chinese label). The first column with a name wins."""
    names: dict[str, str] = {}
    for column in COLUMNS[kind]:
        spellings = [column.field, str(column.label), *column.aliases]
        with translation.override("zh-hans"):
            spellings.append(str(column.label))
        for spelling in spellings:
            names.setdefault(_header_key(spelling), column.field)
    used: list[tuple[int, str]] = []
    ignored: list[str] = []
    for position, title in enumerate(header):
        wanted = names.get(_header_key(title))
        if wanted is None or wanted in {f for _i, f in used}:
            ignored.append(title)
        else:
            used.append((position, wanted))
    return ColumnMap(used=used, ignored=ignored)


def unescape_cell(cell: str) -> str:
    # Our export puts a quote before cells Excel would run as formulas; take it off.
    value = cell.strip()
    if value.startswith("'") and value[1:2] in _FORMULA_START:
        return value[1:]
    return value


def column_labels(kind: ImportKind) -> dict[str, Promise]:
    return {c.field: c.label for c in COLUMNS[kind]}


# --- export -----------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe(value: Any) -> str:
    """A cell Excel shows as text, never runs: formula-like text gets a leading quote
    (numbers and phone numbers such as "+86 138 0000 0000" stay as they are)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A BOM so Excel reads the file as UTF-8 (Chinese names stay readable).
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([_safe(v) for v in row])


def _export_audit(actor: User, what: str, n: int, filters: Mapping[str, Any]) -> None:
    audit_record(
        actor=actor,
        action="crm.export",
        target=what,
        data={"rows": n, "filters": {k: str(v) for k, v in filters.items() if v}},
    )


def accounts_export(
    *, actor: User, accounts: QuerySet[Account], filters: Mapping[str, Any] | None = None
) -> Iterator[str]:
    """CSV lines of ``accounts`` (the columns the import reads back), after writing the
    audit row. ``accounts`` should already be the actor's visible, filtered list."""
    require_perm(actor, "crm.view_account")
    n = accounts.count()
    _export_audit(actor, "accounts", n, filters or {})
    qs = accounts.select_related("parent", "owner").prefetch_related("domains")

    def rows() -> Iterator[list[Any]]:
        for a in qs.iterator(chunk_size=500):
            parent = a.parent.external_id or a.parent.name if a.parent else ""
            yield [
                a.external_id,
                a.name,
                "; ".join(sorted(d.domain for d in a.domains.all())),
                parent,
                a.owner.email if a.owner else "",
                a.segment,
                a.tier,
                a.lifecycle,
                a.notes,
            ]

    return _stream([c.field for c in ACCOUNT_COLUMNS], rows())


def contacts_export(
    *, actor: User, contacts: QuerySet[Contact], filters: Mapping[str, Any] | None = None
) -> Iterator[str]:
    """CSV lines of ``contacts`` (the columns the import reads back), after the audit row."""
    require_perm(actor, "crm.view_contact")
    n = contacts.count()
    _export_audit(actor, "contacts", n, filters or {})
    qs = contacts.select_related("account")

    def rows() -> Iterator[list[Any]]:
        for c in qs.iterator(chunk_size=500):
            yield [
                c.external_id,
                c.email,
                c.name,
                c.title,
                c.account.name if c.account else "",
                c.account.external_id if c.account else "",
                "; ".join(c.other_emails or []),
                "; ".join(c.phones or []),
                "; ".join(f"{k}: {v}" for k, v in (c.social or {}).items()),
                "; ".join(c.roles or []),
                c.evangelist_stage,
            ]

    return _stream([c.field for c in CONTACT_COLUMNS], rows())
