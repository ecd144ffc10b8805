"""The customer's own managed files: Claude Code's untouched, Codex CLI's with our provider merged in."""

from __future__ import annotations

import tomllib

from managed_laptop import CODEX_MANAGED, CUSTOMER_CLAUDE, HELPER, content, owners_and_modes, prepared


def test_the_customers_claude_code_managed_settings_are_byte_for_byte_theirs(host):
    assert content(host, CUSTOMER_CLAUDE) == prepared("customer-managed-settings.json")
    assert owners_and_modes(host, CUSTOMER_CLAUDE) == {CUSTOMER_CLAUDE: ("root", "root", 0o644)}


def test_codex_managed_config_keeps_every_line_of_the_customer_beside_our_provider(host, double):
    text = host.file(CODEX_MANAGED).content_string
    lines = iter(text.splitlines())
    # In their order (ours go where TOML wants them: top-level keys before the tables).
    assert all(line in lines for line in prepared("customer-managed_config.toml").decode().splitlines()), text
    config = tomllib.loads(text)
    assert config["approval_policy"] == "on-request"
    assert config["sandbox_workspace_write"] == {"network_access": False}
    assert config["model_provider"] == "databricks"
    provider = config["model_providers"]["databricks"]
    assert provider["base_url"].startswith(double.url + "/")
    assert provider["auth"]["command"] == HELPER
