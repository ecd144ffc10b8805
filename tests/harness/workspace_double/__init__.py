"""FMAPI workspace double: a local HTTPS stand-in for a Databricks workspace.

It speaks enough of the real wire protocol (OAuth U2M with PKCE and refresh
token rotation, serving endpoints, the legacy token API, SCIM ``Me`` and the
model routes) for the real Databricks CLI, the real
databricks-sdk, the real Claude Code, Codex CLI and Gemini CLI to run against it
unmodified (Anthropic Messages, OpenAI Responses and Gemini generateContent routes,
under ``/serving-endpoints/...`` and ``/ai-gateway/...``).  See
``tests/harness/README.md``.

The server side needs ``cryptography`` (for its certificates) and is imported
lazily, so ``workspace_double.control.DoubleClient`` works with the standard
library alone.
"""

from __future__ import annotations

import importlib

from .control import ControlError, DoubleClient

_LAZY = {
    "STATE_FILE": "server",
    "WorkspaceDouble": "server",
    "DEFAULT_AGENT_REPLY_TEXT": "state",
    "DEFAULT_REPLY_TEXT": "state",
    "DoubleState": "state",
    "default_scenario": "state",
}

__all__ = ["ControlError", "DoubleClient", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
