"""Typed messages and aiohttp-style receive helpers on the blocking WebSocket."""

from __future__ import annotations

__all__ = ["MessageMixin"]


class MessageMixin:
    """Methods mixed into ``WebSocket``: typed receive, JSON helpers."""
