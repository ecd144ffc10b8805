# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list_models table and the model checks of validate_models."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fmapi.coding_agents.plugins.filter.models import (
    FilterModule,
    configured_models,
    model_check_rows,
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


def test_configured_models_reads_the_four_roles_and_blanks_what_is_unset():
    install = dict(CONFIGURED, haiku=None, host="https://x.cloud.databricks.com")

    assert configured_models(install) == dict(CONFIGURED, haiku="")


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


def test_model_check_rows_add_the_setup_switch_to_problems_only():
    validation = [
        {"role": "model", "endpoint": "a", "status": "PASS", "message": "Endpoint 'a' exists and is READY.", "hint": ""},
        {"role": "opus", "endpoint": "b", "status": "WARN", "message": "not ready", "hint": "Wait until it is READY."},
        {"role": "sonnet", "endpoint": "c", "status": "FAIL", "message": "does not exist", "hint": ""},
        {"role": "haiku", "endpoint": None, "status": "SKIP", "message": "", "hint": ""},
    ]

    rows = model_check_rows(validation)

    assert rows == [
        {"status": "PASS", "label": "model", "value": "Endpoint 'a' exists and is READY."},
        {"status": "WARN", "label": "opus", "value": "not ready",
         "hint": "Wait until it is READY.\nTo switch: ansible-playbook fmapi.coding_agents.setup -e opus=<endpoint>"},
        {"status": "FAIL", "label": "sonnet", "value": "does not exist",
         "hint": "To switch: ansible-playbook fmapi.coding_agents.setup -e sonnet=<endpoint>"},
        {"status": "SKIP", "label": "haiku", "value": "not configured"},
    ]


@pytest.mark.parametrize("call", [
    lambda: model_table({"endpoints": []}, CONFIGURED),
    lambda: model_table([], ["model"]),
    lambda: model_check_rows({"validation": []}),
    lambda: model_check_rows(["PASS"]),
    lambda: configured_models(None),
])
def test_wrong_input_is_a_filter_error(call):
    with pytest.raises(AnsibleFilterError):
        call()


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"configured_models", "model_check_rows", "model_table"}
