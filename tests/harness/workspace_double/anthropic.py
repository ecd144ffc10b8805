"""Anthropic Messages API responses as the Databricks gateway returns them.

Pure functions that build the JSON message, the server-sent-event stream and
the error bodies of ``/serving-endpoints/anthropic/v1/messages``.
"""

from __future__ import annotations

import json
import re
import uuid


def estimate_tokens(text: str) -> int:
    """A rough, deterministic token count (4 characters per token, at least 1)."""
    return max(1, (len(text) + 3) // 4)


def error_body(error_type: str, message: str) -> dict:
    """Anthropic-shaped error: ``{"type": "error", "error": {...}}``."""
    return {"type": "error", "error": {"type": error_type, "message": message}}


def message_id() -> str:
    """A fresh ``msg_...`` identifier."""
    return "msg_" + uuid.uuid4().hex[:24]


def message(model: str, text: str, input_tokens: int) -> dict:
    """A complete (non-streaming) assistant message."""
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": estimate_tokens(text),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode("utf-8")


def text_chunks(text: str) -> list[str]:
    """Split reply text into word-sized deltas (keeps the whitespace)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def stream_events(model: str, text: str, input_tokens: int) -> list[bytes]:
    """The SSE events of one streamed reply, in order."""
    msg = message(model, text, input_tokens)
    start = dict(msg, content=[], stop_reason=None)
    start["usage"] = dict(msg["usage"], output_tokens=1)
    events = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}),
        _event("ping", {"type": "ping"}),
    ]
    for chunk in text_chunks(text):
        events.append(_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                     "delta": {"type": "text_delta", "text": chunk}}))
    events.extend([
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": msg["usage"]["output_tokens"]}}),
        _event("message_stop", {"type": "message_stop"}),
    ])
    return events
