"""Gemini API bodies of the Gemini route (``<prefix>/gemini/v1beta/models/{model}:{method}``).

Pure functions that build what Gemini CLI reads: ``streamGenerateContent?alt=sse`` chunks (the
last one carries ``finishReason: "STOP"``, without which Gemini CLI retries), the non-streamed
``generateContent`` answer, ``countTokens`` and Google-shaped errors.
"""

from __future__ import annotations

import json
import uuid

from .anthropic import estimate_tokens, text_chunks

# HTTP status -> google.rpc status name, for error bodies.
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(status: int, message: str) -> dict:
    """Google-shaped error: ``{"error": {"code", "message", "status"}}``."""
    return {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}


def _usage(input_tokens: int, text: str) -> dict:
    output_tokens = estimate_tokens(text)
    return {"promptTokenCount": input_tokens, "candidatesTokenCount": output_tokens,
            "totalTokenCount": input_tokens + output_tokens}


def _chunk(model: str, response_id: str, text: str, finish: bool, usage: dict | None) -> dict:
    candidate: dict = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = "STOP"
    body: dict = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if usage:
        body["usageMetadata"] = usage
    return body


def generate_response(model: str, text: str, input_tokens: int) -> dict:
    """The body of a non-streamed ``generateContent`` answer."""
    return _chunk(model, uuid.uuid4().hex[:20], text, True, _usage(input_tokens, text))


def stream_chunks(model: str, text: str, input_tokens: int) -> list[bytes]:
    """The SSE events of ``streamGenerateContent?alt=sse``: one per word, the last with ``STOP``."""
    response_id = uuid.uuid4().hex[:20]
    chunks = text_chunks(text)
    events = []
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1
        body = _chunk(model, response_id, chunk, last, _usage(input_tokens, text) if last else None)
        events.append(f"data: {json.dumps(body, separators=(',', ':'))}\r\n\r\n".encode("utf-8"))
    return events
