"""CSV import of accounts and contacts: parse and plan each row, then apply the plan.

Three steps a person watches: upload (the file is stored and its header checked),
preview (every row parsed and validated, nothing written) and confirm (the
crm_import_apply task applies the rows through the crm services, reporting progress). A
bad row never stops the good ones; the result lists each failed row by its spreadsheet
row number (the header is row 1).

Rows are matched to what exists — accounts by external id, then by name; contacts by
external id, then by email — and a blank cell leaves the stored value as it is.

The uploaded file sits in the default storage (shared by web and workers in every
deployment) and the job's state in the default cache, so the status page can be polled
cheaply from any web process.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tend.core.commit import after_commit
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm import services
from tend.crm.cleaning import clean_email, social_from_text
from tend.crm.csv_io import (
    COLUMNS,
    MAX_BYTES,
    ColumnMap,
    ImportKind,
    column_labels,
    map_columns,
    read_rows,
    unescape_cell,
)
from tend.crm.models import Account, Contact, EvangelistStage, Lifecycle, Role

IMPORT_DIR = "crm-imports"
PREVIEW_ROWS = 20
# Failed rows kept for the result page; the count covers them all.
MAX_FAILURES_KEPT = 1_000
# The status lives this long after the last change; then the result is gone.
STATE_TTL = 7 * 24 * 3600
# Progress is written every so many rows: the page polls once a second, not per row.
PROGRESS_EVERY = 25
# SQLite allows 32,766 parameters per statement; stay far below it.
LOOKUP_CHUNK = 500
# Stands for an account an earlier row of the same file will create (preview only).
PLANNED = -1


class ImportStatus(StrEnum):
    UPLOADED = "uploaded"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# Who may import what: both creating and changing, since a row may do either.
IMPORT_PERMS: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.ACCOUNTS: ("crm.add_account", "crm.change_account"),
    ImportKind.CONTACTS: ("crm.add_contact", "crm.change_contact"),
}

_LIST_SPLIT = re.compile(r"[;,\n、，；|]+")
_PHONE_SPLIT = re.compile(r"[;\n、；|]+")


# --- turning cells into service arguments ------------------------------------------------


def _choice_names(choices: type[Any]) -> dict[str, str]:
    """Value or label (English or Chinese, any case) → value."""
    names: dict[str, str] = {}
    for value, label in choices.choices:
        names[value.lower()] = value
        names[str(label).lower()] = value
        with translation.override("en"):
            names[str(label).lower()] = value
        with translation.override("zh-hans"):
            names[str(label).lower()] = value
    return names


def _choice(cell: str, choices: type[Any], label: Promise) -> str:
    value = _choice_names(choices).get(cell.strip().lower())
    if value is None:
        allowed = ", ".join(str(c[0]) for c in choices.choices)
        raise ValidationError(
            _("%(column)s: “%(value)s” is not one of: %(allowed)s.")
            % {"column": label, "value": cell, "allowed": allowed}
        )
    return value


def _split(cell: str, pattern: re.Pattern[str] = _LIST_SPLIT) -> list[str]:
    return [part.strip() for part in pattern.split(cell) if part.strip()]


def _social(cell: str, label: Promise) -> dict[str, str]:
    """ "twitter: @li; wechat: li_wei" → {"twitter": "@li", "wechat": "li_wei"}."""
    try:
        return social_from_text(_split(cell, _PHONE_SPLIT))
    except ValueError:
        raise ValidationError(
            _("%(column)s: write “network: handle”, e.g. “wechat: li_wei”.") % {"column": label}
        ) from None


class Lookups:
    """Finds existing rows by key, in bulk for a whole file and then from memory, and
    learns the rows the import itself creates (so a file's second row about the same
    contact updates the first instead of failing as a duplicate)."""

    def __init__(self, kind: ImportKind) -> None:
        self.kind = kind
        self.by_external_id: dict[str, int | None] = {}
        self.by_key: dict[str, int | None] = {}  # lower-case name (accounts) / email
        self.external_id_of: dict[int, str] = {}
        self.accounts_by_external_id: dict[str, int] = {}
        self.accounts_by_name: dict[str, int] = {}
        self.users: dict[str, User | None] = {}

    def preload(self, rows: list[dict[str, str]]) -> None:
        ext = {r["external_id"] for r in rows if r.get("external_id")}
        if self.kind is ImportKind.ACCOUNTS:
            names = {r["name"].lower() for r in rows if r.get("name")}
            names |= {r["parent"].lower() for r in rows if r.get("parent")}
            ext |= {r["parent"] for r in rows if r.get("parent")}
            self._load_accounts(ext, names, into_main=True)
        else:
            emails = {r["email"].lower() for r in rows if r.get("email")}
            for chunk in _chunks(ext):
                for pk, eid in Contact.objects.filter(external_id__in=chunk).values_list(
                    "pk", "external_id"
                ):
                    self.by_external_id[eid] = pk
                    self.external_id_of[pk] = eid
            for chunk in _chunks(emails):
                rows_ = (
                    Contact.objects.alias(e=Lower("email"))
                    .filter(e__in=chunk)
                    .values_list("pk", "email", "external_id")
                )
                for pk, email, eid in rows_:
                    self.by_key[email.lower()] = pk
                    self.external_id_of[pk] = eid
            account_ext = {r["account_external_id"] for r in rows if r.get("account_external_id")}
            account_names = {r["account"].lower() for r in rows if r.get("account")}
            self._load_accounts(account_ext | {n for n in account_names}, account_names)

    def _load_accounts(self, ext: set[str], names: set[str], *, into_main: bool = False) -> None:
        for chunk in _chunks(ext):
            for pk, eid in Account.objects.filter(external_id__in=chunk).values_list(
                "pk", "external_id"
            ):
                self.accounts_by_external_id[eid] = pk
                if into_main:
                    self.by_external_id[eid] = pk
                    self.external_id_of[pk] = eid
        for chunk in _chunks(names):
            found = (
                Account.objects.alias(n=Lower("name"))
                .filter(n__in=chunk)
                .order_by("pk")
                .values_list("pk", "name", "external_id")
            )
            for pk, name, eid in found:
                self.accounts_by_name.setdefault(name.lower(), pk)
                if into_main:
                    self.by_key.setdefault(name.lower(), pk)
                    self.external_id_of[pk] = eid

    def match(self, external_id: str, key: str) -> tuple[bool, int | None]:
        """(found, pk) by external id, then by key; pk is None for a row this import will
        create earlier in the file. A key match that carries another external id is not
        the same record."""
        if external_id and external_id in self.by_external_id:
            return True, self.by_external_id[external_id]
        if key and key.lower() in self.by_key:
            pk = self.by_key[key.lower()]
            theirs = self.external_id_of.get(pk, "") if pk is not None else ""
            if not external_id or not theirs or theirs == external_id:
                return True, pk
        return False, None

    def learn(self, pk: int | None, external_id: str, key: str) -> None:
        """Remember a row of the file: planned (pk None) or just created (its pk)."""
        for mapping, name in (
            (self.by_external_id, external_id),
            (self.by_key, key.lower()),
        ):
            if name and (mapping.get(name) is None or name not in mapping):
                mapping[name] = pk
        if self.kind is ImportKind.ACCOUNTS:
            # Later rows may name this account as their parent.
            for accounts, name in (
                (self.accounts_by_external_id, external_id),
                (self.accounts_by_name, key.lower()),
            ):
                if name and accounts.get(name, PLANNED) == PLANNED:
                    accounts[name] = pk if pk is not None else PLANNED
        if pk is not None:
            self.external_id_of[pk] = external_id

    def account_id(self, *, external_id: str = "", name: str = "") -> int | None:
        if external_id and external_id in self.accounts_by_external_id:
            return self.accounts_by_external_id[external_id]
        if name:
            if name in self.accounts_by_external_id:
                return self.accounts_by_external_id[name]
            return self.accounts_by_name.get(name.lower())
        return None

    def user(self, text: str) -> User | None:
        key = text.strip().lower()
        if key not in self.users:
            field = "email__iexact" if "@" in key else "username__iexact"
            self.users[key] = (
                User.objects.filter(is_active=True, **{field: key}).order_by("pk").first()
            )
        return self.users[key]


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = list(values)
    for start in range(0, len(items), LOOKUP_CHUNK):
        yield items[start : start + LOOKUP_CHUNK]


@dataclass
class RowPlan:
    number: int
    cells: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    action: str = "new"  # new | update | invalid
    target_id: int | None = None


def _account_values(cells: dict[str, str], lookups: Lookups) -> dict[str, Any]:
    labels = column_labels(ImportKind.ACCOUNTS)
    values: dict[str, Any] = {}
    errors: list[str] = []
    for name, cell in cells.items():
        if not cell:
            continue
        try:
            if name in ("external_id", "name", "segment", "tier", "notes"):
                values[name] = cell
            elif name == "domains":
                values[name] = _split(cell)
            elif name == "lifecycle":
                values[name] = _choice(cell, Lifecycle, labels[name])
            elif name == "owner":
                owner = lookups.user(cell)
                if owner is None:
                    raise ValidationError(
                        _("%(column)s: no active staff member “%(value)s”.")
                        % {"column": labels[name], "value": cell}
                    )
                values[name] = owner
            elif name == "parent":
                parent_id = lookups.account_id(name=cell)
                if parent_id is None:
                    raise ValidationError(
                        _("%(column)s: no account “%(value)s”.")
                        % {"column": labels[name], "value": cell}
                    )
                values[name] = parent_id  # an id until applied: see _resolve
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return values


def _contact_values(cells: dict[str, str], lookups: Lookups) -> dict[str, Any]:
    labels = column_labels(ImportKind.CONTACTS)
    values: dict[str, Any] = {}
    errors: list[str] = []
    for name, cell in cells.items():
        if not cell:
            continue
        try:
            if name in ("external_id", "name", "title"):
                values[name] = cell
            elif name == "email":
                values[name] = clean_email(cell)
            elif name == "other_emails":
                values[name] = [clean_email(e, name) for e in _split(cell)]
            elif name == "phones":
                values[name] = _split(cell, _PHONE_SPLIT)
            elif name == "social":
                values[name] = _social(cell, labels[name])
            elif name == "roles":
                values[name] = [_choice(r, Role, labels[name]) for r in _split(cell)]
            elif name == "evangelist_stage":
                values[name] = _choice(cell, EvangelistStage, labels[name])
            elif name in ("account", "account_external_id"):
                account_id = (
                    lookups.account_id(external_id=cell)
                    if name == "account_external_id"
                    else lookups.account_id(name=cell)
                )
                if account_id is None:
                    raise ValidationError(
                        _("%(column)s: no account “%(value)s”.")
                        % {"column": labels[name], "value": cell}
                    )
                # The external id names one account; a name may not: it wins.
                if name == "account_external_id" or "account" not in values:
                    values["account"] = account_id  # an id until applied: see _resolve
        except ValidationError as exc:
            for message in exc.messages:
                errors.append(
                    message
                    if message.startswith(str(labels[name]))
                    else f"{labels[name]}: {message}"
                )
    if errors:
        raise ValidationError(errors)
    return values


def plan_row(kind: ImportKind, number: int, cells: dict[str, str], lookups: Lookups) -> RowPlan:
    """What one row will do, or why it cannot; learns a new row's keys (see Lookups)."""
    plan = RowPlan(number=number, cells=cells)
    try:
        plan.values = (
            _account_values(cells, lookups)
            if kind is ImportKind.ACCOUNTS
            else _contact_values(cells, lookups)
        )
    except ValidationError as exc:
        plan.errors = exc.messages
    external_id = cells.get("external_id", "")
    key = cells.get("name", "") if kind is ImportKind.ACCOUNTS else cells.get("email", "")
    found, pk = lookups.match(external_id, key)
    if found:
        plan.action, plan.target_id = "update", pk
    elif kind is ImportKind.ACCOUNTS and not cells.get("name"):
        plan.errors.append(_("Name: a new account needs a name."))
    elif kind is ImportKind.CONTACTS and not (cells.get("email") or external_id):
        plan.errors.append(_("Email: a new contact needs an email address or an external id."))
    if plan.errors:
        plan.action, plan.target_id = "invalid", None
    elif not found:
        lookups.learn(None, external_id, key)
    return plan


def _cells(columns: ColumnMap, row: list[str]) -> dict[str, str]:
    return {f: unescape_cell(row[i]) if i < len(row) else "" for i, f in columns.used}


# --- the import job ---------------------------------------------------------------------


def _state_key(token: str) -> str:
    return f"crm-import:{token}"


def _path(token: str) -> str:
    return f"{IMPORT_DIR}/{token}.csv"


def _state_update(token: str, **changes: Any) -> dict[str, Any]:
    state = dict(cache.get(_state_key(token)) or {})
    state.update(changes)
    cache.set(_state_key(token), state, STATE_TTL)
    return state


def import_perm_check(actor: User, kind: ImportKind) -> None:
    for perm in IMPORT_PERMS[kind]:
        require_perm(actor, perm)


def import_start(*, actor: User, kind: ImportKind, filename: str, data: bytes) -> str:
    """Store an uploaded file for preview; returns the job's token. Raises ValidationError
    for a file that cannot be read or names none of the known columns."""
    import_perm_check(actor, kind)
    if len(data) > MAX_BYTES:
        raise ValidationError(
            _("The file is larger than %(mb)s MB; split it.") % {"mb": MAX_BYTES // 2**20}
        )
    header, rows = read_rows(data)
    columns = map_columns(kind, header)
    if not columns.used:
        expected = ", ".join(c.field for c in COLUMNS[kind])
        raise ValidationError(
            _("No known column in the first row. Expected some of: %(columns)s.")
            % {"columns": expected}
        )
    token = uuid.uuid4().hex
    default_storage.save(_path(token), ContentFile(data))
    _state_update(
        token,
        kind=str(kind),
        actor_id=actor.pk,
        filename=filename[:200],
        status=str(ImportStatus.UPLOADED),
        total=len(rows),
        done=0,
        created=0,
        updated=0,
        failed=0,
        failures=[],
    )
    return token


def import_state(*, actor: User, token: str) -> dict[str, Any] | None:
    """The job as its starter sees it; None if unknown, expired, or someone else's."""
    if not re.fullmatch(r"[0-9a-f]{32}", token):
        return None
    state = cache.get(_state_key(token))
    if not state or state.get("actor_id") != actor.pk:
        return None
    return dict(state, token=token)


@dataclass
class Preview:
    kind: ImportKind
    columns: ColumnMap
    rows: list[RowPlan]  # the first PREVIEW_ROWS
    invalid: list[RowPlan]  # every invalid row (capped for display by the caller)
    new: int
    updated: int
    total: int

    @property
    def invalid_count(self) -> int:
        return len(self.invalid)


def _plan_file(kind: ImportKind, data: bytes) -> tuple[ColumnMap, list[tuple[int, dict[str, str]]]]:
    header, rows = read_rows(data)
    columns = map_columns(kind, header)
    return columns, [(number, _cells(columns, cells)) for number, cells in rows]


def import_preview(*, actor: User, token: str) -> Preview:
    """Parse and validate every row without writing anything."""
    state = import_state(actor=actor, token=token)
    if state is None:
        raise ValidationError(_("This import is no longer available; upload the file again."))
    kind = ImportKind(state["kind"])
    with default_storage.open(_path(token), "rb") as handle:
        columns, rows = _plan_file(kind, handle.read())
    lookups = Lookups(kind)
    lookups.preload([cells for _n, cells in rows])
    plans = [plan_row(kind, number, cells, lookups) for number, cells in rows]
    return Preview(
        kind=kind,
        columns=columns,
        rows=plans[:PREVIEW_ROWS],
        invalid=[p for p in plans if p.action == "invalid"],
        new=sum(1 for p in plans if p.action == "new"),
        updated=sum(1 for p in plans if p.action == "update"),
        total=len(plans),
    )


def import_confirm(*, actor: User, token: str) -> dict[str, Any]:
    """Queue the import (once: a second confirm of the same file does nothing)."""
    state = import_state(actor=actor, token=token)
    if state is None:
        raise ValidationError(_("This import is no longer available; upload the file again."))
    import_perm_check(actor, ImportKind(state["kind"]))
    # add() is atomic in every cache backend: only the first confirm gets through.
    if not cache.add(f"{_state_key(token)}:confirmed", True, STATE_TTL):
        return state
    state = _state_update(token, status=str(ImportStatus.QUEUED))
    from tend.crm.tasks import crm_import_apply

    after_commit(lambda: crm_import_apply.enqueue(token))
    return dict(state, token=token)


def _resolve(kind: ImportKind, values: dict[str, Any]) -> dict[str, Any]:
    # Plans carry account ids so a preview needs no model instances; services want them.
    resolved = dict(values)
    labels = column_labels(kind)
    for name in ("parent", "account"):
        account_id = resolved.get(name)
        if not isinstance(account_id, int):
            continue
        account = Account.objects.filter(pk=account_id).first()
        if account is None:
            # Planned by an earlier row of the file that failed (or deleted meanwhile).
            raise ValidationError(
                _("%(column)s: that account was not created; see its row.")
                % {"column": labels[name]}
            )
        resolved[name] = account
    return resolved


def _apply_row(kind: ImportKind, actor: User, plan: RowPlan, lookups: Lookups) -> str:
    values = _resolve(kind, plan.values)
    if kind is ImportKind.ACCOUNTS:
        if plan.target_id is not None:
            account = Account.objects.get(pk=plan.target_id)
            services.account_update(actor=actor, account=account, **values)
            return "updated"
        account = services.account_create(actor=actor, **values)
        lookups.learn(account.pk, account.external_id, account.name)
        return "created"
    if plan.target_id is not None:
        contact = Contact.objects.get(pk=plan.target_id)
        services.contact_update(actor=actor, contact=contact, **values)
        return "updated"
    email = values.pop("email", "")
    contact = services.contact_create(actor=actor, email=email, **values)
    lookups.learn(contact.pk, contact.external_id, contact.email)
    return "created"


def import_apply(*, token: str) -> dict[str, int]:
    """Apply every row (run by the crm_import_apply task). Each row is its own
    transaction, so a failure is reported and the import goes on."""
    state = cache.get(_state_key(token)) or {}
    if state.get("status") not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return {}
    kind = ImportKind(state["kind"])
    actor = User.objects.filter(pk=state["actor_id"], is_active=True).first()
    counts = {"done": 0, "created": 0, "updated": 0, "failed": 0}
    failures: list[dict[str, Any]] = []
    try:
        if actor is None:
            raise PermissionDenied(_("The person who started the import can no longer sign in."))
        with default_storage.open(_path(token), "rb") as handle:
            _columns, rows = _plan_file(kind, handle.read())
        _state_update(token, status=str(ImportStatus.RUNNING), total=len(rows), done=0)
        lookups = Lookups(kind)
        lookups.preload([cells for _n, cells in rows])
        for index, (number, cells) in enumerate(rows, start=1):
            # Planned row by row, so rows created earlier in the file are found.
            plan = plan_row(kind, number, cells, lookups)
            errors = plan.errors
            if not errors:
                try:
                    counts[_apply_row(kind, actor, plan, lookups)] += 1
                except ValidationError as exc:
                    errors = _messages(kind, exc)
                except (PermissionDenied, Account.DoesNotExist, Contact.DoesNotExist) as exc:
                    errors = [str(exc) or _("You do not have permission to do that.")]
            if errors:
                counts["failed"] += 1
                if len(failures) < MAX_FAILURES_KEPT:
                    failures.append({"row": number, "errors": errors})
            counts["done"] = index
            if index % PROGRESS_EVERY == 0:
                _state_update(token, **counts, failures=failures)
    except (ValidationError, PermissionDenied, OSError) as exc:
        message = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _state_update(
            token, **counts, failures=failures, status=str(ImportStatus.FAILED), error=message
        )
        return counts
    _state_update(token, **counts, failures=failures, status=str(ImportStatus.DONE))
    default_storage.delete(_path(token))
    return counts


def imports_prune() -> int:
    """Delete stored import files older than their job's state (never confirmed, or
    whose run crashed); returns how many went."""
    cutoff = timezone.now() - timedelta(seconds=STATE_TTL)
    try:
        _dirs, files = default_storage.listdir(IMPORT_DIR)
    except FileNotFoundError:
        return 0
    removed = 0
    for name in files:
        path = f"{IMPORT_DIR}/{name}"
        if default_storage.get_modified_time(path) < cutoff:
            default_storage.delete(path)
            removed += 1
    return removed


def _messages(kind: ImportKind, exc: ValidationError) -> list[str]:
    """A service's field errors, named by their column."""
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    labels = column_labels(kind)
    out: list[str] = []
    for name, messages in exc.message_dict.items():
        label = labels.get(name, name)
        out.extend(f"{label}: {m}" if name != "__all__" else m for m in messages)
    return out
