"""Stub: filled in by issue 5."""

from ninja import Router

router = Router()
