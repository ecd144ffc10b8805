"""The token helper's metadata line, and the values of the original setup script's helper."""

from __future__ import annotations

from ansible_collections.fmapi.coding_agents.plugins.module_utils._helper_metadata import (
    read_helper_metadata,
    read_legacy_helper_values,
    render_helper_metadata,
)
from ansible_collections.fmapi.coding_agents.plugins.module_utils._token_helper import render_helper

LEGACY_HELPER = '''#!/bin/sh
set -eu

FMAPI_PROFILE="team-profile"
FMAPI_HOST="https://adb-1.azuredatabricks.net"

token=$(databricks auth token --profile "$FMAPI_PROFILE" --output json | jq -r .access_token)
'''


def test_metadata_round_trips_through_a_script():
    line = render_helper_metadata(profile="p", host="https://h", ttl_minutes=30)
    script = "#!/usr/bin/python3\n" + line + "\nprint('x')\n"
    assert read_helper_metadata(script) == {"version": 1, "profile": "p", "host": "https://h", "ttl_minutes": 30}


def test_metadata_far_below_the_header_is_not_trusted():
    script = "\n" * 30 + render_helper_metadata(profile="p")
    assert read_helper_metadata(script) is None


def test_damaged_metadata_reads_as_none():
    assert read_helper_metadata("# fmapi-coding-agents-helper: {not json\n") is None
    assert read_helper_metadata("# fmapi-coding-agents-helper: [1, 2]\n") is None


def test_the_original_scripts_helper_tells_profile_and_host():
    assert read_legacy_helper_values(LEGACY_HELPER) == {"profile": "team-profile",
                                                        "host": "https://adb-1.azuredatabricks.net"}


def test_the_oldest_helper_names_are_read_too():
    text = 'PROFILE="old"\nHOST="https://old.cloud.databricks.com"\n'
    assert read_legacy_helper_values(text) == {"profile": "old", "host": "https://old.cloud.databricks.com"}


def test_values_with_shell_expansions_are_not_taken():
    assert read_legacy_helper_values('FMAPI_PROFILE="$(whoami)"\nFMAPI_HOST="https://x`id`"\n') == {}


def test_the_token_helper_carries_its_settings_on_its_second_line():
    text = render_helper("/usr/bin/python3", "/usr/local/bin/databricks", "p1", "https://h.example.com", 15, 60)

    assert text.splitlines()[1].startswith("# fmapi-coding-agents-helper: ")
    assert read_helper_metadata(text) == {
        "version": 1, "interpreter": "/usr/bin/python3", "databricks_cli": "/usr/local/bin/databricks",
        "profile": "p1", "host": "https://h.example.com", "ttl_minutes": 15, "login_timeout": 60}
