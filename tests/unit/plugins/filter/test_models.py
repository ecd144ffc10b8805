# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list_models table (model_table, the one filter of the collection)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.models import (
    FilterModule,
    model_table,
)


def endpoint(name, ready="READY", state=None, endpoint_type="FOUNDATION_MODEL_API", task="llm/v1/chat"):
    return {"name": name, "ready": ready, "state": state or ready, "endpoint_type": endpoint_type, "task": task}


ENDPOINTS = [
    endpoint("databricks-claude-haiku-4-5"),
    endpoint("databricks-claude-opus-4-6", ready="NOT_READY"),
    endpoint("databricks-claude-sonnet-4-6", state="READY (configuration update in progress)"),
    endpoint("databricks-gpt-5-2"),
    endpoint("my-Anthropic-proxy", endpoint_type="EXTERNAL_MODEL"),
    endpoint("databricks-gte-large-en", task="llm/v1/embeddings"),
]
CONFIGURED = {"model": "databricks-claude-opus-4-6", "opus": "databricks-claude-opus-4-6",
              "sonnet": "databricks-claude-sonnet-4-6", "haiku": "databricks-claude-haiku-4-5"}


def test_the_table_lists_claude_and_anthropic_endpoints_and_marks_the_configured_ones():
    table = model_table(ENDPOINTS, CONFIGURED)

    assert table["columns"] == ["ENDPOINT", "STATE", "TYPE", "TASK", "USED AS"]
    assert [(row["marked"], row["cells"]) for row in table["rows"]] == [
        (True, ["databricks-claude-haiku-4-5", "READY", "FOUNDATION_MODEL_API", "llm/v1/chat", "haiku"]),
        (True, ["databricks-claude-opus-4-6", "NOT_READY", "FOUNDATION_MODEL_API", "llm/v1/chat", "model, opus"]),
        (True, ["databricks-claude-sonnet-4-6", "READY (configuration update in progress)", "FOUNDATION_MODEL_API",
                "llm/v1/chat", "sonnet"]),
        (False, ["my-Anthropic-proxy", "READY", "EXTERNAL_MODEL", "llm/v1/chat", "-"]),
    ]
    assert all(row["status_column"] == 1 for row in table["rows"])
    assert "4 Claude endpoints of 6; -e all_models=true lists every endpoint." in table["legend"]
    assert table["legend"].startswith("> configured for Claude Code")


@pytest.mark.parametrize("all_models", [True, "true", "yes", "1"])
def test_all_models_lists_every_endpoint(all_models):
    table = model_table(ENDPOINTS, CONFIGURED, all_models)

    assert [row["cells"][0] for row in table["rows"]] == [item["name"] for item in ENDPOINTS]
    assert "6 serving endpoints." in table["legend"]


@pytest.mark.parametrize("all_models", [False, "false", "no", "0", ""])
def test_all_models_false_in_any_spelling_keeps_the_filter(all_models):
    assert len(model_table(ENDPOINTS, CONFIGURED, all_models)["rows"]) == 4


def test_configured_models_the_workspace_lacks_are_named_in_the_legend():
    table = model_table(ENDPOINTS, dict(CONFIGURED, sonnet="databricks-claude-sonnet-9"))

    assert ("Configured but not in the workspace: databricks-claude-sonnet-9 (sonnet); "
            "ansible-playbook fmapi.coding_agents.validate_models explains.") in table["legend"]


def test_a_workspace_without_claude_endpoints_says_so():
    table = model_table([endpoint("databricks-gpt-5-2")], CONFIGURED)

    assert table["rows"] == []
    assert table["legend"].startswith("No Claude or Anthropic endpoints among the 1 of this workspace")


@pytest.mark.parametrize("call", [
    lambda: model_table({"endpoints": []}, CONFIGURED),
    lambda: model_table([], ["model"]),
    lambda: model_table(None, CONFIGURED),
])
def test_wrong_input_is_a_filter_error(call):
    with pytest.raises(AnsibleFilterError):
        call()


def test_the_filters_are_registered():
    assert FilterModule().filters() == {"model_table": model_table}


def test_unset_roles_mark_nothing_and_an_endpoint_used_twice_names_both_roles():
    table = model_table(ENDPOINTS, {"model": "databricks-claude-haiku-4-5", "opus": "", "sonnet": None,
                                    "haiku": "databricks-claude-haiku-4-5"})

    assert [row["cells"][4] for row in table["rows"] if row["marked"]] == ["model, haiku"]
    assert "Configured but not in the workspace" not in table["legend"]


def test_an_endpoint_without_state_or_type_shows_placeholders():
    table = model_table([{"name": "claude-proxy"}], {})

    assert table["rows"] == [{"cells": ["claude-proxy", "UNKNOWN", "-", "-", "-"], "marked": False,
                              "status_column": 1}]
    assert table["legend"].endswith("1 Claude endpoints of 1; -e all_models=true lists every endpoint.")
