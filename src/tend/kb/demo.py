"""Demo data for the knowledge base: the help center's categories, sections and ~30
articles (tend.kb.demo_articles), then 30 days of what readers did with them — views,
"was this helpful?" votes, searches (some finding nothing) and suggestions opened from
the support form, some of which became deflections — so the analytics page has a story.

Called by the demo seed (tend.demo.seed) once staff, the product map and tickets exist:

    from tend.kb.demo import seed_kb
    seed_kb(progress=say)

Content goes through the kb services, exactly as staff would write it; the reader
history is written in bulk with its real dates.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from django.db import models, transaction
from django.utils import timezone

from tend.core.models import User
from tend.desk.models import Feature, ProductArea
from tend.kb import services
from tend.kb.demo_articles import ARTICLES, CATEGORIES, SEARCH_TERMS, ArticleSeed
from tend.kb.models import (
    Article,
    ArticleDailyStat,
    ArticleTranslation,
    ArticleVote,
    Category,
    SearchSource,
    SearchTerm,
    Section,
    SuggestionOpen,
)

RANDOM_SEED = 20_251_124
HISTORY_DAYS = 30
# Demo staff who write the help center (tend.demo.names.STAFF); the first that exists.
AUTHORS = ("manager", "admin")
ZH_AUTHORS = ("liwei", "csm", "manager", "admin")
ZH = "zh-hans"

Progress = Callable[[str], None]


def _first_user(usernames: tuple[str, ...]) -> User | None:
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    return next((users[n] for n in usernames if n in users), None)


def _visitor(rng: random.Random) -> str:
    """A visitor hash like the help center stores (never a session key)."""
    return hashlib.sha256(rng.randbytes(16)).hexdigest()


def _places(actor: User) -> dict[tuple[str, str], Section]:
    sections: dict[tuple[str, str], Section] = {}
    for position, seed in enumerate(CATEGORIES):
        category = Category.objects.filter(slug=seed.slug).first()
        if category is None:
            category = services.category_save(
                actor=actor,
                slug=seed.slug,
                name=seed.name,
                name_zh=seed.name_zh,
                description=seed.description,
                description_zh=seed.description_zh,
                position=position,
            )
        for section_position, (slug, name, name_zh) in enumerate(seed.sections):
            section = Section.objects.filter(category=category, slug=slug).first()
            if section is None:
                section = services.section_save(
                    actor=actor,
                    category=category,
                    slug=slug,
                    name=name,
                    name_zh=name_zh,
                    position=section_position,
                )
            sections[(seed.slug, slug)] = section
    return sections


def _write(
    seed: ArticleSeed,
    *,
    author: User,
    zh_author: User,
    section: Section,
    published: datetime,
) -> Article:
    area = ProductArea.objects.filter(slug=seed.area).first()
    feature = Feature.objects.filter(product_area=area, slug=seed.feature).first()
    article = services.article_create(
        actor=author,
        title=seed.title,
        body=seed.body,
        locale="en",
        status="published",
        section=section,
        slug=seed.slug,
        product_area=area,
        feature=feature,
        tags=seed.tags,
    )
    if seed.title_zh:
        services.translation_save(
            actor=zh_author,
            article=article,
            locale=ZH,
            title=seed.title_zh,
            body=seed.body_zh,
            status="draft" if seed.zh_draft else "published",
        )
    # Written over the past months, not all this second: the help center shows dates.
    Article.objects.filter(pk=article.pk).update(created_at=published)
    ArticleTranslation.objects.filter(article=article).update(
        created_at=published,
    )
    ArticleTranslation.objects.filter(article=article, published_at__isnull=False).update(
        published_at=published
    )
    return article


@contextmanager
def _given_times(model: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the past moments set on auto_now(_add) fields."""
    switched = []
    for f in model._meta.concrete_fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            switched.append((f, f.auto_now, f.auto_now_add))  # type: ignore[attr-defined]
            f.auto_now = f.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in switched:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add  # type: ignore[attr-defined]


def _reader_history(
    rng: random.Random, articles: list[Article], today: date, now: datetime
) -> dict[str, int]:
    """Views, votes, suggestion opens and deflections per article, locale and day."""
    live = list(
        ArticleTranslation.objects.filter(article__in=articles, status="published").values_list(
            "article_id", "locale"
        )
    )
    # Some articles are popular, a few unhelpful (their helpful % shows it).
    popularity = {a.pk: rng.choice([1, 1, 2, 3, 5, 8]) for a in articles}
    helpfulness = {a.pk: rng.choice([0.9, 0.85, 0.8, 0.75, 0.45]) for a in articles}
    stats: list[ArticleDailyStat] = []
    votes: list[ArticleVote] = []
    opens: list[SuggestionOpen] = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        weekday = day.isoweekday() < 6
        for article_id, locale in live:
            base = popularity[article_id] * (1.0 if locale == "en" else 0.7) * (3 if weekday else 1)
            views = max(0, round(rng.gauss(base * 2.5, base)))
            if not views:
                continue
            helpful = not_helpful = 0
            for _ in range(sum(rng.random() < 0.07 for _ in range(views))):
                liked = rng.random() < helpfulness[article_id]
                helpful += liked
                not_helpful += not liked
                voted = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(
                    minutes=rng.randint(6 * 60, 22 * 60)
                )
                votes.append(
                    ArticleVote(
                        article_id=article_id,
                        locale=locale,
                        visitor=_visitor(rng),
                        helpful=liked,
                        created_at=voted,
                        updated_at=voted,
                    )
                )
            deflections = 0
            for _ in range(sum(rng.random() < 0.02 for _ in range(views))):
                opened = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) + timedelta(
                    minutes=rng.randint(7 * 60, 20 * 60)
                )
                submitted = rng.random() < 0.35  # they still wrote to support
                deflections += not submitted
                opens.append(
                    SuggestionOpen(
                        article_id=article_id,
                        locale=locale,
                        visitor=_visitor(rng),
                        query=rng.choice(_QUERIES[locale]),
                        opened_at=opened,
                        submitted_at=opened + timedelta(minutes=rng.randint(1, 8))
                        if submitted
                        else None,
                        # Already claimed by the deflection job (it runs every 10 min).
                        counted_at=opened + timedelta(minutes=40),
                    )
                )
            stats.append(
                ArticleDailyStat(
                    article_id=article_id,
                    locale=locale,
                    day=day,
                    views=views,
                    helpful=helpful,
                    not_helpful=not_helpful,
                    deflections=deflections,
                )
            )
    ArticleDailyStat.objects.bulk_create(stats, batch_size=500)
    with _given_times(ArticleVote), _given_times(SuggestionOpen):
        ArticleVote.objects.bulk_create(votes, batch_size=500)
        SuggestionOpen.objects.bulk_create(opens, batch_size=500)
    return {"stats": len(stats), "votes": len(votes), "opens": len(opens)}


_QUERIES = {
    "en": (
        "cant download invoice",
        "charged twice this month",
        "sso login error",
        "reset password email not arriving",
        "export report csv timeout",
        "mobile app not syncing",
    ),
    ZH: ("发票抬头写错了", "重复扣费", "单点登录报错", "收不到重置密码邮件", "导出报表超时"),
}


def _searches(rng: random.Random, today: date) -> int:
    rows: list[SearchTerm] = []
    for back in range(HISTORY_DAYS, 0, -1):
        day = today - timedelta(days=back)
        for term, locale, per_day, finds_nothing in SEARCH_TERMS:
            for source, share in (
                (SearchSource.HELP_CENTER, 0.7),
                (SearchSource.SUPPORT_FORM, 0.3),
            ):
                searches = max(0, round(rng.gauss(per_day * share, per_day * share / 2)))
                if searches:
                    rows.append(
                        SearchTerm(
                            day=day,
                            term=term,
                            locale=locale,
                            source=source,
                            searches=searches,
                            no_results=searches if finds_nothing else 0,
                        )
                    )
    SearchTerm.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def seed_kb(*, progress: Progress | None = None, now: datetime | None = None) -> int:
    """Create the demo help center (once); returns the number of articles written."""
    say: Progress = progress or (lambda message: None)
    if Article.objects.exists():
        say("knowledge base: articles already present; nothing to do")
        return 0
    now = now or timezone.now()
    rng = random.Random(RANDOM_SEED)
    author, zh_author = _first_user(AUTHORS), _first_user(ZH_AUTHORS)
    if author is None:
        say("knowledge base: no demo staff to write it (seed staff first); skipped")
        return 0
    sections = _places(author)
    articles: list[Article] = []
    for n, seed in enumerate(ARTICLES):
        published = now - timedelta(days=200 - n * 5, hours=rng.randint(0, 8))
        articles.append(
            _write(
                seed,
                author=author,
                zh_author=zh_author or author,
                section=sections[(seed.category, seed.section)],
                published=published,
            )
        )
    with transaction.atomic():
        history = _reader_history(rng, articles, now.date(), now)
        terms = _searches(rng, now.date())
    translations = ArticleTranslation.objects.filter(article__in=articles).count()
    say(
        f"knowledge base: {len(CATEGORIES)} categories, {len(sections)} sections, "
        f"{len(articles)} articles ({translations} language versions); "
        f"{history['stats']} daily stats, {history['votes']} votes, "
        f"{history['opens']} suggestions opened, {terms} search-term rows"
    )
    return len(articles)
