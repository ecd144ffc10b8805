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

import re
import typing as t

from ansible_collections.fmapi.coding_agents.plugins.module_utils._claude_settings import (
    DEFAULT_HAIKU_MODEL,
    DEFAULT_MODEL,
    DEFAULT_OPUS_MODEL,
    DEFAULT_SONNET_MODEL,
    DEFAULT_TTL_MINUTES,
    MAX_TTL_MINUTES,
    MIN_TTL_MINUTES,
)

CONFIG_VERSION = 1
VALUE_KEYS = ("host", "profile", "model", "opus", "sonnet", "haiku", "ttl", "settings_location")
CONFIG_KEYS = ("version",) + VALUE_KEYS
# The values an earlier install can tell (claude_settings_info's return names).
PREVIOUS_KEYS = {"host": "host", "profile": "profile", "model": "model", "opus": "opus", "sonnet": "sonnet",
                 "haiku": "haiku", "ttl": "ttl_minutes"}
DEFAULTS = {
    "profile": "fmapi-claudecode-profile",
    "model": DEFAULT_MODEL,
    "opus": DEFAULT_OPUS_MODEL,
    "sonnet": DEFAULT_SONNET_MODEL,
    "haiku": DEFAULT_HAIKU_MODEL,
    "ttl": DEFAULT_TTL_MINUTES,
    "settings_location": "home",
}
PROFILE_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
# Endpoint names: letters, digits, '-', '_' and '.', as Databricks allows.
MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_CONFIG_BYTES = 64 * 1024


class ConfigError(ValueError):
    """A value or a config file is not acceptable; the message says what to fix."""


def _given(value: t.Any) -> bool:
    return value is not None and value != ""


def normalize_host(host: t.Any, source: str) -> str:
    """An https:// workspace URL without trailing slashes."""
    text = str(host).strip()
    if not text.lower().startswith("https://") or len(text) <= len("https://"):
        raise ConfigError(f"host from {source} must be the workspace URL starting with https://, got {text!r} "
                          "(for example https://my-workspace.cloud.databricks.com)")
    if any(char.isspace() for char in text) or any(char in text for char in "\"'`$;|&<>\\"):
        raise ConfigError(f"host from {source} contains characters a workspace URL cannot have: {text!r}")
    return text.rstrip("/")


def validate_value(key: str, value: t.Any, source: str) -> t.Any:
    """The value in canonical form, or ConfigError naming the key, the source and the fix."""
    if key == "host":
        return normalize_host(value, source)
    if key == "profile":
        text = str(value).strip()
        if not PROFILE_PATTERN.match(text):
            raise ConfigError(f"profile from {source} may contain only letters, digits, '-' and '_', got {text!r}")
        return text
    if key in ("model", "opus", "sonnet", "haiku"):
        text = str(value).strip()
        if not MODEL_PATTERN.match(text):
            raise ConfigError(f"{key} from {source} must be a serving endpoint name "
                              f"(letters, digits, '.', '-', '_'), got {text!r}")
        return text
    if key == "ttl":
        if isinstance(value, bool):
            raise ConfigError(f"ttl from {source} must be a whole number of minutes, got {value!r}")
        try:
            minutes = int(str(value).strip())
        except ValueError:
            raise ConfigError(f"ttl from {source} must be a whole number of minutes, got {value!r}") from None
        if not MIN_TTL_MINUTES <= minutes <= MAX_TTL_MINUTES:
            raise ConfigError(f"ttl from {source} must be between {MIN_TTL_MINUTES} and {MAX_TTL_MINUTES} minutes, "
                              f"got {minutes}")
        return minutes
    if key == "settings_location":
        text = str(value).strip()
        if not text:
            raise ConfigError(f"settings_location from {source} must be home, cwd or a path")
        return text
    raise ConfigError(f"unknown key {key!r} from {source}")


def validate_config_data(data: t.Any, source: str) -> t.Dict[str, t.Any]:
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
    return {key: validate_value(key, data[key], source) for key in VALUE_KEYS if _given(data.get(key))}


def resolve(command_line: t.Dict[str, t.Any], config: t.Dict[str, t.Any], config_source: str,
            previous: t.Dict[str, t.Any]) -> t.Tuple[t.Dict[str, t.Any], t.Dict[str, str]]:
    """(values, sources): each value from the highest-precedence place that has it."""
    layers = [("command line", {key: validate_value(key, value, "the command line")
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
