"""Help-center search and support-form suggestions at 20,000 articles (issue 5: p95 ≤
30 ms server time on SQLite, half the articles Chinese).

Builds a SQLite data dir under ``bench/data/kb/`` (kept with ``--reuse``): Tend's real
migrations, then ``--articles`` published articles from ``kb_corpus`` (alternately
English and Chinese, in 6 categories × 5 sections). A few articles are made through
``tend.kb.services.article_create``, the rest by a bulk path that writes the same rows:
the stored HTML comes from the same ``tend.kb.markdown.render_markdown``, and the index
is built by ``tend.core.search.search_rebuild(kinds=["article"])``, i.e. kb's own
rebuilder. Before timing, the run checks that the service-made articles' rows and
index documents equal what the bulk path makes of the same input.

Timed in-process with Django's test ``Client`` (the whole request: middleware, view,
SQL, template, the search-term upsert), so it is server time, not network: each case
cycles through its queries, each request from a fresh client address so the public
endpoints' rate limit never answers instead of the view (its cache write is timed).

    python bench/kb_search.py                     # 20,000 articles
    python bench/kb_search.py --reuse             # keep the corpus from last time
    python bench/kb_search.py --articles 2000 --iterations 40   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data" / "kb"
RESULTS = BENCH / "results"
BUDGET_MS = 30.0
SERVICE_MADE = 20  # articles created through kb.services (the rest in bulk)
AUTHOR = "bench_kb_author"
CATEGORIES = 6
SECTIONS_PER_CATEGORY = 5


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup_django(data_dir: Path) -> None:
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tend.settings"
    os.environ.setdefault("TEND_LOG_LEVEL", "WARNING")
    for name in ("TEND_DATABASE_URL", "TEND_REDIS_URL"):
        os.environ.pop(name, None)  # the benchmark is of the embedded SQLite default
    sys.path.insert(0, str(BENCH))
    import django

    django.setup()


# --- building the corpus --------------------------------------------------------------


def _dt(value: datetime) -> str:
    # How Django stores an aware datetime in SQLite: naive UTC text.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


class _Table:
    """INSERT for one model with every concrete column, unset ones at their default."""

    def __init__(self, model: Any) -> None:
        from django.db import models

        fields = list(model._meta.concrete_fields)
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.template: list[Any] = []
        for f in fields:
            value = f.get_default() if f.has_default() else None
            if value is None and not f.null and isinstance(f, models.CharField | models.TextField):
                value = ""
            self.template.append(int(value) if isinstance(value, bool) else value)
        names = ", ".join(f'"{f.column}"' for f in fields)
        marks = ", ".join("?" for _ in fields)
        self.sql = f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})'

    def row(self, **values: Any) -> list[Any]:
        row = list(self.template)
        for name, value in values.items():
            row[self.index[name]] = value
        return row


def _author() -> Any:
    from tend.core.models import User
    from tend.core.roles import Role, assign_role

    user, created = User.objects.get_or_create(
        username=AUTHOR, defaults={"first_name": "Bench", "last_name": "Writer"}
    )
    if created:
        assign_role(user, Role.MANAGER)
    return user


def _places() -> list[Any]:
    """Categories and sections, through the services when they take these arguments."""
    from tend.kb.models import Category, Section

    sections = []
    for c in range(CATEGORIES):
        category, _ = Category.objects.get_or_create(
            slug=f"topic-{c + 1}",
            defaults={"name": f"Topic {c + 1}", "name_zh": f"主题{c + 1}", "position": c},
        )
        for s in range(SECTIONS_PER_CATEGORY):
            section, _ = Section.objects.get_or_create(
                category=category,
                slug=f"part-{s + 1}",
                defaults={"name": f"Part {s + 1}", "name_zh": f"部分{s + 1}", "position": s},
            )
            sections.append(section)
    return sections


def _bulk_slug(n: int) -> str:
    return f"bench-article-{n:06d}"


def build(count: int) -> dict[str, Any]:
    """Fill the fresh database; returns facts for the report."""
    import kb_corpus
    from django.db import connection

    from tend.kb.markdown import render_markdown
    from tend.kb.models import Article, ArticleTranslation
    from tend.kb.services import article_create

    author = _author()
    sections = _places()
    corpus = kb_corpus.articles(count)
    started = time.monotonic()

    # The first few through the services, exactly as staff would publish them.
    made: list[tuple[int, str, str, str]] = []
    for n, (locale, title, body) in zip(range(min(SERVICE_MADE, count)), corpus, strict=False):
        article = article_create(
            actor=author,
            title=title,
            body=body,
            locale=locale,
            status="published",
            section=sections[n % len(sections)],
        )
        made.append((article.pk, locale, title, body))
    say(f"  {len(made)} articles through kb.services.article_create")

    # The rest in bulk: the same columns, the same rendered HTML.
    raw = connection.connection
    articles, translations = _Table(Article), _Table(ArticleTranslation)
    now = datetime.now(UTC)
    first_id = (Article.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    batch_a: list[list[Any]] = []
    batch_t: list[list[Any]] = []

    def flush() -> None:
        raw.execute("BEGIN")
        raw.executemany(articles.sql, batch_a)
        raw.executemany(translations.sql, batch_t)
        raw.execute("COMMIT")
        batch_a.clear()
        batch_t.clear()

    done = len(made)
    for offset, (locale, title, body) in enumerate(corpus):
        pk = first_id + offset
        n = len(made) + offset
        # Spread over two years, so the help center has old and new articles.
        stamp = _dt(now - timedelta(minutes=(count - n) * 50))
        batch_a.append(
            articles.row(
                id=pk,
                slug=_bulk_slug(n),
                section_id=sections[n % len(sections)].pk,
                author_id=author.pk,
                position=0,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        batch_t.append(
            translations.row(
                id=None,
                article_id=pk,
                locale=locale,
                title=title,
                body_markdown=body,
                body_html=render_markdown(body),
                status="published",
                published_at=stamp,
                updated_by_id=author.pk,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        done += 1
        if len(batch_a) >= 2000:
            flush()
            say(f"  {done:,}/{count:,} articles ({time.monotonic() - started:.0f} s)")
    if batch_a:
        flush()
    generate_seconds = round(time.monotonic() - started, 1)

    before = _documents([pk for pk, *_ in made])
    say(f"  built in {generate_seconds} s; indexing through search_rebuild(kinds=['article'])")
    started = time.monotonic()
    from tend.core.search import search_rebuild

    indexed = search_rebuild(kinds=["article"])
    raw.execute("ANALYZE")
    index_seconds = round(time.monotonic() - started, 1)
    _check_same(made, before)
    return {
        "articles": count,
        "english": (count + 1) // 2,
        "chinese": count // 2,
        "service_made": len(made),
        "documents": indexed.get("article", 0),
        "generate_seconds": generate_seconds,
        "index_seconds": index_seconds,
        "corpus_version": kb_corpus.VERSION,
    }


def _documents(article_ids: list[int]) -> dict[tuple[int, str], str]:
    """The index documents of these articles' translations: (article id, locale) → tokens.

    kb indexes each published translation as its own document; which object id it uses
    (the translation's) is kb's choice, so documents are matched back through it."""
    from tend.core.models import SearchDocument
    from tend.kb.models import ArticleTranslation

    by_translation = {
        t.pk: (t.article_id, t.locale)
        for t in ArticleTranslation.objects.filter(article_id__in=article_ids)
    }
    by_article = {
        a: (a, loc)
        for a, loc in ArticleTranslation.objects.filter(article_id__in=article_ids).values_list(
            "article_id", "locale"
        )
    }
    out: dict[tuple[int, str], str] = {}
    for doc in SearchDocument.objects.filter(kind="article"):
        key = by_translation.get(doc.object_id) or by_article.get(doc.object_id)
        if key is not None:
            out[key] = doc.tokens
    return out


def _check_same(made: list[tuple[int, str, str, str]], before: dict[tuple[int, str], str]) -> None:
    """The service-made articles: stored HTML equals the bulk path's rendering, and the
    rebuilt index documents equal the ones the services wrote."""
    from tend.kb.markdown import render_markdown
    from tend.kb.models import ArticleTranslation

    after = _documents([pk for pk, *_ in made])
    for pk, locale, _title, body in made:
        stored = ArticleTranslation.objects.get(article_id=pk, locale=locale)
        if stored.body_html != render_markdown(body):
            raise SystemExit(f"article {pk}: the services store different HTML than the bulk path")
        if stored.status != "published" or stored.published_at is None:
            raise SystemExit(f"article {pk}: the services did not publish it")
        if before.get((pk, locale)) != after.get((pk, locale)):
            raise SystemExit(f"article {pk}: the services index it differently than a rebuild")
    say(f"  checked: {len(made)} service-made articles match the bulk path (rows and index)")


def prepare(count: int, reuse: bool) -> dict[str, Any]:
    import kb_corpus

    marker = DATA / "generated.json"
    facts: dict[str, Any] | None = None
    if reuse and marker.exists():
        facts = json.loads(marker.read_text())
        if facts.get("articles") != count or facts.get("corpus_version") != kb_corpus.VERSION:
            facts = None
    if facts is None:
        shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True, exist_ok=True)
    setup_django(DATA)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # on reuse: the schema may have moved on
    call_command("createcachetable", verbosity=0)
    if facts is not None:
        say(f"reusing {DATA} ({facts['articles']:,} articles)")
        return facts
    say(f"building {count:,} articles in {DATA}")
    facts = build(count)
    marker.write_text(json.dumps(facts))
    return facts


# --- timing --------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def _addresses() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def time_case(
    get: Callable[[str, str], Any],
    urls: list[str],
    *,
    iterations: int,
    max_seconds: float,
    before: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Cycle through ``urls``: a warm-up round, then ``iterations`` timed requests (at
    least one round, at most ``max_seconds``). ``before`` runs untimed before each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    addresses = _addresses()
    for url in urls:
        response = get(url, next(addresses))
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        get(urls[0], next(addresses))
    queries = len(captured.captured_queries)
    samples: list[float] = []
    cpu: list[float] = []
    by_url: dict[str, list[float]] = {}
    deadline = time.monotonic() + max_seconds
    while len(samples) < max(iterations, len(urls)) and (
        len(samples) < len(urls) or time.monotonic() < deadline
    ):
        url = urls[len(samples) % len(urls)]
        address = next(addresses)
        if before is not None:
            before()
        started, started_cpu = time.perf_counter(), time.process_time()
        get(url, address)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        by_url.setdefault(url, []).append(cpu[-1])
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(_percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(_percentile(cpu, 95), 1),
        "queries": queries,
        "cpu_p50_by_url": {u: round(statistics.median(v), 1) for u, v in by_url.items()},
    }


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def measure(iterations: int, max_seconds: float) -> dict[str, Any]:
    import kb_corpus
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    search_path = reverse("portal:help_search")

    def get(url: str, address: str) -> Any:
        # A reader typing Chinese reads the help center in Chinese (their browser says so).
        chinese = _has_cjk(unquote(url))
        language = "zh-CN,zh;q=0.9,en;q=0.5" if chinese else "en-US,en;q=0.9"
        return client.get(url, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)

    results: dict[str, Any] = {}
    cases: dict[str, list[str]] = {}
    for case, query in kb_corpus.SEARCHES:
        cases.setdefault(case, []).append(f"{search_path}?{urlencode({'q': query})}")
    hits: dict[str, int] = {}
    from tend.kb.selectors import article_search

    for _case, query in kb_corpus.SEARCHES:
        locale = "zh-hans" if _has_cjk(query) else "en"
        hits[query] = article_search(query, locale=locale, limit=1).total
    for case, urls in cases.items():
        say(f"help search: {case} ({len(urls)} queries)")
        results[f"search {case}"] = time_case(
            get, urls, iterations=iterations, max_seconds=max_seconds
        )
    all_search = [u for urls in cases.values() for u in urls]
    results["search all"] = time_case(
        get, all_search, iterations=iterations * 2, max_seconds=max_seconds
    )

    path = reverse("portal:help_suggest")
    suggest_urls = [
        f"{path}?{urlencode({'subject': s, 'description': d})}" for s, d in kb_corpus.SUGGESTS
    ]
    say(f"support-form suggestions: {len(suggest_urls)} partial subjects/descriptions")
    results["suggest"] = time_case(
        get, suggest_urls, iterations=iterations * 2, max_seconds=max_seconds
    )
    # The suggester remembers how many articles hold each term for a few minutes, per
    # process; right after a restart or an article edit it must look them up again.
    from tend.kb import selectors

    say("support-form suggestions, term counts not yet remembered")
    results["suggest cold"] = time_case(
        get,
        suggest_urls,
        iterations=iterations,
        max_seconds=max_seconds,
        before=selectors._df_cache.clear,
    )
    # Each timed answer should hold suggestions, or the case times an empty path.
    results["_suggest_answered"] = sum(
        b"/help/open/" in get(url, f"10.255.0.{n}").content for n, url in enumerate(suggest_urls)
    )
    results["_hits"] = hits
    results["_suggest_path"] = path
    return results


# --- report --------------------------------------------------------------------------

LABELS = {
    "search english word": "Help search, one English word",
    "search chinese 2-char": "Help search, Chinese 2-character word",
    "search multi-word": "Help search, several words (English and Chinese)",
    "search no result": "Help search, no result",
    "search all": "Help search, all of the above mixed",
    "suggest": "Support-form suggestions (partial subject + description)",
    "suggest cold": "Same suggestions, term counts not cached (after a restart or an edit)",
}


def report(facts: dict[str, Any], results: dict[str, Any], command: str, load: list[float]) -> str:
    import kb_corpus

    lines = [
        "### Help-center search and support-form suggestions",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; load average at start {' / '.join(str(x) for x in load)}.",
        "",
        f"Command: `{command}`",
        "",
        f"{facts['articles']:,} published articles ({facts['english']:,} English, "
        f"{facts['chinese']:,} Chinese; {facts['service_made']} through "
        "`kb.services.article_create`, the rest in bulk with the same rendering) built in "
        f"{facts.get('generate_seconds', '?')} s and indexed through kb's search rebuilder "
        f"in {facts.get('index_seconds', '?')} s. Server time: in-process with Django's test "
        "`Client` (middleware, view, SQL, template, the search-term upsert and the rate-limit "
        "counter), each request from a fresh client address, with `Accept-Language` Chinese "
        "for Chinese text and English otherwise. p50/p95 are wall-clock; CPU is "
        "the process's CPU time for the same request, which moves less when other work "
        "shares the machine (compare it with the load average).",
        "",
        "| case | requests | p50 | p95 | budget p95 | CPU p50 | CPU p95 | SQL queries |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        r = results[key]
        lines.append(
            f"| {label} | {r['n']} | {r['p50_ms']} ms | {r['p95_ms']} ms | "
            f"{BUDGET_MS:.0f} ms | {r['cpu_p50_ms']} ms | {r['cpu_p95_ms']} ms | {r['queries']} |"
        )
    hits = results["_hits"]
    queries = ", ".join(f"`{q}` {hits[q]:,}" for _c, q in kb_corpus.SEARCHES)
    lines += [
        "",
        f"Queries and their matches (`article_search` total): {queries}.",
        f"Suggestions: `GET {results['_suggest_path']}?subject=…&description=…` with "
        f"{len(kb_corpus.SUGGESTS)} half-typed English and Chinese subjects and descriptions "
        f"({results['_suggest_answered']} of them answered with suggestions).",
    ]
    slowest = sorted(results["search all"]["cpu_p50_by_url"].items(), key=lambda kv: -kv[1])[:3]
    lines.append(
        "Slowest searches (CPU p50): "
        + ", ".join(
            f"`{unquote(u.split('q=', 1)[1]).replace('+', ' ')}` {ms} ms" for u, ms in slowest
        )
        + "."
    )
    over = [LABELS[k] for k in LABELS if results[k]["p95_ms"] > BUDGET_MS]
    if over:
        lines += ["", "**Over the budget**: " + "; ".join(over) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="keep the corpus if it matches")
    parser.add_argument("--iterations", type=int, default=200, help="timed requests per case")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--command", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    facts = prepare(args.articles, args.reuse)
    results = measure(args.iterations, args.max_seconds)
    command = args.command or "python bench/kb_search.py " + " ".join(sys.argv[1:])
    print(report(facts, results, command.strip(), load))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (RESULTS / f"kb-search-{stamp}.json").write_text(
        json.dumps({"args": vars(args), "facts": facts, "results": results}, indent=1)
    )
    print(json.dumps({"facts": facts, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
