"""Properties of the settings merge that hold for any settings file a user may have (Hypothesis).

- the user's keys survive any merge, with their values and in their order;
- merging the FMAPI keys in and removing them again gives back the user's bytes;
- a second merge changes nothing.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.fmapi.coding_agents.plugins.module_utils import _claude_settings as cs
from ansible_collections.fmapi.coding_agents.plugins.modules.claude_settings import merge_absent, merge_present

HOST = "https://my-workspace.cloud.databricks.com"
HELPER = "/home/dev/.claude/fmapi-token-helper"
ENV_VALUES = cs.desired_env(HOST, cs.GATEWAY_SERVING_ENDPOINTS, "databricks-claude-opus-4-6",
                            "databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5",
                            30)
OURS_AT_TOP = {cs.API_KEY_HELPER, cs.ENV, cs.PERMISSIONS} | set(cs.LEGACY_TOP_LEVEL_KEYS)
OURS_IN_ENV = set(cs.OWNED_ENV_KEYS) | set(cs.LEGACY_ENV_KEYS)

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=20) | \
    st.floats(allow_nan=False, allow_infinity=False, width=32)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                           max_leaves=8)


@st.composite
def user_settings(draw):
    """A settings file of the user's own: any keys and values, an env of strings, permissions with rules."""
    data = draw(st.dictionaries(keys.filter(lambda key: key not in OURS_AT_TOP), json_values, max_size=6))
    if draw(st.booleans()):
        data[cs.ENV] = draw(st.dictionaries(keys.filter(lambda key: key not in OURS_IN_ENV), st.text(max_size=20),
                                            max_size=5))
    if draw(st.booleans()):
        rules = draw(st.lists(st.sampled_from(["Bash(rm:*)", "Read(.env)", "WebFetch", "WebSearch"]), max_size=3,
                              unique=True))
        data[cs.PERMISSIONS] = dict(draw(st.dictionaries(st.sampled_from(["allow", "ask"]),
                                                         st.lists(st.text(max_size=10), max_size=2), max_size=2)),
                                    deny=rules)
    return data


def merged(data, record=None, deny_web_search=True):
    return merge_present(data, ENV_VALUES, HELPER, deny_web_search, record, path="settings.json")


RUNS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@RUNS
@given(user_settings())
def test_the_users_keys_survive_any_merge_in_their_order(data):
    result = merged(data)

    ours = {key: value for key, value in result.data.items() if key not in OURS_AT_TOP}
    assert list(ours) == [key for key in data if key not in OURS_AT_TOP]
    assert ours == {key: value for key, value in data.items() if key not in OURS_AT_TOP}
    for key, value in data.get(cs.ENV, {}).items():
        assert result.data[cs.ENV][key] == value
    for rule in data.get(cs.PERMISSIONS, {}).get("deny", []):
        assert rule in result.data[cs.PERMISSIONS]["deny"]
    assert result.data[cs.API_KEY_HELPER] == HELPER
    assert {key: result.data[cs.ENV][key] for key in ENV_VALUES} == ENV_VALUES


@RUNS
@given(user_settings(), st.sampled_from([2, 4, "\t"]), st.booleans())
def test_merge_then_remove_gives_back_the_users_bytes(data, indent, bom):
    original = cs.render_settings(data, indent, bom)
    parsed = cs.parse_settings(original, "settings.json")

    present = merged(parsed.data)
    written = cs.render_settings(present.data, parsed.indent, parsed.bom)
    reparsed = cs.parse_settings(written, "settings.json")
    absent = merge_absent(reparsed.data, present.record, path="settings.json")

    assert cs.render_settings(absent.data, reparsed.indent, reparsed.bom) == original


@RUNS
@given(user_settings())
def test_a_second_merge_changes_nothing(data):
    first = merged(data)
    written = cs.render_settings(first.data)

    second = merged(cs.parse_settings(written, "settings.json").data, first.record)

    assert second.data == first.data and second.set_keys == [] and second.removed_keys == []
    assert cs.render_settings(second.data) == written
    assert (second.record or {}) == (first.record or {}) or json.dumps(second.record) == json.dumps(first.record)
