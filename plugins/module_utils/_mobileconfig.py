# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""macOS configuration profiles (``.mobileconfig``) for the preference domains the agents read. Private to the
collection.

A profile is an XML property list: a ``Configuration`` payload (the profile, installed system-wide,
``PayloadScope`` ``System``) holding one payload whose ``PayloadType`` is the preference domain itself, the
"custom settings" form MDM tools (Jamf Pro, Kandji, Mosyle, Workspace ONE, Intune) and Anthropic's and OpenAI's
examples use. macOS writes its keys, other than the ``Payload*`` ones, to
``/Library/Managed Preferences/<domain>.plist``, where the agent reads them:

- Claude Code (``com.anthropic.claudecode``): the top-level keys of a managed settings file (``apiKeyHelper``,
  ``env``, ``permissions`` ...), nested objects as dictionaries, lists as arrays.
- Codex CLI (``com.openai.codex``): ``config_toml_base64``, the bytes of a ``managed_config.toml`` in base64
  (one line), a string.

The UUIDs are derived from the identifier and the domain, and the keys are written sorted, so the same input
gives the same bytes: a profile written again is not a change, and an MDM sees the same profile.
"""

from __future__ import annotations

import base64
import collections.abc
import datetime
import json
import math
import plistlib
import re
import typing as t
import uuid

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _managed as managed

DOMAINS = (managed.CLAUDE_PREFERENCE_DOMAIN, managed.CODEX_PREFERENCE_DOMAIN)
DOMAIN_LABELS = {
    managed.CLAUDE_PREFERENCE_DOMAIN: "Claude Code managed settings",
    managed.CODEX_PREFERENCE_DOMAIN: "Codex CLI managed configuration",
}
IDENTIFIER_PREFIX = "com.databricks.fmapi-coding-agents"
DEFAULT_ORGANIZATION = "FMAPI coding agents"
PROFILE_TYPE = "Configuration"
PROFILE_SCOPE = "System"
PAYLOAD_VERSION = 1
# The payload inside the profile: its identifier is the profile's with this suffix.
PAYLOAD_SUFFIX = ".settings"
# Keys of this prefix describe a payload; a preference key cannot have one.
RESERVED_PREFIX = "Payload"
# The namespace of the collection's UUIDs (uuid5): any fixed UUID would do, this one is derived from a name.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "fmapi-coding-agents.databricks.com")
# Reverse-DNS: two or more labels of letters, digits and hyphens (underscores tolerated), no empty label.
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")
MAX_IDENTIFIER_LENGTH = 255
# What an XML property list can hold as an integer.
MIN_INTEGER = -(2 ** 63)
MAX_INTEGER = 2 ** 64 - 1


class ProfileError(ValueError):
    """An input a profile cannot be made of; the message says what to fix."""


def validate_domain(domain: t.Any) -> str:
    """``domain`` if it is a preference domain of an agent, else ProfileError naming them."""
    if domain not in DOMAINS:
        raise ProfileError("domain must be one of %s, not %r" % (", ".join(DOMAINS), domain))
    return t.cast(str, domain)


def default_identifier(domain: str) -> str:
    """The profile identifier used when none is given, e.g. ``com.databricks.fmapi-coding-agents.com.openai.codex``."""
    return "%s.%s" % (IDENTIFIER_PREFIX, validate_domain(domain))


def validate_identifier(identifier: t.Any) -> str:
    """``identifier`` if it is reverse-DNS (``com.example.codex``), else ProfileError."""
    if not isinstance(identifier, str) or not IDENTIFIER_PATTERN.match(identifier) \
            or len(identifier) > MAX_IDENTIFIER_LENGTH:
        raise ProfileError("identifier must be in reverse-DNS form, letters, digits, '-' and '_' in two or more "
                           "labels joined by dots (for example com.example.fmapi.claudecode), not %r" % (identifier,))
    return identifier


def profile_uuid(identifier: str, domain: str) -> str:
    """The profile's PayloadUUID: the same for the same identifier and domain."""
    return str(uuid.uuid5(UUID_NAMESPACE, "profile\n%s\n%s" % (identifier, domain))).upper()


def payload_uuid(identifier: str, domain: str) -> str:
    """The preference payload's PayloadUUID: the same for the same identifier and domain."""
    return str(uuid.uuid5(UUID_NAMESPACE, "payload\n%s\n%s" % (identifier, domain))).upper()


def _check_value(value: t.Any, where: str) -> None:
    """ProfileError when ``value`` (at the dotted key ``where``) cannot be a property list value."""
    if isinstance(value, (bool, str, bytes, datetime.datetime)):
        return
    if isinstance(value, int):
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            raise ProfileError("%s: the integer %d is too large for a property list" % (where, value))
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProfileError("%s: %r has no property list form" % (where, value))
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProfileError("%s: the key %r is not a string; property list keys are strings" % (where, key))
            _check_value(item, "%s.%s" % (where, key))
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_value(item, "%s[%d]" % (where, index))
        return
    if value is None:
        raise ProfileError("%s is null, which a property list cannot hold: leave the key out" % where)
    raise ProfileError("%s: a %s cannot be a property list value" % (where, type(value).__name__))


def preference_keys(settings: t.Any) -> t.Dict[str, t.Any]:
    """The preference keys of a payload, checked: a mapping of string keys (none starting with ``Payload``) whose
    values a property list can hold (no null)."""
    if not isinstance(settings, collections.abc.Mapping):
        raise ProfileError("the settings must be a mapping of preference keys, not a %s" % type(settings).__name__)
    if not settings:
        raise ProfileError("the settings are empty: a profile without preference keys would enforce nothing")
    for key, value in settings.items():
        if not isinstance(key, str) or not key:
            raise ProfileError("preference keys are non-empty strings, not %r" % (key,))
        if key.startswith(RESERVED_PREFIX):
            raise ProfileError("%s cannot be a preference key: keys starting with %s describe the payload"
                               % (key, RESERVED_PREFIX))
        _check_value(value, key)
    return dict(settings)


def settings_from_json(raw: bytes, source: str) -> t.Dict[str, t.Any]:
    """The object of a JSON file (a managed settings file) as preference keys."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProfileError("%s is not a JSON file: %s" % (source, exc)) from None
    if not isinstance(data, dict):
        raise ProfileError("%s must hold a JSON object (its keys become the preference keys), not a %s"
                           % (source, type(data).__name__))
    return data


def settings_from_toml(raw: bytes) -> t.Dict[str, t.Any]:
    """Codex CLI's preference keys for the bytes of a ``managed_config.toml``: ``config_toml_base64``."""
    return {managed.CODEX_CONFIG_KEY: base64.b64encode(raw).decode("ascii")}


def build(domain: str, settings: t.Mapping[str, t.Any], identifier: t.Optional[str] = None,
          organization: t.Optional[str] = None, display_name: t.Optional[str] = None,
          description: t.Optional[str] = None, removal_disallowed: bool = False) -> t.Dict[str, t.Any]:
    """The profile as a dictionary: one preference payload for ``domain`` carrying ``settings``."""
    domain = validate_domain(domain)
    identifier = validate_identifier(identifier or default_identifier(domain))
    keys = preference_keys(settings)
    label = DOMAIN_LABELS[domain]
    payload = dict(keys)
    payload.update({
        "PayloadType": domain,
        "PayloadVersion": PAYLOAD_VERSION,
        "PayloadIdentifier": identifier + PAYLOAD_SUFFIX,
        "PayloadUUID": payload_uuid(identifier, domain),
        "PayloadDisplayName": label,
        "PayloadEnabled": True,
    })
    return {
        "PayloadType": PROFILE_TYPE,
        "PayloadVersion": PAYLOAD_VERSION,
        "PayloadIdentifier": identifier,
        "PayloadUUID": profile_uuid(identifier, domain),
        "PayloadDisplayName": display_name or "%s (Databricks FMAPI)" % label,
        "PayloadOrganization": organization or DEFAULT_ORGANIZATION,
        "PayloadDescription": description or (
            "Enforces the %s of the FMAPI coding agents setup (preference domain %s)." % (label, domain)),
        "PayloadScope": PROFILE_SCOPE,
        "PayloadRemovalDisallowed": bool(removal_disallowed),
        "PayloadContent": [payload],
    }


def render(profile: t.Mapping[str, t.Any]) -> bytes:
    """The XML property list of ``profile``, keys sorted (the same profile gives the same bytes)."""
    try:
        return plistlib.dumps(dict(profile), fmt=plistlib.PlistFormat.FMT_XML, sort_keys=True)
    except (TypeError, ValueError, OverflowError) as exc:
        # plistlib refuses control characters in strings, which XML cannot carry.
        raise ProfileError("the settings cannot be written as a property list: %s" % exc) from None


def parse(raw: bytes) -> t.Dict[str, t.Any]:
    """A profile read back (a property list whose top level is a dictionary), or ProfileError."""
    try:
        data = plistlib.loads(raw)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # plistlib raises InvalidFileException, ExpatError, ValueError ... depending on the damage.
        raise ProfileError("not a property list: %s" % exc) from None
    if not isinstance(data, dict):
        raise ProfileError("not a configuration profile: the property list is not a dictionary")
    return data


def payload_settings(profile: t.Mapping[str, t.Any], domain: str) -> t.Dict[str, t.Any]:
    """The preference keys of the payload of ``domain`` in ``profile`` (what lands in the managed preferences)."""
    for payload in profile.get("PayloadContent") or []:
        if isinstance(payload, dict) and payload.get("PayloadType") == domain:
            return {key: value for key, value in payload.items() if not key.startswith(RESERVED_PREFIX)}
    raise ProfileError("the profile has no payload for %s" % domain)
