# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The metadata line a generated token helper carries. Private to the collection.

The token helper (module token_helper) writes one comment line near its top:

    # fmapi-coding-agents-helper: {"version": 1, "profile": "...", "host": "...", ...}

so that a later run (module claude_code_info) can tell what an earlier install configured
without executing anything. The JSON is a single line with sorted keys. Other generated scripts (the
Gemini CLI launcher, see _gemini.py) carry the same kind of line under their own marker.
"""

from __future__ import annotations

import json
import re
import typing as t

MARKER = "# fmapi-coding-agents-helper: "
FORMAT_VERSION = 1
# Only the first lines are searched: the marker belongs to the header.
_SEARCH_LINES = 20
# The original setup script's helper (fmapi-key-helper.sh) kept its values in shell variables,
# FMAPI_PROFILE="..." / FMAPI_HOST="..." (older: PROFILE= / HOST=).
_LEGACY_ASSIGNMENT = re.compile(r'^(?:FMAPI_)?(PROFILE|HOST)="([^"$`\\]*)"\s*$')


def render_helper_metadata(marker: str = MARKER, **values: t.Any) -> str:
    """The metadata comment line (without newline) for the given values, under ``marker``."""
    data = {"version": FORMAT_VERSION}
    data.update(values)
    return marker + json.dumps(data, sort_keys=True, separators=(", ", ": "))


def read_helper_metadata(text: str, marker: str = MARKER) -> t.Optional[t.Dict[str, t.Any]]:
    """The metadata dict of a script's text (under ``marker``), or None when it carries none (or it is unreadable)."""
    for line in text.splitlines()[:_SEARCH_LINES]:
        if line.startswith(marker):
            try:
                data = json.loads(line[len(marker):])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def read_legacy_helper_values(text: str) -> t.Dict[str, str]:
    """``profile`` and ``host`` of a helper the original setup script wrote, as far as it names them."""
    values: t.Dict[str, str] = {}
    for line in text.splitlines():
        match = _LEGACY_ASSIGNMENT.match(line.strip())
        if match and match.group(2):
            values.setdefault(match.group(1).lower(), match.group(2))
    return values
