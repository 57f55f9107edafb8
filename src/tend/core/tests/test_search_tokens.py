"""The search tokeniser: what a document is indexed as, and what a query looks for."""

from __future__ import annotations

from tend.core.search import QueryTerm, query_terms, tokenize


def tokens(q: str) -> list[str]:
    return [t.token for t in query_terms(q)]


class TestTokenize:
    def test_chinese_becomes_single_characters_and_overlapping_bigrams(self):
        assert sorted(tokenize("申请退款")) == sorted(
            ["申", "请", "退", "款", "申请", "请退", "退款"]
        )

    def test_a_lone_cjk_character_is_its_own_term(self):
        assert tokenize("退") == ["退"]

    def test_mixed_text_keeps_words_and_cjk_runs_apart(self):
        terms = tokenize("登录失败 after upgrading to v2, error E2E-42")
        assert {"登录", "录失", "失败", "登", "败"} <= set(terms)
        assert {"after", "upgrading", "to", "v2", "error", "e2e", "42"} <= set(terms)
        assert "登录失败" not in terms

    def test_japanese_and_korean_are_bigrammed_too(self):
        assert {"カタ", "タカ", "カナ", "한국", "국어"} <= set(tokenize("カタカナ 한국어"))

    def test_case_and_width_are_folded(self):
        assert tokenize("ＲＥＦＵＮＤ Straße") == ["refund", "strasse"]

    def test_accents_and_combining_marks_stay_inside_words(self):
        assert tokenize("naïve हिन्दी") == ["naïve", "हिन्दी"]

    def test_an_email_is_kept_whole_and_split_into_its_parts(self):
        terms = tokenize("Write to Li.Wei+vip@Example.com today")
        assert "li.wei+vip@example.com" in terms
        assert {"li", "wei", "vip", "example.com", "example", "com"} <= set(terms)

    def test_dotted_names_are_kept_whole_and_split(self):
        assert {"acme.cn", "acme", "cn", "v1.2.3", "v1", "2", "3"} <= set(
            tokenize("see acme.cn, running v1.2.3.")
        )

    def test_punctuation_and_underscores_separate_words(self):
        assert tokenize("foo_bar, don't! (x)") == ["foo", "bar", "don", "t", "x"]

    def test_absurdly_long_words_are_cut(self):
        assert len(tokenize("a" * 500)[0]) == 64


class TestQueryTerms:
    def test_a_two_character_chinese_query_is_one_bigram(self):
        assert tokens("退款") == ["退款"]

    def test_a_longer_chinese_query_is_the_and_of_its_bigrams(self):
        assert tokens("无法登录") == ["无法", "法登", "登录"]

    def test_a_single_cjk_character_is_looked_up_as_itself(self):
        assert tokens("退") == ["退"]

    def test_words_and_cjk_are_anded_and_repeats_dropped(self):
        assert tokens("Refund 退款 refund") == ["refund", "退款"]

    def test_an_email_matches_whole_or_by_its_words(self):
        assert query_terms("li.wei@acme.cn") == [
            QueryTerm("li.wei@acme.cn", parts=("li", "wei")),
            QueryTerm("acme.cn", parts=("acme", "cn")),
        ]

    def test_prefix_applies_to_the_last_word_while_it_is_being_typed(self):
        assert query_terms("billing refu", prefix=True)[-1] == QueryTerm("refu", prefix=True)
        assert query_terms("billing refu ", prefix=True)[-1] == QueryTerm("refu")
        assert query_terms("billing re", prefix=True)[-1] == QueryTerm("re")
        assert query_terms("refu") == [QueryTerm("refu")]

    def test_query_syntax_characters_are_just_separators(self):
        assert tokens('"refund" AND -x* OR (y) NEAR:z') == [
            "refund",
            "and",
            "x",
            "or",
            "y",
            "near",
            "z",
        ]

    def test_nothing_searchable_gives_no_terms(self):
        assert query_terms("  !?* ") == []
