"""One declarative spec of funnelc.toml: the checks and the published JSON Schema are made from
it, the committed schema is what `funnelc schema --config` prints, and the two agree on which
configurations are valid."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from funnelc.cli import app
from funnelc.config import SETTINGS, json_schema, json_schema_text, load_config
from funnelc.lint.engine import config_from_table
from funnelc.lint.rule import PRESETS
from tests.conftest import ROOT

COMMITTED = ROOT / "docs" / "funnelc.toml.schema.json"

VALID = [
    'sources = ["examples"]\nout = "build"\ntargets = ["json", "dot", "svg"]\n',
    'sources = "funnels"\nrenderer = "system"\nrender-timeout = 2.5\nunsupported = "error"\n',
    "[targets.amocrm]\nsome-option = 1\n[targets.json]\n",
    'targets = "json"\n',
    '[lint]\npreset = "strict"\nselect = ["L001"]\nignore = ["segment"]\nstrict = true\n',
    '[lint.rules.required-fields]\nmin-fields = 2\nseverity = "info"\n',
    '[lint.rules.lead-boundary]\nacceptance-words = ["квалифицирован"]\n',
    '[lint.rules.L010]\nseverity = "error"\n',
    'language = "ru"\n',
]
INVALID = [
    'targts = ["json"]\n',
    "sources = 3\n",
    "sources = [1]\n",
    "out = 1\n",
    'targets = "pdf"\n',
    "targets = 3\n",
    'targets = ["pdf"]\n',
    "[targets]\namocrm = 1\n",
    'renderer = "cairo"\n',
    "render-timeout = 0\n",
    "render-timeout = -1\n",
    "render-timeout = true\n",
    'unsupported = "maybe"\n',
    'language = "de"\n',
    'lint = "strict"\n',
    '[lint]\npreset = "everything"\n',
    '[lint]\nstrict = "yes"\n',
    "[lint]\nselect = [1]\n",
    '[lint]\nselect = "L001"\n',
    "[lint]\ncolour = true\n",
    "[lint]\nrules = 1\n",
    "[lint.rules]\nsegment = 1\n",
    '[lint.rules.segment]\nseverity = "loud"\n',
    '[lint.rules.required-fields]\nmin-fields = "2"\n',
    "[lint.rules.required-fields]\nmin-feilds = 2\n",
    "[lint.rules.no-such-rule]\n",
]


def problems(tmp_path: Path, text: str) -> list[str]:
    """What funnelc says about a config, as `funnelc check` reads it (the file, then [lint])."""
    path = tmp_path / "funnelc.toml"
    path.write_text(text, encoding="utf-8")
    config, found = load_config(path)
    if not found and config.lint:
        found = config_from_table(config.lint, path)[1]
    from funnelc.build import check_targets

    found = [*found, *check_targets(list(config.targets))]
    return [d.message for d in found]


def schema_errors(text: str) -> list[str]:
    validator = jsonschema.Draft4Validator(json_schema())
    return [e.message for e in validator.iter_errors(tomllib.loads(text))]


def test_the_schema_is_a_valid_draft_4_schema() -> None:
    jsonschema.Draft4Validator.check_schema(json_schema())


def test_the_committed_schema_is_what_the_cli_prints() -> None:
    from typer.testing import CliRunner

    printed = CliRunner().invoke(app, ["schema", "--config"])
    assert printed.exit_code == 0
    assert printed.stdout == json_schema_text() == COMMITTED.read_text(encoding="utf-8"), (
        "run `funnelc schema --config > docs/funnelc.toml.schema.json`"
    )
    assert json.loads(printed.stdout)["$schema"].startswith("http://json-schema.org/draft-04")


@pytest.mark.parametrize("text", VALID)
def test_valid_configs_are_valid_for_both(tmp_path: Path, text: str) -> None:
    assert problems(tmp_path, text) == []
    assert schema_errors(text) == []


@pytest.mark.parametrize("text", INVALID)
def test_invalid_configs_are_invalid_for_both(tmp_path: Path, text: str) -> None:
    assert problems(tmp_path, text) != []
    assert schema_errors(text) != []


def test_the_repository_config_is_valid() -> None:
    text = (ROOT / "funnelc.toml").read_text(encoding="utf-8")
    assert schema_errors(text) == []


def test_every_key_of_the_spec_is_in_the_schema_with_its_description() -> None:
    properties = json_schema()["properties"]
    assert isinstance(properties, dict)
    assert list(properties) == [s.key for s in SETTINGS]
    for setting in SETTINGS:
        assert properties[setting.key]["description"] == setting.description
    lint = properties["lint"]["properties"]
    assert lint["preset"]["enum"] == list(PRESETS)
