# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The setup's values: where each comes from, and what makes one valid. Private to the collection.

Precedence, highest first: the command line, a config file or config URL, what an earlier
install wrote, the defaults. The config file format is the original setup script's:
a JSON or YAML object with the keys in CONFIG_KEYS (``version`` must be 1).
"""

from __future__ import annotations

import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed
from ansible_collections.fmapi.coding_agents.plugins.module_utils import _workspace as ws

CONFIG_VERSION = 1
VALUE_KEYS = ("host", "profile", "model", "opus", "sonnet", "haiku", "ttl", "settings_location",
              "agents", "endpoint_style", "codex_model", "gemini_model", "settings_scope")
CONFIG_KEYS = ("version",) + VALUE_KEYS
# The values an earlier install can tell (claude_code_info's return names).
PREVIOUS_KEYS = {"host": "host", "profile": "profile", "model": "model", "opus": "opus", "sonnet": "sonnet",
                 "haiku": "haiku", "ttl": "ttl_minutes", "endpoint_style": "gateway",
                 "agents": "agents", "codex_model": "codex_model", "gemini_model": "gemini_model",
                 "settings_scope": "settings_scope"}
DEFAULTS = {
    "profile": ws.DEFAULT_PROFILE,
    "model": ws.DEFAULT_MODEL,
    "opus": ws.DEFAULT_OPUS_MODEL,
    "sonnet": ws.DEFAULT_SONNET_MODEL,
    "haiku": ws.DEFAULT_HAIKU_MODEL,
    "ttl": ws.DEFAULT_TTL_MINUTES,
    "settings_location": ws.DEFAULT_SETTINGS_LOCATION,
    "agents": list(ws.DEFAULT_AGENTS),
    "endpoint_style": ws.ENDPOINT_STYLE_SERVING_ENDPOINTS,
    "codex_model": ws.DEFAULT_CODEX_MODEL,
    "gemini_model": ws.DEFAULT_GEMINI_MODEL,
    "settings_scope": managed.SCOPE_USER,
}
MAX_CONFIG_BYTES = 64 * 1024


class ConfigError(ValueError):
    """A value or a config file is not acceptable; the message says what to fix."""


def _given(value: t.Any) -> bool:
    return value is not None and value != ""


def validate_value(key: str, value: t.Any, source: str, notes: t.Optional[t.List[str]] = None) -> t.Any:
    """The value in canonical form, or ConfigError naming the key, the source and the fix.

    What was dropped from a host to get the workspace URL is appended to ``notes``.
    """
    try:
        if key == "host":
            host = ws.parse_host(value if isinstance(value, str) else str(value))
            if host.note and notes is not None:
                notes.append("host from %s: %s" % (source, host.note))
            return host.url
        if key == "profile":
            return ws.validate_profile(value if isinstance(value, str) else str(value))
        if key in ("model", "opus", "sonnet", "haiku", "codex_model", "gemini_model"):
            return ws.validate_model(key, value if isinstance(value, str) else str(value))
        if key == "ttl":
            return ws.validate_ttl(value)
        if key == "agents":
            return ws.validate_agents(value)
        if key == "endpoint_style":
            return ws.validate_endpoint_style(value)
        if key == "settings_scope":
            return managed.validate_scope(value)
    except ws.ValidationError as exc:
        raise ConfigError("%s (from %s)" % (str(exc).rstrip("."), source)) from None
    if key == "settings_location":
        text = str(value).strip()
        if not text:
            raise ConfigError(f"settings_location from {source} must be home, cwd or a path")
        return text
    raise ConfigError(f"unknown key {key!r} from {source}")


def validate_config_data(data: t.Any, source: str, notes: t.Optional[t.List[str]] = None) -> t.Dict[str, t.Any]:
    """The values of a parsed config file or URL, validated; unknown keys are rejected."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must hold a JSON or YAML object with the keys {', '.join(CONFIG_KEYS)}")
    unknown = sorted(str(key) for key in data if key not in CONFIG_KEYS)
    if unknown:
        raise ConfigError(f"{source} has unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(CONFIG_KEYS)}")
    version = data.get("version", CONFIG_VERSION)
    if version != CONFIG_VERSION and str(version) != str(CONFIG_VERSION):
        raise ConfigError(f"{source} has version {version!r}; this collection reads version {CONFIG_VERSION}")
    return {key: validate_value(key, data[key], source, notes) for key in VALUE_KEYS if _given(data.get(key))}


def resolve(command_line: t.Dict[str, t.Any], config: t.Dict[str, t.Any], config_source: str,
            previous: t.Dict[str, t.Any], notes: t.Optional[t.List[str]] = None
            ) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, str]]:
    """(values, sources): each value from the highest-precedence place that has it.

    What was dropped from a given host to get the workspace URL is appended to ``notes``.
    """
    layers = [("command line", {key: validate_value(key, value, "the command line", notes)
                                for key, value in (command_line or {}).items() if key in VALUE_KEYS and _given(value)}),
              (config_source, config)]
    earlier = {}
    for key, info_key in PREVIOUS_KEYS.items():
        value = (previous or {}).get(info_key)
        if _given(value):
            try:
                earlier[key] = validate_value(key, value, "the earlier install")
            except ConfigError:
                # A hand-edited or damaged earlier value is ignored, not fatal: the default applies.
                continue
    layers.append(("earlier install", earlier))
    layers.append(("default", DEFAULTS))
    values, sources = {}, {}
    for key in VALUE_KEYS:
        for name, layer in layers:
            if key in layer:
                values[key] = layer[key]
                sources[key] = name
                break
    return values, sources
