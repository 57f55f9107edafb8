"""The staff search box over tickets, contacts and accounts, fed by the real services:
every write re-indexes after commit, so what an agent just did is searchable."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tend.core.models import SearchDocument
from tend.crm.services import account_create, contact_create
from tend.desk import services
from tend.desk.models import Status, Ticket
from tend.desk.search import index_tickets_bulk, search_everything, search_rebuild, ticket_search_q
from tend.desk.selectors import tickets_visible_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def commit(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run a service and its after-commit work (indexing) as a real commit would."""

    def run(func, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return func(**kwargs)

    return run


@pytest.fixture
def new_ticket(commit):  # type: ignore[no-untyped-def]
    def create(subject: str, description: str = "", **kwargs) -> Ticket:  # type: ignore[no-untyped-def]
        params = {
            "actor": None,
            "subject": subject,
            "description": description,
            "requester_email": "li.wei@acme.cn",
            "requester_name": "Li Wei",
        }
        params.update(kwargs)
        return commit(services.ticket_create, **params)

    return create


def numbers(user, q: str, **kwargs) -> list[int]:  # type: ignore[no-untyped-def]
    return [t.number for t in search_everything(user, q, **kwargs).tickets]


class TestTickets:
    def test_chinese_words_are_found_in_subject_description_and_comments(
        self, new_ticket, commit, manager
    ):
        refund = new_ticket("订单问题", "我上周买的年度套餐想申请退款，请尽快处理。")
        login = new_ticket("账号异常", "客户反馈后台打不开")
        commit(
            services.comment_add_agent,
            actor=manager,
            ticket=login,
            body="已确认：客户无法登录，密码重置邮件没有收到。",
        )
        new_ticket("发票抬头", "请帮忙修改发票抬头")

        assert numbers(manager, "退款") == [refund.number]
        assert numbers(manager, "登录") == [login.number]

    def test_subject_hits_rank_above_comment_hits(self, new_ticket, commit, manager):
        older = new_ticket("Question about invoices", "Hello")
        commit(
            services.comment_add_agent, actor=manager, ticket=older, body="Sent the export again"
        )
        subject_hit = new_ticket("Export to CSV fails", "Nothing downloads")

        assert numbers(manager, "export") == [subject_hit.number, older.number]

    def test_internal_notes_are_searchable_by_staff(self, new_ticket, commit, agent):
        ticket = new_ticket("Slow dashboard")
        commit(
            services.comment_add_agent,
            actor=agent,
            ticket=ticket,
            body="Escalated to engineering as JIRA-4711",
            public=False,
        )

        assert numbers(agent, "jira 4711") == [ticket.number]

    def test_ticket_number_and_requester_find_the_ticket(self, new_ticket, manager):
        ticket = new_ticket("Anything at all")

        assert ticket.number in numbers(manager, str(ticket.number))
        assert numbers(manager, "li.wei@acme.cn") == [ticket.number]

    def test_index_follows_updates_and_comments(self, new_ticket, commit, manager):
        ticket = new_ticket("Printer jam")
        commit(services.ticket_update, actor=manager, ticket=ticket, subject="Scanner jam")
        ticket.refresh_from_db()
        commit(services.comment_add_agent, actor=manager, ticket=ticket, body="Replaced the roller")

        assert numbers(manager, "printer") == []
        assert numbers(manager, "scanner roller") == [ticket.number]

    def test_status_filter(self, new_ticket, commit, manager):
        open_one = new_ticket("Refund please")
        commit(services.ticket_update, actor=manager, ticket=open_one, status=Status.OPEN)
        new_one = new_ticket("Refund again")

        assert numbers(manager, "refund", status=Status.OPEN) == [open_one.number]
        assert numbers(manager, "refund", status=Status.NEW) == [new_one.number]
        assert numbers(manager, "refund", status="nonsense") == []

    def test_search_sees_what_the_user_may_see(
        self, new_ticket, commit, agent, outsider, manager, team, other_team
    ):
        support = new_ticket("Outage in Shanghai", team=team)
        billing = new_ticket("Outage invoice credit", team=other_team)
        unteamed = new_ticket("Outage report")

        assert sorted(numbers(agent, "outage")) == [support.number, unteamed.number]
        assert sorted(numbers(outsider, "outage")) == [billing.number, unteamed.number]
        assert len(numbers(manager, "outage")) == 3

        # Assigned to someone outside the team: they see it too.
        commit(services.ticket_update, actor=manager, ticket=billing, assignee=agent)
        assert billing.number in numbers(agent, "outage")

    def test_a_team_change_hides_the_ticket_from_the_old_team(
        self, new_ticket, commit, agent, manager, team, other_team
    ):
        ticket = new_ticket("Outage", team=team)
        commit(services.ticket_update, actor=manager, ticket=ticket, team=other_team)

        assert numbers(agent, "outage") == []

    def test_the_ticket_list_filter(self, new_ticket, agent, other_team):
        mine = new_ticket("Refund for annual plan")
        new_ticket("Refund for another team", team=other_team)
        new_ticket("Something else")

        listed = tickets_visible_to(agent).filter(ticket_search_q("refund"))
        assert list(listed.values_list("number", flat=True)) == [mine.number]
        assert list(
            tickets_visible_to(agent)
            .filter(ticket_search_q(f"#{mine.number}"))
            .values_list("number", flat=True)
        ) == [mine.number]


class TestContactsAndAccounts:
    def test_found_by_name_email_and_domain(self, commit, manager):
        account = commit(account_create, actor=manager, name="Acme China", domains=["acme.cn"])
        contact = commit(contact_create, actor=manager, email="wang.fang@acme.cn", name="王芳")

        results = search_everything(manager, "acme.cn")
        assert results.accounts == [account]
        assert results.contacts == [contact]
        assert search_everything(manager, "王芳").contacts == [contact]
        assert search_everything(manager, "wang.fang@acme.cn").contacts == [contact]

    def test_kinds_limit_the_groups(self, commit, manager, new_ticket):
        commit(account_create, actor=manager, name="Globex")
        new_ticket("Globex renewal")

        results = search_everything(manager, "globex", kinds=("account",))
        assert len(results.accounts) == 1 and results.tickets == [] and results.contacts == []

    def test_a_user_without_crm_access_sees_no_contacts_or_counts(self, commit, manager):
        from conftest import make_staff
        from tend.core.roles import Role

        commit(contact_create, actor=manager, email="wang.fang@acme.cn", name="Wang Fang")
        nobody = make_staff("nobody", Role.AGENT)
        nobody.groups.clear()

        results = search_everything(nobody, "wang")
        assert results.contacts == [] and "contact" not in results.pages


class TestRebuild:
    def test_rebuild_restores_a_lost_index_and_drops_stale_documents(
        self, new_ticket, commit, manager
    ):
        ticket = new_ticket("Refund please")
        commit(account_create, actor=manager, name="Initech")
        SearchDocument.objects.all().delete()
        SearchDocument.objects.create(
            kind="ticket",
            object_id=999_999,
            title="ghost",
            updated_at=ticket.updated_at,
            tokens="!k:ticket !t:0\nghost\n",
        )
        seen: list[tuple[str, int, int]] = []

        counts = search_rebuild(lambda kind, done, total: seen.append((kind, done, total)))

        assert counts == {"account": 1, "article": 0, "contact": 1, "ticket": 1}
        assert ("ticket", 1, 1) in seen
        assert numbers(manager, "refund") == [ticket.number]
        assert search_everything(manager, "initech").accounts
        assert numbers(manager, "ghost") == []

    def test_bulk_indexing_for_seeding(self, manager):
        from tend.crm.services import contact_for_email

        contact = contact_for_email(email="bulk@acme.cn")
        ids = [
            Ticket.objects.create(number=n, subject=f"Bulk {n} 退款", requester=contact).pk
            for n in range(1, 4)
        ]
        assert index_tickets_bulk(ids) == 3
        assert len(numbers(manager, "退款")) == 3

    def test_management_command(self, new_ticket, manager, capsys):
        ticket = new_ticket("Refund please")
        SearchDocument.objects.all().delete()

        call_command("search_rebuild")

        assert "ticket" in capsys.readouterr().out
        assert numbers(manager, "refund") == [ticket.number]
