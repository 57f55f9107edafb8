"""Rebuilding the whole index, kind by kind, from the objects themselves.

core cannot import the apps whose objects it indexes, so each app registers a
rebuilder for its kinds in its own ``search`` module (tend.crm.search,
tend.desk.search), and ``search_rebuild`` imports those modules by name, the way
Django's admin finds ``admin`` modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Max
from django.utils.module_loading import autodiscover_modules

from tend.core.models import SearchDocument
from tend.core.search.index import IndexEntry, index_bulk, index_optimize

# progress(kind, done, total)
Progress = Callable[[str, int, int], None]
# A rebuilder yields batches of entries for its kind, oldest first, and knows the total.
Rebuilder = Callable[[], tuple[int, Iterable[list[IndexEntry]]]]

_REBUILDERS: dict[str, Rebuilder] = {}


def register_rebuilder(kind: str) -> Callable[[Rebuilder], Rebuilder]:
    def register(func: Rebuilder) -> Rebuilder:
        _REBUILDERS[kind] = func
        return func

    return register


def search_rebuild(
    progress: Progress | None = None, *, kinds: Iterable[str] | None = None
) -> dict[str, int]:
    """Re-index every object of every registered kind (or of ``kinds``); returns
    counts per kind. Search keeps answering meanwhile: each batch replaces its own
    documents, and documents of objects that no longer exist go at the end."""
    autodiscover_modules("search")
    wanted = list(kinds) if kinds is not None else sorted(_REBUILDERS)
    unknown = set(wanted) - set(_REBUILDERS)
    if unknown:
        raise KeyError(f"no search rebuilder for {', '.join(sorted(unknown))}")
    done_by_kind: dict[str, int] = {}
    for kind in wanted:
        # Every rewritten document gets a new id, so whatever of this kind is at or
        # below today's highest id afterwards belongs to a deleted object.
        before = SearchDocument.objects.filter(kind=kind).aggregate(m=Max("id"))["m"] or 0
        total, batches = _REBUILDERS[kind]()
        done = 0
        if progress is not None:
            progress(kind, 0, total)
        for batch in batches:
            done += index_bulk(batch)
            if progress is not None:
                progress(kind, done, total)
        SearchDocument.objects.filter(kind=kind, id__lte=before).delete()
        done_by_kind[kind] = done
    index_optimize()
    return done_by_kind
