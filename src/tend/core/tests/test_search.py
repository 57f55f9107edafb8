"""The search index through its one interface; the same tests run on SQLite and, with
TEND_DATABASE_URL pointing at PostgreSQL, on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tend.core.models import SearchDocument
from tend.core.search import (
    IndexEntry,
    Visibility,
    index_bulk,
    index_delete,
    index_optimize,
    index_upsert,
    matching_ids,
    search,
)

pytestmark = pytest.mark.django_db

T0 = timezone.now() - timedelta(days=30)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def doc(object_id: int, title: str, *body: str, minutes: int = 0, **extra) -> None:  # type: ignore[no-untyped-def]
    index_upsert(
        extra.pop("kind", "ticket"),
        object_id,
        title=title,
        body=list(body),
        updated_at=at(minutes or object_id),
        **extra,
    )


def found(q: str, **kwargs) -> list[int]:  # type: ignore[no-untyped-def]
    return [h.object_id for h in search(q, **kwargs).hits]


class TestChinese:
    def test_two_character_words_are_found_inside_longer_sentences(self):
        doc(1, "订单问题", "我上周买的年度套餐想申请退款，请尽快处理。")
        doc(2, "无法登录", "今天早上开始一直无法登录后台，提示密码错误。")
        doc(3, "发票抬头", "请帮忙修改发票抬头，谢谢。")

        assert found("退款") == [1]
        assert found("登录") == [2]
        assert found("退款 登录") == []

    def test_a_chinese_phrase_needs_all_of_its_bigrams(self):
        doc(1, "无法登录后台")
        doc(2, "后台无法打开，也不能登录")

        assert found("无法登录") == [1]
        assert sorted(found("登录")) == [1, 2]

    def test_a_single_character_finds_every_word_containing_it(self):
        doc(1, "退款")
        doc(2, "退货")

        assert sorted(found("退")) == [1, 2]

    def test_mixed_chinese_and_english(self):
        doc(1, "SSO 登录失败", "Okta returns an error")
        doc(2, "SSO works", "登录 fine")

        assert found("sso 登录失败") == [1]
        assert found("okta 登录") == [1]


class TestMatching:
    def test_every_word_must_match_and_case_does_not_matter(self):
        doc(1, "Refund for annual plan", "Customer was charged twice")
        doc(2, "Annual plan upgrade")

        assert found("REFUND annual") == [1]
        assert sorted(found("annual plan")) == [1, 2]
        assert found("refund upgrade") == []

    def test_an_email_is_found_whole_by_its_domain_and_by_its_words(self):
        doc(1, "Li Wei", keywords=["li.wei@acme.cn"], kind="contact")
        doc(2, "Wang Fang", keywords=["wang.fang@globex.com"], kind="contact")

        assert found("li.wei@acme.cn") == [1]
        assert found("acme.cn") == [1]
        assert found("wei acme") == [1]
        assert found("fang@globex.com") == [2]

    def test_user_input_is_never_read_as_query_syntax(self):
        doc(1, 'Quote " and star * and NEAR(a b) and col:umn')

        for q in ['"', "*", "NEAR(", "col:umn", "a AND", "'; DROP TABLE x; --", "!k:ticket"]:
            search(q)  # does not raise
        assert found("near") == [1]
        assert found("!k:ticket") == []

    def test_prefix_search_finds_words_being_typed(self):
        doc(1, "Refunds are slow")

        assert found("refu") == []
        assert found("refu", prefix=True) == [1]

    def test_nothing_to_search_finds_nothing(self):
        doc(1, "Anything")

        page = search("  ?! ")
        assert page.hits == [] and page.count == 0


class TestIndexCurrent:
    def test_reindexing_replaces_what_a_document_matched(self):
        doc(1, "Printer jam")
        doc(1, "Scanner jam")

        assert found("printer") == []
        assert found("scanner") == [1]
        assert SearchDocument.objects.filter(kind="ticket", object_id=1).count() == 1

    def test_deleted_documents_are_not_found(self):
        doc(1, "Printer jam")
        index_delete("ticket", 1)

        assert found("printer") == []

    def test_bulk_indexing_keeps_one_document_per_object(self):
        index_bulk(
            [
                IndexEntry("ticket", 1, "Old subject", at(1)),
                IndexEntry("ticket", 2, "Other", at(2)),
                IndexEntry("ticket", 1, "New subject", at(3)),
            ]
        )
        index_optimize()

        assert found("subject") == [1]
        assert found("old") == []
        assert SearchDocument.objects.count() == 2


class TestRanking:
    def test_a_title_hit_ranks_above_a_body_hit(self):
        doc(1, "Invoice question", "The export to CSV fails", minutes=10)
        doc(2, "Export fails", "Trying to get a CSV", minutes=1)

        page = search("export")
        assert [h.object_id for h in page.hits] == [2, 1]
        assert page.ordered_by == "rank" and page.count == 2 and not page.count_is_estimate
        assert page.hits[0].rank > page.hits[1].rank

    def test_hits_carry_what_a_result_list_shows(self):
        doc(1, "Export fails", status="open", scope=7)

        hit = search("export").hits[0]
        assert (hit.kind, hit.object_id, hit.title, hit.status) == (
            "ticket",
            1,
            "Export fails",
            "open",
        )
        assert hit.updated_at == at(1)

    def test_huge_hit_sets_are_ordered_by_latest_change(self):
        # Every write re-indexes its object, so "newest first" is "latest indexed first".
        for i in range(1, 8):
            doc(i, "Password reset" if i != 3 else "Password", "password", minutes=i)
        doc(2, "Password reset again", minutes=50)

        page = search("password", huge_hits=5)
        assert page.ordered_by == "recent"
        assert page.count_is_estimate and page.count == 5
        assert [h.object_id for h in page.hits] == [2, 7, 6, 5, 4, 3, 1]

    def test_pages_follow_each_other(self):
        for i in range(1, 6):
            doc(i, f"Password {i}")

        first = found("password", limit=2)
        second = found("password", limit=2, offset=2)
        assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)


class TestFilters:
    def test_kinds(self):
        doc(1, "Acme", kind="account")
        doc(1, "Acme outage", kind="ticket")

        assert [(h.kind, h.object_id) for h in search("acme", kinds=["account"]).hits] == [
            ("account", 1)
        ]
        assert len(search("acme", kinds=["account", "ticket"]).hits) == 2

    def test_status(self):
        doc(1, "Refund", status="open")
        doc(2, "Refund", status="solved")
        doc(3, "Refund", status="on_hold")

        assert found("refund", status="solved") == [2]
        assert sorted(found("refund", status=["open", "on_hold"])) == [1, 3]

    def test_visibility_by_scope_membership_and_no_scope(self):
        doc(1, "Outage", scope=10)  # the user's team
        doc(2, "Outage", scope=20)  # another team
        doc(3, "Outage", scope=20, members=[99])  # another team, but the user's
        doc(4, "Outage")  # no team

        seen = found("outage", visibility=Visibility(scopes=frozenset({10}), user_id=99))
        assert sorted(seen) == [1, 3, 4]
        assert sorted(found("outage")) == [1, 2, 3, 4]

    def test_filters_also_apply_in_recency_order(self):
        for i in range(1, 10):
            doc(i, "Outage", scope=10 if i % 3 == 0 else 20, status="open")

        page = search(
            "outage", visibility=Visibility(scopes=frozenset({10})), huge_hits=2, status="open"
        )
        assert page.ordered_by == "recent"
        assert [h.object_id for h in page.hits] == [9, 6, 3]


class TestDatabaseState:
    @pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL planner settings")
    def test_searching_inside_a_transaction_leaves_its_settings_alone(self):
        doc(1, "Refund")

        with transaction.atomic(), connection.cursor() as cursor:
            assert found("refund") == [1]
            cursor.execute("SHOW enable_seqscan")
            assert cursor.fetchone()[0] == "on"

    def test_an_index_lost_by_a_table_rebuild_is_recreated(self):
        from tend.core.search import index as index_module
        from tend.core.search.schema import schema_drop

        doc(1, "Refund")
        schema_drop(connection)
        index_module._schema_ready.clear()

        doc(2, "Refund")
        # What is indexed from now on is found (and search_rebuild brings back the rest).
        assert 2 in found("refund")


class TestNarrowFiltersOnCommonWords:
    def test_old_matches_behind_many_newer_ones_are_found(self, monkeypatch):
        from tend.core.search import backends

        # PostgreSQL walks the newest documents first and gives up after WALK_ROWS.
        monkeypatch.setattr(backends, "WALK_ROWS", 3)
        doc(1, "Outage", scope=10)
        doc(2, "Outage", scope=10)
        for i in range(3, 12):
            doc(i, "Outage", scope=20)

        page = search("outage", visibility=Visibility(scopes=frozenset({10})), huge_hits=4)
        assert sorted(h.object_id for h in page.hits) == [1, 2]
        assert page.count == 2 and not page.count_is_estimate

    def test_many_old_matches_behind_newer_ones_come_newest_first(self, monkeypatch):
        from tend.core.search import backends

        monkeypatch.setattr(backends, "WALK_ROWS", 3)
        for i in range(1, 7):
            doc(i, "Outage", scope=10)
        for i in range(7, 12):
            doc(i, "Outage", scope=20)

        page = search("outage", visibility=Visibility(scopes=frozenset({10})), huge_hits=4)
        assert [h.object_id for h in page.hits] == [6, 5, 4, 3, 2, 1]
        assert page.ordered_by == "recent" and page.count_is_estimate


class TestMatchingIds:
    def test_filters_a_queryset_to_matching_objects(self):
        doc(1, "Refund please", status="open")
        doc(2, "Refund done", status="solved")
        doc(3, "Other")
        doc(1, "Refund", kind="contact")

        ids = SearchDocument.objects.filter(
            kind="ticket", object_id__in=matching_ids("refund", "ticket")
        )
        assert sorted(ids.values_list("object_id", flat=True)) == [1, 2]
        open_ids = SearchDocument.objects.filter(
            kind="ticket", object_id__in=matching_ids("refund", "ticket", status="open")
        )
        assert list(open_ids.values_list("object_id", flat=True)) == [1]

    def test_caps_at_the_newest_matches(self):
        for i in range(1, 6):
            doc(i, "Refund")

        ids = SearchDocument.objects.filter(object_id__in=matching_ids("refund", "ticket", cap=2))
        assert sorted(ids.values_list("object_id", flat=True)) == [4, 5]

    def test_no_terms_match_nothing(self):
        doc(1, "Refund")

        assert not SearchDocument.objects.filter(
            object_id__in=matching_ids("!!", "ticket")
        ).exists()
