"""Health writes: model configuration (validated, versioned) and the daily recompute.

A model's configuration never changes in place: ``health_version_create`` adds a new
immutable version, and each snapshot points at the version that produced it, so an old
score can always be explained by the rules of its day.

``health_recompute`` is set-based: a fixed handful of queries gathers every input for
all accounts in scope (health/inputs.py), scoring runs in Python on plain numbers
(health/scoring.py), and snapshots and grades are written with multi-row INSERTs. Its
cost grows with the number of rows, never with a query per account.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Lifecycle
from tend.health import inputs, scoring
from tend.health.events import band_changed
from tend.health.grades import grade_for
from tend.health.models import (
    Band,
    ContactGrade,
    HealthModel,
    HealthModelVersion,
    HealthSnapshot,
)
from tend.usage.models import Metric

_KEY_RE = re.compile(r"^[A-Za-z0-9_:.-]{1,50}$")
# Accounts per pass when ids are given: keeps IN lists inside every database's limits.
_CHUNK = 500

DEFAULT_CONFIG: dict[str, Any] = {
    "measures": [
        {
            "key": "urgent",
            "kind": scoring.URGENT_TICKETS,
            "weight": 30,
            "scale": "steps",
            "thresholds": [[0, 100], [1, 40], [3, 0]],
        },
        {
            "key": "tickets_30d",
            "kind": scoring.TICKET_VOLUME_30D,
            "weight": 30,
            "scale": "linear",
            "thresholds": [[0, 100], [5, 70], [20, 0]],
        },
        {
            "key": "nps",
            "kind": scoring.NPS,
            "weight": 20,
            "scale": "linear",
            "thresholds": [[-100, 0], [0, 50], [50, 100]],
        },
        {
            "key": "onboarding",
            "kind": scoring.ONBOARDING,
            "weight": 20,
            "scale": "linear",
            "thresholds": [[0, 0], [100, 100]],
        },
    ],
    "bands": {"red_below": 40, "green_from": 70},
    "overrides": [{"when": scoring.CHAMPION_GONE, "band": Band.RED}],
}


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


# --- configuration ------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _thresholds(raw: Any, where: str, errors: list[str]) -> list[list[float]]:
    pairs: list[list[float]] = []
    if isinstance(raw, list) and raw:
        for pair in raw:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                value, points = _number(pair[0]), _number(pair[1])
                if value is not None and points is not None and 0 <= points <= 100:
                    pairs.append([value, points])
                    continue
            pairs = []
            break
    if not pairs:
        errors.append(
            _("%(where)s: thresholds must be [value, points] pairs with points from 0 to 100.")
            % {"where": where}
        )
    elif any(b[0] <= a[0] for a, b in itertools.pairwise(pairs)):
        errors.append(
            _("%(where)s: threshold values must increase from one pair to the next.")
            % {"where": where}
        )
    return pairs


def _measure_errors(i: int, raw: Any, metric_ids: set[int]) -> tuple[dict[str, Any], list[str]]:
    where = _("Measure %(n)s") % {"n": i + 1}
    if not isinstance(raw, dict):
        return {}, [_("%(where)s: must be an object.") % {"where": where}]
    errors: list[str] = []
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY_RE.match(key):
        errors.append(
            _("%(where)s: the key must be 1–50 letters, digits or _ : . -") % {"where": where}
        )
    kind = raw.get("kind")
    if kind not in scoring.MEASURE_KINDS:
        errors.append(
            _("%(where)s: the kind must be one of %(kinds)s.")
            % {"where": where, "kinds": ", ".join(scoring.MEASURE_KINDS)}
        )
    measure: dict[str, Any] = {"key": key, "kind": kind}
    if kind == scoring.METRIC:
        metric = raw.get("metric")
        if isinstance(metric, bool) or not isinstance(metric, int) or metric not in metric_ids:
            errors.append(_("%(where)s: choose an existing metric.") % {"where": where})
        measure["metric"] = metric
    weight = _number(raw.get("weight"))
    if weight is None or weight <= 0:
        errors.append(_("%(where)s: the weight must be a number above 0.") % {"where": where})
    measure["weight"] = weight
    scale = raw.get("scale", "steps")
    if scale not in scoring.SCALES:
        errors.append(_("%(where)s: the scale must be steps or linear.") % {"where": where})
    measure["scale"] = scale
    measure["thresholds"] = _thresholds(raw.get("thresholds"), where, errors)
    if raw.get("contact_thresholds") is not None:
        # A count over the whole account and one person's count live on different
        # scales: a metric measure may grade people on thresholds of their own.
        measure["contact_thresholds"] = _thresholds(raw["contact_thresholds"], where, errors)
    label = raw.get("label", "")
    if not isinstance(label, str) or len(label) > 100:
        errors.append(
            _("%(where)s: the label must be text of at most 100 characters.") % {"where": where}
        )
    elif label:
        measure["label"] = label
    return measure, errors


def config_validate(config: Any) -> dict[str, Any]:
    """Check a model configuration and return it normalised (numbers as floats, the
    default scale filled in). Raises ValidationError listing every problem."""
    if not isinstance(config, dict):
        raise ValidationError(_("The configuration must be a JSON object."))
    errors: list[str] = []
    unknown = set(config) - {"measures", "bands", "overrides"}
    if unknown:
        errors.append(_("Unknown settings: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    raw_measures = config.get("measures")
    measures: list[dict[str, Any]] = []
    if not isinstance(raw_measures, list) or not raw_measures:
        errors.append(_("Add at least one measure."))
    else:
        metric_ids = set(Metric.objects.values_list("pk", flat=True))
        for i, raw in enumerate(raw_measures):
            measure, measure_errors = _measure_errors(i, raw, metric_ids)
            errors += measure_errors
            measures.append(measure)
        keys = [m.get("key") for m in measures]
        if len(set(keys)) != len(keys):
            errors.append(_("Each measure needs its own key."))
        if not errors:
            total = sum(m["weight"] for m in measures)
            if abs(total - 100.0) > 1e-6:
                errors.append(
                    _("The weights must add up to 100 (they add up to %(total)s).")
                    % {"total": f"{total:g}"}
                )
    bands = config.get("bands")
    red = _number(bands.get("red_below")) if isinstance(bands, dict) else None
    green = _number(bands.get("green_from")) if isinstance(bands, dict) else None
    if red is None or green is None or not 0 <= red <= green <= 100:
        errors.append(
            _("Bands need red_below and green_from with 0 ≤ red_below ≤ green_from ≤ 100.")
        )
    raw_overrides = config.get("overrides", [])
    overrides: list[dict[str, str]] = []
    if not isinstance(raw_overrides, list):
        errors.append(_("Overrides must be a list."))
    else:
        for raw in raw_overrides:
            when = raw.get("when") if isinstance(raw, dict) else None
            band = raw.get("band") if isinstance(raw, dict) else None
            if when not in scoring.OVERRIDE_CONDITIONS or band not in Band.values:
                errors.append(
                    _("Each override needs a condition (%(conditions)s) and a band.")
                    % {"conditions": ", ".join(scoring.OVERRIDE_CONDITIONS)}
                )
                continue
            overrides.append({"when": when, "band": band})
    if errors:
        raise ValidationError(errors)
    return {
        "measures": measures,
        "bands": {"red_below": red, "green_from": green},
        "overrides": overrides,
    }


def _scope_clean(model: HealthModel) -> None:
    model.name = (model.name or "").strip()
    model.segment = (model.segment or "").strip()
    errors: dict[str, list[str]] = {}
    if not model.name:
        errors["name"] = [_("Give the model a name.")]
    if model.lifecycle and model.lifecycle not in Lifecycle.values:
        errors["lifecycle"] = [_("Unknown lifecycle stage.")]
    if model.is_active:
        clash = HealthModel.objects.filter(
            is_active=True, segment=model.segment, lifecycle=model.lifecycle
        ).exclude(pk=model.pk)
        if clash.exists():
            errors["segment"] = [
                _("Another active model already covers this segment and lifecycle stage.")
            ]
    if errors:
        raise ValidationError(errors)


def _recompute_soon() -> None:
    # New rules should show today, not after the nightly run. After commit, so the
    # worker sees the new version.
    def enqueue() -> None:
        from tend.health.tasks import health_recompute_today

        health_recompute_today.enqueue()

    transaction.on_commit(enqueue)


@transaction.atomic
def health_model_create(
    *,
    actor: User | None,
    name: str,
    config: Mapping[str, Any],
    segment: str = "",
    lifecycle: str = "",
    is_active: bool = True,
) -> HealthModel:
    """A model for a segment and/or lifecycle stage (both blank: the fallback for every
    account), with ``config`` as its version 1."""
    if actor is not None:
        require_perm(actor, "health.add_healthmodel")
    clean = config_validate(config)
    model = HealthModel(name=name, segment=segment, lifecycle=lifecycle, is_active=is_active)
    _scope_clean(model)
    model.save()
    HealthModelVersion.objects.create(model=model, number=1, config=clean, created_by=actor)
    _recompute_soon()
    return model


@transaction.atomic
def health_model_update(*, actor: User | None, model: HealthModel, **changes: Any) -> HealthModel:
    """Rename, rescope or (de)activate a model. Its rules change only by a new version."""
    if actor is not None:
        require_perm(actor, "health.change_healthmodel")
    allowed = {"name", "segment", "lifecycle", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
    for field, value in changes.items():
        setattr(model, field, value)
    _scope_clean(model)
    model.save()
    _recompute_soon()
    return model


@transaction.atomic
def health_version_create(
    *, actor: User | None, model: HealthModel, config: Mapping[str, Any]
) -> HealthModelVersion:
    """A new immutable version of ``model``: it scores accounts from the next recompute;
    snapshots made with earlier versions keep pointing at them."""
    if actor is not None:
        require_perm(actor, "health.add_healthmodelversion")
    clean = config_validate(config)
    # Lock the model row so two editors saving at once get numbers 2 and 3, not a clash.
    HealthModel.objects.select_for_update().filter(pk=model.pk).first()
    latest = model.versions.aggregate(n=Max("number"))["n"] or 0
    version = HealthModelVersion.objects.create(
        model=model, number=latest + 1, config=clean, created_by=actor
    )
    _recompute_soon()
    return version


# --- which model scores an account ---------------------------------------------------


@dataclass(frozen=True)
class _Active:
    version_id: int
    config: dict[str, Any]
    metric_measures: tuple[tuple[str, int, tuple[tuple[float, float], ...], str, float], ...]


def _active_versions() -> dict[tuple[str, str], _Active]:
    """(segment, lifecycle) scope → the latest version of the active model with it."""
    out: dict[tuple[str, str], _Active] = {}
    rows = (
        HealthModelVersion.objects.filter(model__is_active=True)
        .order_by("model_id", "-number")
        .values_list("pk", "config", "model__segment", "model__lifecycle")
    )
    for version_id, config, segment, lifecycle in rows:
        if (segment, lifecycle) in out:
            continue  # an older version of a model already seen
        metric_measures = tuple(
            (
                m["key"],
                int(m["metric"]),
                tuple(
                    (float(v), float(p)) for v, p in m.get("contact_thresholds") or m["thresholds"]
                ),
                m.get("scale", "steps"),
                float(m["weight"]),
            )
            for m in config["measures"]
            if m["kind"] == scoring.METRIC
        )
        out[(segment, lifecycle)] = _Active(version_id, config, metric_measures)
    return out


def _model_for(
    segment: str, lifecycle: str, scopes: Mapping[tuple[str, str], _Active]
) -> _Active | None:
    # Most specific first: segment + stage, then segment alone (a segment is the
    # customer's kind, the stage a phase it passes through), then stage, then fallback.
    for key in ((segment, lifecycle), (segment, ""), ("", lifecycle), ("", "")):
        if key in scopes:
            return scopes[key]
    return None


# --- recompute ----------------------------------------------------------------------


def _insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Bulk INSERT: one prepared statement run per row inside SQLite (executemany loops in
    C there), multi-row VALUES lists elsewhere (one round trip per batch)."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(columns))
            # Table and column names come from model metadata, never from input.
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)
            return
        limit = connection.features.max_query_params or 10_000
        per_statement = max(1, min(1000, limit // len(columns)))
        json_cast = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
        one = "(" + ", ".join(json_cast if c == "explanation" else "%s" for c in columns) + ")"
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            values = ", ".join([one] * len(batch))
            sql = f"INSERT INTO {table} ({names}) VALUES {values}"  # noqa: S608
            cursor.execute(sql, [value for row in batch for value in row])


def _account_facts(
    day: date,
    last_seen: Any,
    champion_seen: list[Any],
    had_champion: bool,
    urgent_open: int,
) -> dict[str, bool]:
    cutoff = inputs.inactive_before(day)
    champion_active = any(seen is not None and seen >= cutoff for seen in champion_seen)
    return {
        # There was a champion (now or in an earlier snapshot) and none has been active
        # in the last 30 days, or none is left. Accounts that never named a champion are
        # not "champion gone": there was no one to lose.
        scoring.CHAMPION_GONE: (had_champion or bool(champion_seen)) and not champion_active,
        scoring.NO_ACTIVITY_30D: last_seen is None or last_seen < cutoff,
        scoring.URGENT_TICKET_OPEN: urgent_open > 0,
    }


def _grade_contact(
    measures: Sequence[tuple[str, int, tuple[tuple[float, float], ...], str, float]],
    values: Sequence[float | None],
) -> tuple[float | None, dict[str, list[float]]]:
    """A contact's score over the metric measures (missing weight redistributed), and
    per measure key [value, points]. ``values`` are in the order of ``measures``."""
    total = weight_sum = 0.0
    shown: dict[str, list[float]] = {}
    for (key, _metric_id, thresholds, scale, weight), value in zip(measures, values, strict=True):
        if value is None:
            continue
        points = scoring.points_for(value, thresholds, scale)
        total += points * weight
        weight_sum += weight
        shown[key] = [round(value, 3), round(points, 1)]
    if weight_sum <= 0:
        return None, shown
    return round(total / weight_sum, 1), shown


def health_recompute(*, day: date | None = None, account_ids: Iterable[int] | None = None) -> int:
    """Score every account (or those in ``account_ids``) as of ``day`` (default today,
    UTC) with the most specific active model: upsert its snapshot for the day and one
    grade per contact. Sends ``band_changed`` after commit where the band differs from
    the previous snapshot. Returns how many snapshots were written."""
    day = day or today_utc()
    scopes = _active_versions()
    if not scopes:
        return 0
    if account_ids is None:
        return _recompute_chunk(day, None, scopes)
    ids = sorted(set(account_ids))
    return sum(
        _recompute_chunk(day, ids[i : i + _CHUNK], scopes) for i in range(0, len(ids), _CHUNK)
    )


def _recompute_chunk(
    day: date, account_ids: list[int] | None, scopes: Mapping[tuple[str, str], _Active]
) -> int:
    accounts = inputs.accounts(account_ids)
    assigned = [
        (account_id, last_seen, active)
        for account_id, segment, lifecycle, last_seen in accounts
        if (active := _model_for(segment, lifecycle, scopes)) is not None
    ]
    if not assigned:
        return 0
    metric_ids = {m[1] for a in scopes.values() for m in a.metric_measures}
    values = inputs.metric_values(day, metric_ids, account_ids)
    contact_values = inputs.contact_metric_values(day, metric_ids, account_ids)
    defaults = inputs.metric_defaults(metric_ids)
    tickets = inputs.ticket_counts(day, account_ids)
    champions = inputs.champions(account_ids)
    contacts = inputs.contacts_by_account(account_ids)
    previous = inputs.previous_snapshots(day, account_ids)
    # Survey answers are read only when some model weighs NPS.
    wants_nps = any(m["kind"] == scoring.NPS for a in scopes.values() for m in a.config["measures"])
    nps = inputs.nps_scores(day, account_ids) if wants_nps else {}

    day_param = connection.ops.adapt_datefield_value(day)
    snapshot_rows: list[tuple[Any, ...]] = []
    grade_rows: list[tuple[Any, ...]] = []
    changes: list[tuple[int, str, str]] = []
    grade_memo: dict[tuple[int, tuple[float | None, ...]], tuple[float | None, str, str]] = {}
    for account_id, last_seen, active in assigned:
        config = active.config
        urgent_open, volume = tickets.get(account_id, (0, 0))
        own = values.get(account_id, {})
        measure_values: dict[str, float | None] = {}
        for m in config["measures"]:
            kind = m["kind"]
            if kind == scoring.METRIC:
                measure_values[m["key"]] = own.get(m["metric"])
            elif kind == scoring.URGENT_TICKETS:
                measure_values[m["key"]] = float(urgent_open)
            elif kind == scoring.TICKET_VOLUME_30D:
                measure_values[m["key"]] = float(volume)
            elif kind == scoring.NPS:
                # None when nobody answered: its weight is redistributed.
                measure_values[m["key"]] = nps.get(account_id)
            else:  # onboarding: no source yet, so its weight is redistributed
                measure_values[m["key"]] = None
        scored = scoring.score_measures(config["measures"], measure_values)
        band = scoring.band_for(scored.score, config["bands"])
        old_band, old_explanation = previous.get(account_id, (None, {}))
        champion_seen = champions.get(account_id, [])
        had_champion = bool(champion_seen) or bool(old_explanation.get("had_champion"))
        facts = _account_facts(day, last_seen, champion_seen, had_champion, urgent_open)
        override = scoring.first_override(config.get("overrides", []), facts)
        if override is not None:
            band = override["band"]
        explanation = {
            "measures": scored.rows,
            "score_band": scoring.band_for(scored.score, config["bands"]),
            "override": dict(override) if override else None,
            "facts": facts,
            "had_champion": had_champion,
        }
        snapshot_rows.append(
            (account_id, day_param, active.version_id, scored.score, band, json.dumps(explanation))
        )
        if old_band is not None and old_band != band:
            changes.append((account_id, old_band, band))
        if active.metric_measures:
            metric_order = [m[1] for m in active.metric_measures]
            fallback = tuple(defaults.get(mid) for mid in metric_order)
            for contact_id in contacts.get(account_id, ()):
                personal = contact_values.get(contact_id)
                key = (
                    (active.version_id, fallback)
                    if personal is None
                    else (
                        active.version_id,
                        tuple(personal.get(mid, defaults.get(mid)) for mid in metric_order),
                    )
                )
                # Many people share the same few values (0 events, 30 days since...):
                # score each distinct combination once.
                graded = grade_memo.get(key)
                if graded is None:
                    score, shown = _grade_contact(active.metric_measures, key[1])
                    explained = json.dumps({"version": active.version_id, "measures": shown})
                    graded = (score, grade_for(score) if score is not None else "", explained)
                    grade_memo[key] = graded
                if graded[0] is None:
                    continue
                grade_rows.append(
                    (contact_id, account_id, day_param, graded[0], graded[1], graded[2])
                )

    scope = [row[0] for row in assigned]
    with transaction.atomic():
        # Replace the day's rows: delete + multi-row insert is one code path on both
        # databases and beats per-row upserts.
        if account_ids is None:
            HealthSnapshot.objects.filter(day=day).delete()
            ContactGrade.objects.filter(day=day).delete()
        else:
            HealthSnapshot.objects.filter(day=day, account_id__in=scope).delete()
            ContactGrade.objects.filter(day=day, account_id__in=scope).delete()
            # Grades are one per contact and day: a contact that moved here from another
            # account since an earlier run today still has a row under the old one.
            graded_ids = [row[0] for row in grade_rows]
            for start in range(0, len(graded_ids), _CHUNK):
                part = graded_ids[start : start + _CHUNK]
                ContactGrade.objects.filter(day=day, contact_id__in=part).delete()
        _insert_rows(
            HealthSnapshot._meta.db_table,
            ["account_id", "day", "version_id", "score", "band", "explanation"],
            snapshot_rows,
        )
        _insert_rows(
            ContactGrade._meta.db_table,
            ["contact_id", "account_id", "day", "score", "grade", "explanation"],
            grade_rows,
        )
        if changes:
            transaction.on_commit(lambda: _send_band_changes(changes))
    return len(snapshot_rows)


def _send_band_changes(changes: list[tuple[int, str, str]]) -> None:
    for account_id, old, new in changes:
        band_changed.send(sender=HealthSnapshot, account_id=account_id, old=old, new=new)
