"""The real Codex CLI, run by the developer, answers through the workspace with a token it issued, although the
developer's config.toml picks OpenAI's o3: managed_config.toml wins."""

from __future__ import annotations

import tomllib

from managed_laptop import CODEX_MANAGED, HOME, TRUST, answered_with_a_token_the_workspace_issued, as_developer, \
    content, model_calls, prepared


def test_codex_answers_through_the_managed_provider_with_the_managed_model(host, double):
    assert content(host, f"{HOME}/.codex/config.toml") == prepared("user-codex-config.toml")
    managed = tomllib.loads(host.file(CODEX_MANAGED).content_string)
    model, route = managed["model"], managed["model_providers"]["databricks"]["base_url"][len(double.url):]
    assert model != "o3"

    double.clear_requests()
    result = as_developer(host, f"CODEX_CA_CERTIFICATE={TRUST} timeout 180 codex exec --skip-git-repo-check "
                                "'say hi' < /dev/null")
    answered_with_a_token_the_workspace_issued(result, double.expected_reply("codex", model, route),
                                               model_calls(double, route + "/responses"), model)
