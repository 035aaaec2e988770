"""AWS Bedrock batch inference records: `{recordId, modelInput}` with an Anthropic-on-Bedrock Messages body
(`anthropic_version`). `recordId` is optional (providers.md §6); a job needs at least 100 records."""

from __future__ import annotations

from planner.vendors._base import CHAT, MiB
from planner.vendors.anthropic import WrappedMessagesVendor

ANTHROPIC_VERSION = "bedrock-2023-05-31"

VENDORS = (
    WrappedMessagesVendor(
        "bedrock", "recordId", CHAT, format="bedrock", line_format="bedrock-batch", model_in_line=False,
        id_required=False, needs_max_tokens=True, body_key="modelInput", anthropic_version=ANTHROPIC_VERSION,
        default_limits={"max_requests": 50_000, "max_bytes": 1024 * MiB, "min_requests": 100},
    ),
)
