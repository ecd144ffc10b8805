"""OpenAI Responses API bodies of the Codex route (``<prefix>/codex/v1/responses`` and ``/models``).

Pure functions that build what Codex CLI reads: the server-sent events of one streamed
answer (``response.created``, ``response.output_item.added``, ``response.output_text.delta``...,
``response.output_item.done`` with the whole assistant message, ``response.completed``), the
non-streamed response object, the ``/models`` list and OpenAI-shaped errors.
"""

from __future__ import annotations

import json
import time
import uuid

from .anthropic import estimate_tokens, text_chunks

# Codex reads ``/models`` as ``{"models": [ModelInfo...]}``; these instructions are what it sends as
# the system prompt for a model it found there (a listed model needs them).
BASE_INSTRUCTIONS = "You are Codex, a coding agent, answering through the FMAPI workspace double."


def error_body(message: str, error_type: str = "invalid_request_error", code: str | None = None) -> dict:
    """OpenAI-shaped error: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _ids() -> tuple[str, str]:
    hex_id = uuid.uuid4().hex
    return "resp_" + hex_id[:24], "msg_" + hex_id[8:32]


def _message(item_id: str, text: str | None, status: str = "completed") -> dict:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _usage(input_tokens: int, text: str) -> dict:
    output_tokens = estimate_tokens(text)
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def response_object(model: str, text: str, input_tokens: int, response_id: str | None = None,
                    item_id: str | None = None, status: str = "completed") -> dict:
    """A Responses API ``response`` object (the body of a non-streamed answer)."""
    new_response_id, new_item_id = _ids()
    done = status == "completed"
    return {
        "id": response_id or new_response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": [_message(item_id or new_item_id, text)] if done else [],
        "usage": _usage(input_tokens, text) if done else None,
        "error": None,
    }


def _event(data: dict) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode("utf-8")


def stream_events(model: str, text: str, input_tokens: int) -> list[bytes]:
    """The SSE events of one streamed answer, in order (what ``codex exec`` needs to print it)."""
    response_id, item_id = _ids()
    part = {"item_id": item_id, "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.created",
         "response": response_object(model, text, input_tokens, response_id, item_id, "in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": _message(item_id, None, "in_progress")},
    ]
    events += [dict(part, type="response.output_text.delta", delta=chunk) for chunk in text_chunks(text)]
    events += [
        dict(part, type="response.output_text.done", text=text),
        {"type": "response.output_item.done", "output_index": 0, "item": _message(item_id, text)},
        {"type": "response.completed", "response": response_object(model, text, input_tokens, response_id, item_id)},
    ]
    return [_event(dict(event, sequence_number=number)) for number, event in enumerate(events)]


def model_info(name: str, display_name: str, priority: int = 0) -> dict:
    """One entry of Codex's ``/models`` answer (the fields Codex 0.171.0 requires)."""
    return {
        "slug": name,
        "display_name": display_name,
        "description": f"{display_name} on the FMAPI workspace double",
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": [
            {"effort": "low", "description": "Fast answers"},
            {"effort": "medium", "description": "Balanced"},
            {"effort": "high", "description": "Thorough"},
        ],
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": True,
        "priority": priority,
        "upgrade": None,
        "base_instructions": BASE_INSTRUCTIONS,
        "supports_reasoning_summaries": False,
        "support_verbosity": False,
        "default_verbosity": None,
        "apply_patch_tool_type": None,
        "truncation_policy": {"mode": "tokens", "limit": 10000},
        "supports_parallel_tool_calls": False,
        "context_window": 272000,
        "experimental_supported_tools": [],
        "input_modalities": ["text"],
    }


def models_list(endpoints: list[tuple[str, str]]) -> dict:
    """``GET /models``: ``{"models": [...]}`` for ``(name, display_name)`` pairs."""
    return {"models": [model_info(name, display, priority) for priority, (name, display) in enumerate(endpoints)]}
