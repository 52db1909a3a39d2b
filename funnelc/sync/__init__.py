"""``funnelc plan`` / ``funnelc apply``: bring a live amoCRM or Bitrix24 account in line with
the funnels (docs/sync.md).

- :mod:`.redact` — every string that leaves goes through one redaction layer;
- :mod:`.lock` — ``funnel.lock.json``: key → CRM id, per target and account;
- :mod:`.client` — httpx clients with the vendors' rate limits by construction, bounded retries;
- :mod:`.read` — the account's current state as the targets' typed states (keys from the lock);
- :mod:`.plan` — desired vs current → a plan (operations, deal counts, what is held back);
- :mod:`.apply` — the plan's operations as requests, the lock written after each step.
"""
