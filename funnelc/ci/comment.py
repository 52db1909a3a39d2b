"""The GitHub Action's pull-request comment: post the funnel diff once, then update it in place.

Run by ``action.yml`` as ``python -m funnelc.ci.comment --command CMD``.  The command (by
default ``funnelc diff --against "$FUNNELC_BASE" --format markdown``) prints the comment's
Markdown; this module prefixes a hidden marker (``<!-- funnelc-diff -->``), lists the pull
request's comments (100 a page, following the ``Link`` headers), and PATCHes the first one that
carries the marker, or POSTs a new one.  So a pull request has one funnelc comment however many
times the workflow runs.

A command that fails with no output posts nothing (exit 1); one that fails after printing
Markdown has it posted, and its exit status becomes the step's.  Nothing is posted, and the
exit status is 0, when the event is not a ``pull_request`` or the pull
request comes from a fork (``pull_request.head.repo.full_name`` is not ``GITHUB_REPOSITORY``):
there the token cannot write.  Everything else comes from the environment GitHub sets:
``GITHUB_API_URL`` (so a test can point it at a local fake), ``GITHUB_REPOSITORY``,
``GITHUB_EVENT_NAME``, ``GITHUB_EVENT_PATH``, ``GITHUB_OUTPUT``, and the token in
``GITHUB_TOKEN``.  Standard library only: the Action installs nothing more for it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MARKER = "<!-- funnelc-diff -->"
LIMIT = 65536
"""GitHub's limit on a comment body, in characters."""
DEFAULT_COMMAND = 'funnelc diff --against "$FUNNELC_BASE" --format markdown'
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


class GitHubError(Exception):
    """The API answered with an error status, or not at all."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the comment goes: ``api`` base URL, ``owner/name`` and the pull request number."""

    api: str
    repository: str
    number: int


def target_from_event(environ: Mapping[str, str]) -> tuple[Target | None, str]:
    """The pull request to comment on, or ``None`` and the reason for not commenting."""
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event != "pull_request":
        return None, f"not a pull_request event ({event or 'none'}): no comment"
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return None, "GITHUB_EVENT_PATH is not set: no comment"
    with open(path, encoding="utf-8") as stream:  # noqa: PTH123
        payload = json.load(stream)
    pull = payload.get("pull_request") or {}
    repository = environ.get("GITHUB_REPOSITORY", "")
    head = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    if head != repository:
        return None, f"pull request from a fork ({head}): the token cannot comment here"
    number = pull.get("number") or payload.get("number")
    if not isinstance(number, int):
        return None, "the event has no pull request number: no comment"
    api = environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    return Target(api, repository, number), ""


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header."""
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return str(url)
    return None


class Client:
    """The few REST calls the comment needs, over ``urllib``."""

    def __init__(self, token: str, *, timeout: float = 30.0) -> None:
        self.token = token
        self.timeout = timeout

    def request(
        self, method: str, url: str, body: Mapping[str, Any] | None = None
    ) -> tuple[Any, str | None]:
        """The decoded JSON answer and its ``Link`` header."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("User-Agent", "funnelc-action")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
                link = response.headers.get("Link")
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:500]
            raise GitHubError(f"{method} {url}: HTTP {error.code} {detail}") from error
        except OSError as error:
            raise GitHubError(f"{method} {url}: {error}") from error
        return (json.loads(payload) if payload else None), link

    def comments(self, target: Target) -> Iterator[dict[str, Any]]:
        """Every comment of the pull request, page by page."""
        url: str | None = (
            f"{target.api}/repos/{target.repository}/issues/{target.number}/comments?per_page=100"
        )
        while url is not None:
            page, link = self.request("GET", url)
            yield from page or []
            url = next_link(link)


def body_of(markdown: str) -> str:
    """The comment: the marker, then the Markdown, cut to GitHub's limit if it must be."""
    body = f"{MARKER}\n{markdown.rstrip()}\n"
    if len(body) <= LIMIT:
        return body
    note = "\n\n*(cut to GitHub's comment limit; run the command locally for the rest)*\n"
    return body[: LIMIT - len(note)] + note


def upsert(client: Client, target: Target, body: str) -> tuple[str, dict[str, Any]]:
    """Update the comment carrying the marker, or create it: (``created``, ``updated`` or
    ``unchanged``; the comment)."""
    for comment in client.comments(target):
        if MARKER in (comment.get("body") or ""):
            if comment.get("body") == body:
                return "unchanged", comment
            url = f"{target.api}/repos/{target.repository}/issues/comments/{comment['id']}"
            updated, _link = client.request("PATCH", url, {"body": body})
            return "updated", updated
    url = f"{target.api}/repos/{target.repository}/issues/{target.number}/comments"
    created, _link = client.request("POST", url, {"body": body})
    return "created", created


def _set_outputs(environ: Mapping[str, str], values: Mapping[str, str]) -> None:
    path = environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as stream:  # noqa: PTH123
        for key, value in values.items():
            stream.write(f"{key}={value}\n")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m funnelc.ci.comment", description=__doc__)
    parser.add_argument(
        "--command",
        default=DEFAULT_COMMAND,
        help="a bash command whose standard output is the comment's Markdown",
    )
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    target, reason = target_from_event(env)
    if target is None:
        print(f"funnelc comment: {reason}", file=sys.stderr)
        return 0
    run = subprocess.run(
        ["bash", "-c", args.command],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=dict(env),
        check=False,
    )
    if run.returncode != 0 and not run.stdout.strip():
        print(
            f"funnelc comment: `{args.command}` exited with {run.returncode}; nothing posted",
            file=sys.stderr,
        )
        return 1
    client = Client(env.get("GITHUB_TOKEN", ""))
    try:
        action, comment = upsert(client, target, body_of(run.stdout))
    except GitHubError as error:
        print(f"funnelc comment: {error}", file=sys.stderr)
        return 1
    print(f"funnelc comment: {action} {comment.get('html_url') or comment.get('id')}")
    _set_outputs(env, {"comment-id": str(comment.get("id", "")), "comment-action": action})
    if run.returncode != 0:
        # Posted all the same (a diff that reports a breaking change may exit 1); the step
        # fails so that the exit status is not lost.
        print(f"funnelc comment: `{args.command}` exited with {run.returncode}", file=sys.stderr)
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
