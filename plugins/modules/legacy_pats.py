#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: legacy_pats
short_description: Revoke the personal access tokens older FMAPI setup scripts created
version_added: 0.1.0
author: FMAPI coding agents maintainers (@fmapi)
description:
  - Older versions of the FMAPI setup script created a Databricks personal access token (PAT) for Claude Code
    and renewed it from a shell wrapper, each with a comment starting with C(Claude Code FMAPI). With OAuth and
    the token helper those tokens are not needed, and a long-lived token left behind is a risk, so this module
    revokes the user's tokens whose comment starts with O(comment_prefix).
  - Only the tokens of the user the credentials belong to are listed (C(GET /api/2.0/token/list)); tokens with
    other comments are never touched.
  - Token values are never read or returned; only their ids, comments and dates.
extends_documentation_fragment:
  - fmapi.coding_agents.attributes
  - fmapi.coding_agents.attributes.IDEMPOTENT
  - fmapi.coding_agents.databricks_auth
attributes:
  check_mode:
    support: full
    details:
      - Lists the tokens that would be revoked and revokes none.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  comment_prefix:
    description: Tokens whose comment starts with this are revoked.
    type: str
    default: Claude Code FMAPI
requirements:
  - databricks-sdk >= 0.40.0
"""

EXAMPLES = r"""
- name: Revoke the PATs of older FMAPI setups
  fmapi.coding_agents.legacy_pats:
    profile: fmapi-claudecode-profile
  vars:
    ansible_python_interpreter: "{{ databricks_cli_python }}"
"""

RETURN = r"""
revoked:
  description: The tokens revoked (in check mode, the ones that would be).
  returned: success
  type: list
  elements: dict
  contains:
    token_id:
      description: The token's id.
      type: str
    comment:
      description: The token's comment.
      type: str
    creation_time:
      description: When it was created, in milliseconds since the epoch.
      type: int
    expiry_time:
      description: When it expires, in milliseconds since the epoch (V(-1) for never).
      type: int
  sample: [{token_id: 5684c955822ac792a51ae2aeb80e2b3a, comment: Claude Code FMAPI (created 2025-11-02),
            creation_time: 1762070400000, expiry_time: 1762675200000}]
host:
  description: The workspace.
  returned: success
  type: str
token_api:
  description:
    - V(ok), or V(refused) when the workspace answered the token listing with HTTP 403 (personal access tokens
      disabled). A refusal is not a failure - there is nothing this module can revoke there - and a warning says so.
  returned: success
  type: str
  sample: ok
"""

from ansible_collections.fmapi.coding_agents.plugins.module_utils._databricks_sdk import DatabricksSdkModule, http_status

TOKEN_API_REFUSED = (
    "%s refuses the token API (HTTP 403), as workspaces that disable personal access tokens do, so no token was "
    "listed or revoked. Older setups could not have created tokens there either; if you see tokens named '%s...' "
    "under Settings > Developer > Access tokens in the workspace, revoke them there.")


def matching_tokens(token_infos: list, prefix: str) -> list:
    """The token infos whose comment starts with prefix, in a stable order, without anything secret."""
    found = []
    for info in token_infos or []:
        comment = info.get("comment") or ""
        if info.get("token_id") and comment.startswith(prefix):
            found.append(dict(token_id=info["token_id"], comment=comment,
                              creation_time=info.get("creation_time"), expiry_time=info.get("expiry_time")))
    return sorted(found, key=lambda entry: (entry["creation_time"] or 0, entry["token_id"]))


def main() -> None:
    sdk_module = DatabricksSdkModule(
        argument_spec=dict(comment_prefix=dict(type="str", default="Claude Code FMAPI")),
        supports_check_mode=True,
    )
    sdk_module.require_sdk()
    prefix = sdk_module.params["comment_prefix"]
    if not prefix.strip():
        sdk_module.fail_json(msg="comment_prefix must not be empty: it would revoke every token of the user")
    access = sdk_module.access
    revoked = []
    with sdk_module.workspace_client("revoke legacy personal access tokens") as client:
        try:
            listing = client.api_client.do("GET", "/api/2.0/token/list") or {}
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if http_status(exc) != 403:
                raise
            sdk_module.warn(TOKEN_API_REFUSED % (access.host, prefix))
            sdk_module.exit_json(changed=False, revoked=[], host=access.host, token_api="refused")
        revoked = matching_tokens(listing.get("token_infos"), prefix)
        if not sdk_module.check_mode:
            for entry in revoked:
                client.api_client.do("POST", "/api/2.0/token/delete", body={"token_id": entry["token_id"]})
    sdk_module.exit_json(changed=bool(revoked), revoked=revoked, host=access.host, token_api="ok")


if __name__ == "__main__":
    main()
