"""Demo data for surveys: a relationship NPS, a CSAT asked when a ticket is solved and an
in-product CES, with six months of invitations and answers from the demo's contacts.

Called by the demo seed (tend.demo.seed) after customers, customer success and tickets
are seeded and before health is scored (NPS is a health measure):

    from tend.surveys.demo import seed_surveys
    seed_surveys(progress=say)

Who was asked when follows the real rules — relationship NPS every 90 days per contact,
CSAT after their solved tickets, CES inside the product — and nobody is asked twice
within the throttle window. Older history is written in bulk with its real dates; the
answers of the last three weeks go through ``response_record``, so their follow-up
tasks, advocate flags and events happen exactly as they would in the product.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Contact
from tend.desk.models import Ticket
from tend.surveys.models import (
    Channel,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyKind,
    Trigger,
)
from tend.surveys.services import (
    EMAIL_INVITATION_DAYS,
    IN_APP_INVITATION_DAYS,
    response_record,
    survey_save,
    survey_settings,
    survey_settings_save,
)

RANDOM_SEED = 20_251_105
HISTORY_DAYS = 180
# Answers younger than this go through the service (follow-up tasks for the recent ones).
LIVE_DAYS = 21
THROTTLE_DAYS = 30
NPS_EVERY_DAYS = 90
# Demo staff who own the surveys (tend.demo.names.STAFF); the first that exists.
OWNERS = ("manager", "admin")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class _SurveySeed:
    kind: str
    name: str
    question: str
    question_zh: str
    trigger: str
    channel: str
    interval_days: int | None = None
    delay_days: int | None = None
    open_ticket_on_low_score: bool = False
    answer_rate: float = 0.4


SURVEYS: tuple[_SurveySeed, ...] = (
    _SurveySeed(
        kind=SurveyKind.NPS,
        name="Relationship NPS",
        question="How likely are you to recommend us to a friend or colleague?",
        question_zh="您有多大可能向朋友或同事推荐我们？",
        trigger=Trigger.RELATIONSHIP,
        channel=Channel.EMAIL,
        interval_days=NPS_EVERY_DAYS,
        answer_rate=0.45,
    ),
    _SurveySeed(
        kind=SurveyKind.CSAT,
        name="Support satisfaction",
        question="How satisfied are you with the help you received?",
        question_zh="您对本次获得的帮助满意吗？",
        trigger=Trigger.TICKET_SOLVED,
        channel=Channel.EMAIL,
        delay_days=0,
        answer_rate=0.45,
    ),
    _SurveySeed(
        kind=SurveyKind.CES,
        name="Report export effort",
        question="Exporting a report was easy.",
        question_zh="导出报表的操作很简单。",
        trigger=Trigger.IN_APP,
        channel=Channel.IN_APP,
        answer_rate=0.55,
    ),
)

# Score weights per mood, lowest score first. NPS 0–10, CSAT and CES 1–5.
SCORE_WEIGHTS: dict[str, dict[str, list[int]]] = {
    SurveyKind.NPS: {
        "happy": [1, 0, 1, 1, 1, 2, 4, 10, 18, 28, 34],
        "mixed": [2, 2, 3, 4, 5, 9, 12, 20, 20, 13, 10],
        "unhappy": [8, 7, 9, 10, 10, 12, 12, 12, 10, 6, 4],
    },
    SurveyKind.CSAT: {
        "happy": [3, 3, 8, 30, 56],
        "mixed": [8, 9, 18, 35, 30],
        "unhappy": [22, 18, 20, 24, 16],
    },
    SurveyKind.CES: {
        "happy": [2, 6, 14, 42, 36],
        "mixed": [6, 12, 26, 34, 22],
        "unhappy": [16, 22, 26, 24, 12],
    },
}

# Comments by sentiment (low / middle / high), in English and Chinese.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "low": (
            "Exports time out every Monday and nobody has fixed it in weeks.",
            "Too many clicks to do simple things. The old version was faster.",
            "Support took three days to answer an urgent ticket.",
            "We were billed twice and the refund is still not there.",
            "The mobile app keeps logging me out.",
            "SSO setup was painful and the docs were out of date.",
        ),
        "middle": (
            "Does the job, but reporting could be more flexible.",
            "Good product, the Salesforce sync is a bit unreliable.",
            "Fine overall. I wish the dashboards loaded faster.",
            "Support was polite, it just took a while.",
        ),
        "high": (
            "The team loves the dashboards — we use them in every Monday meeting.",
            "Sam solved it in one reply. Great support!",
            "Setting up webhooks took ten minutes. Very clear docs.",
            "Best tool we've adopted this year.",
            "Quick, friendly and knew exactly what the problem was.",
            "Easy to roll out to the whole company.",
        ),
    },
    "zh": {
        "low": (
            "每周一导出报表都会超时，几个星期了还没解决。",
            "简单的操作也要点很多下，旧版本更快。",
            "紧急工单三天才有人回复。",
            "被重复扣费了，退款到现在还没到账。",
            "手机应用总是自动退出登录。",
            "单点登录配置很麻烦，文档也过时了。",
        ),
        "middle": (
            "基本够用，报表可以再灵活一些。",
            "产品不错，就是和 Salesforce 的同步不太稳定。",
            "总体还行，希望仪表盘加载快一点。",
            "客服态度很好，就是处理得有点慢。",
        ),
        "high": (
            "团队很喜欢仪表盘，每周例会都在用。",
            "客服一次就解决了问题，非常专业！",
            "十分钟就配好了回调，文档写得很清楚。",
            "今年用过最好用的工具。",
            "响应很快，很快就找到了问题所在。",
            "在全公司推广起来很顺利。",
        ),
    },
}
COMMENT_SHARE = 0.45


def _sentiment(kind: str, score: int) -> str:
    if kind == SurveyKind.NPS:
        return "low" if score <= 6 else "middle" if score <= 8 else "high"
    return "low" if score <= 2 else "middle" if score == 3 else "high"


def _is_chinese(name: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in name)


def _expires(ask: _Ask) -> datetime:
    days = IN_APP_INVITATION_DAYS if _channel(ask) == Channel.IN_APP else EMAIL_INVITATION_DAYS
    return ask.sent_at + timedelta(days=days)


def _channel(ask: _Ask) -> str:
    return next(s.channel for s in SURVEYS if s.kind == ask.survey.kind)


def _surveys(actor: User) -> dict[str, Survey]:
    out: dict[str, Survey] = {}
    for seed in SURVEYS:
        survey = Survey.objects.filter(kind=seed.kind, name=seed.name).first()
        if survey is None:
            survey = survey_save(
                actor=actor,
                kind=seed.kind,
                name=seed.name,
                question=seed.question,
                question_zh=seed.question_zh,
                scale_max=5,
                trigger=seed.trigger,
                interval_days=seed.interval_days,
                delay_days=seed.delay_days,
                open_ticket_on_low_score=seed.open_ticket_on_low_score,
            )
        out[seed.kind] = survey
    return out


@dataclass
class _Ask:
    survey: Survey
    contact: Contact
    ticket_id: int | None
    sent_at: datetime
    answered_at: datetime | None = None
    score: int | None = None
    comment: str = ""


def _plan(rng: random.Random, now: datetime, surveys: dict[str, Survey]) -> list[_Ask]:
    """Who is asked what and when over the history, and what they answer."""
    start = now - timedelta(days=HISTORY_DAYS)
    contacts = list(
        Contact.objects.filter(account__isnull=False)
        .select_related("account")
        .order_by("pk")
        .only("pk", "name", "account__id", "account__owner_id", "account__segment")
    )
    solved: dict[int, list[tuple[datetime, int]]] = {}
    for requester_id, pk, solved_at in Ticket.objects.filter(
        solved_at__gte=start, solved_at__lt=now
    ).values_list("requester_id", "id", "solved_at"):
        if solved_at is not None:
            solved.setdefault(requester_id, []).append((solved_at, pk))
    moods: dict[int, str] = {}
    asks: list[_Ask] = []
    throttle = timedelta(days=THROTTLE_DAYS)
    for contact in contacts:
        account_id = contact.account_id or 0
        if account_id not in moods:
            moods[account_id] = rng.choices(["happy", "mixed", "unhappy"], weights=[6, 3, 1])[0]
        events: list[tuple[datetime, str, int | None]] = []
        first = start + timedelta(days=rng.randint(0, NPS_EVERY_DAYS - 1), hours=rng.randint(1, 9))
        moment = first
        while moment < now:
            events.append((moment, SurveyKind.NPS, None))
            moment += timedelta(days=NPS_EVERY_DAYS)
        for solved_at, solved_id in solved.get(contact.pk, []):
            events.append(
                (solved_at + timedelta(minutes=rng.randint(5, 90)), SurveyKind.CSAT, solved_id)
            )
        if rng.random() < 0.6:
            at = start + timedelta(days=rng.uniform(30, HISTORY_DAYS - 1))
            events.append((at, SurveyKind.CES, None))
        events.sort(key=lambda e: e[0])
        last: datetime | None = None
        for at, kind, ticket_id in events:
            if at >= now or (last is not None and at - last < throttle):
                continue  # throttled: the rule would skip this ask
            last = at
            ask = _Ask(surveys[kind], contact, ticket_id, at)
            seed = next(s for s in SURVEYS if s.kind == kind)
            if rng.random() < seed.answer_rate:
                answered = at + timedelta(minutes=rng.randint(2, 60 * 48))
                if answered < now:
                    # Later months slightly better: the team acted on what it heard.
                    weights = list(SCORE_WEIGHTS[kind][moods[account_id]])
                    if rng.random() < 0.4 * max(0.0, 1 - (now - at).days / 120):
                        weights = SCORE_WEIGHTS[kind]["happy"]
                    low = 0 if kind == SurveyKind.NPS else 1
                    score = rng.choices(range(low, low + len(weights)), weights=weights)[0]
                    if rng.random() < COMMENT_SHARE:
                        lang = "zh" if _is_chinese(contact.name) else "en"
                        ask.comment = rng.choice(COMMENTS[lang][_sentiment(kind, score)])
                    ask.answered_at, ask.score = answered, score
            asks.append(ask)
    return asks


def _nonce(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _write_history(rng: random.Random, asks: list[_Ask]) -> tuple[int, int]:
    """Invitations and answers in bulk, with their real dates."""
    invitations = [
        Invitation(
            survey=ask.survey,
            contact=ask.contact,
            account_id=ask.contact.account_id,
            ticket_id=ask.ticket_id,
            channel=_channel(ask),
            status=InvitationStatus.ANSWERED if ask.score is not None else InvitationStatus.SENT,
            nonce=_nonce(rng),
            sent_at=ask.sent_at,
            expires_at=_expires(ask),
        )
        for ask in asks
    ]
    Invitation.objects.bulk_create(invitations, batch_size=500)
    for invitation, ask in zip(invitations, asks, strict=True):
        invitation.created_at = ask.sent_at
    Invitation.objects.bulk_update(invitations, ["created_at"], batch_size=500)
    responses = [
        Response(
            invitation=invitation,
            survey=ask.survey,
            kind=ask.survey.kind,
            score=ask.score,
            scale_max=ask.survey.scale_top,
            comment=ask.comment,
            contact=ask.contact,
            account_id=ask.contact.account_id,
            ticket_id=ask.ticket_id,
            csm_id=ask.contact.account.owner_id if ask.contact.account else None,
            segment=ask.contact.account.segment if ask.contact.account else "",
        )
        for invitation, ask in zip(invitations, asks, strict=True)
        if ask.score is not None
    ]
    Response.objects.bulk_create(responses, batch_size=500)
    answered = [ask for ask in asks if ask.score is not None]
    for response, ask in zip(responses, answered, strict=True):
        response.created_at = response.updated_at = ask.answered_at  # type: ignore[assignment]
    Response.objects.bulk_update(responses, ["created_at", "updated_at"], batch_size=500)
    # Promoters are advocate candidates, as response_record flags them.
    promoters: dict[int, datetime] = {}
    for ask in answered:
        if ask.survey.kind == SurveyKind.NPS and (ask.score or 0) >= 9 and ask.answered_at:
            promoters[ask.contact.pk] = max(
                ask.answered_at, promoters.get(ask.contact.pk, ask.answered_at)
            )
    for contact_id, at in promoters.items():
        Contact.objects.filter(pk=contact_id, advocate_candidate_at__isnull=True).update(
            advocate_candidate_at=at
        )
    return len(invitations), len(responses)


def _write_live(rng: random.Random, asks: list[_Ask]) -> tuple[int, int]:
    """Recent asks: invitations with their real dates, answers through
    ``response_record`` (follow-up tasks, advocate flags and events as in the product)."""
    invitations, responses = 0, 0
    for ask in asks:
        invitation = Invitation.objects.create(
            survey=ask.survey,
            contact=ask.contact,
            account_id=ask.contact.account_id,
            ticket_id=ask.ticket_id,
            channel=_channel(ask),
            status=InvitationStatus.SENT,
            nonce=_nonce(rng),
            sent_at=ask.sent_at,
            expires_at=_expires(ask),
        )
        Invitation.objects.filter(pk=invitation.pk).update(created_at=ask.sent_at)
        invitations += 1
        if ask.score is None or ask.answered_at is None:
            continue
        try:
            with transaction.atomic():
                response = response_record(
                    invitation=invitation, score=ask.score, comment=ask.comment, now=ask.answered_at
                )
        except ValidationError:
            continue  # the service refused it (e.g. the link expired): no answer, as in life
        Response.objects.filter(pk=response.pk).update(
            created_at=ask.answered_at, updated_at=ask.answered_at
        )
        responses += 1
    return invitations, responses


def seed_surveys(*, progress: Progress | None = None, now: datetime | None = None) -> int:
    """Create the demo surveys and their history (once); returns the answers written."""
    say: Progress = progress or (lambda message: None)
    now = now or timezone.now()
    if Response.objects.exists():
        say("surveys: answers already present; nothing to do")
        return 0
    users = {u.username: u for u in User.objects.filter(username__in=OWNERS)}
    actor = next((users[n] for n in OWNERS if n in users), None)
    if actor is None:
        say("surveys: no demo staff to own them (seed staff first); skipped")
        return 0
    rng = random.Random(RANDOM_SEED)
    # A secret for the in-product snippet, so Settings shows a snippet that works.
    survey_settings_save(
        actor=actor,
        throttle_days=THROTTLE_DAYS,
        in_app_secret=survey_settings().in_app_secret or secrets.token_hex(32),
    )
    surveys = _surveys(actor)
    asks = _plan(rng, now, surveys)
    cutoff = now - timedelta(days=LIVE_DAYS)
    old = [a for a in asks if a.sent_at < cutoff]
    live = [a for a in asks if a.sent_at >= cutoff]
    with transaction.atomic():
        invited, answered = _write_history(rng, old)
    live_invited, live_answered = _write_live(rng, live)
    counts = _kind_counts()
    say(
        f"surveys: {len(surveys)} surveys, {invited + live_invited} invitations, "
        f"{answered + live_answered} answers ({counts})"
    )
    return answered + live_answered


def _kind_counts() -> str:
    counts: dict[str, int] = {}
    for kind in Response.objects.values_list("kind", flat=True):
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind.upper()} {n}" for kind, n in sorted(counts.items()))
