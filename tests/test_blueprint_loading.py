"""Loading: every problem located as `file:line:col: yaml.path: message (got X; allowed: …)`.

Broken inputs are small text edits of MINIMAL, so each case shows exactly what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from mlops.blueprint import BlueprintError, Dimension, load_blueprint, load_text
from mlops.blueprint.model import MaturityLevels

FILE = "bp.yaml"

# Line numbers matter: the expectations below point into this text.
MINIMAL = """\
# a minimal valid blueprint
name: demo
use_case: Demo model
organisation: {name: Acme, team_size: 5}
cloud: {provider: aws, region: us-east-1}
maturity:
  current: 0
  target: 1
models:
  - name: scorer
    quality_gates:
      metrics: [{metric: auc, threshold: 0.8}]
"""

TOP_LEVEL_KEYS = ("alerts, cloud, cost, data, environments, feature_store, governance, maturity, models, "
                  "name, organisation, tags, use_case")


def edit(old: str, new: str) -> str:
    """MINIMAL with one exact, unique edit (so a stale edit fails loudly instead of testing nothing)."""
    assert MINIMAL.count(old) == 1, f"edit target {old!r} must occur exactly once in MINIMAL"
    return MINIMAL.replace(old, new)


def problems(text: str) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        load_text(text, FILE)
    assert str(caught.value) == "\n".join(caught.value.lines())
    return caught.value.lines()


@dataclass(frozen=True)
class Broken:
    id: str
    text: str
    prefix: str
    """`file:line:col: path:` of the one line expected."""
    says: tuple[str, ...]
    """Fragments the message must contain (key words, the value found, the allowed values)."""


CASES = [
    Broken("yaml-syntax-unclosed-flow", edit("team_size: 5}", "team_size: 5"),
           "bp.yaml:5:6: (document):",
           ("YAML syntax error: expected ',' or '}', but got ':'", "while parsing a flow mapping")),
    Broken("yaml-syntax-tab", edit("  current: 0\n", "  current: 0\n\ttarget: 2\n"),
           "bp.yaml:8:1: (document):",
           ("YAML syntax error: found character '\\t' that cannot start any token",)),
    Broken("empty-file", "", "bp.yaml:1:1: (document):",
           ("the file is empty; a blueprint needs at least: "
            "name, use_case, organisation, cloud, maturity, models",)),
    Broken("only-comments", "# nothing here yet\n", "bp.yaml:1:1: (document):", ("the file is empty",)),
    Broken("top-level-list", "- name: demo\n- use_case: Demo\n", "bp.yaml:1:1: (document):",
           ("expected a mapping of blueprint sections (got a list; allowed: keys such as name, use_case, "
            "organisation, cloud, maturity, models)",)),
    Broken("top-level-scalar", "just some text\n", "bp.yaml:1:1: (document):",
           ("expected a mapping of blueprint sections (got 'just some text';",)),
    Broken("unknown-key-did-you-mean", edit("team_size: 5", "team_sise: 5"),
           "bp.yaml:4:28: organisation.team_sise:",
           ("unknown key; did you mean 'team_size'? (got 'team_sise'; allowed: industry, name, team_size)",)),
    Broken("unknown-key-top-level", MINIMAL + "colour: blue\n", "bp.yaml:13:1: colour:",
           ("unknown key; did you mean 'cloud'?", f"(got 'colour'; allowed: {TOP_LEVEL_KEYS})")),
    Broken("unknown-key-nested-in-list", edit("{metric: auc,", "{metric: auc, treshold: 0.9,"),
           "bp.yaml:12:31: models[0].quality_gates.metrics[0].treshold:",
           ("unknown key; did you mean 'threshold'?", "allowed: direction, metric, threshold")),
    Broken("wrong-type-text-for-number", edit("team_size: 5", "team_size: many"),
           "bp.yaml:4:28: organisation.team_size:", ("expected a whole number, not text (got 'many';",)),
    Broken("wrong-type-fraction-for-whole-number", edit("team_size: 5", "team_size: 5.5"),
           "bp.yaml:4:28: organisation.team_size:", ("expected a whole number (got 5.5;",)),
    Broken("level-above-range", edit("target: 1", "target: {deployment: 4}"),
           "bp.yaml:8:12: maturity.target.deployment:", ("out of range (got 4; allowed: <= 3)",)),
    Broken("level-shorthand-above-range", edit("target: 1", "target: 5"),
           "bp.yaml:8:3: maturity.target:", ("out of range (got 5; allowed: <= 3)",)),
    Broken("level-below-range", edit("current: 0", "current: -1"),
           "bp.yaml:7:3: maturity.current:", ("out of range (got -1; allowed: >= 0)",)),
    Broken("list-where-mapping-belongs",
           edit("cloud: {provider: aws, region: us-east-1}", "cloud: [aws, us-east-1]"),
           "bp.yaml:5:1: cloud:", ("expected a mapping (key: value lines) (got ['aws', 'us-east-1'])",)),
    Broken("list-where-list-item-mapping-belongs", edit("[{metric: auc, threshold: 0.8}]", "[[auc, 0.8]]"),
           "bp.yaml:12:17: models[0].quality_gates.metrics[0]:",
           ("expected a mapping (key: value lines) (got ['auc', 0.8])",)),
    Broken("mapping-where-list-belongs",
           edit("[{metric: auc, threshold: 0.8}]", "{metric: auc, threshold: 0.8}"),
           "bp.yaml:12:7: models[0].quality_gates.metrics:",
           ("expected a list (lines starting with '- ') (got a mapping)",)),
    Broken("duplicate-key", edit("use_case: Demo model\n", "use_case: Demo model\nname: demo-two\n"),
           "bp.yaml:4:1: name:", ("duplicate key: only one is allowed",)),
    Broken("duplicate-key-in-flow-mapping", edit("team_size: 5}", "team_size: 5, name: Other}"),
           "bp.yaml:4:42: organisation.name:", ("duplicate key: only one is allowed",)),
    Broken("missing-required-key", edit("use_case: Demo model\n", ""),
           "bp.yaml:2:1: use_case:", ("required key is missing",)),
    Broken("missing-required-nested-key", edit("provider: aws, ", ""),
           "bp.yaml:5:1: cloud.provider:",
           ("required key is missing (The managed ML service the platform is built on: aws (SageMaker)",)),
    Broken("bad-enum-value", edit("provider: aws", "provider: amazon"),
           "bp.yaml:5:9: cloud.provider:",
           ("not one of the allowed values (got 'amazon'; allowed: aws, gcp or azure)",)),
    Broken("nan-threshold", edit("threshold: 0.8", "threshold: .nan"),
           "bp.yaml:12:31: models[0].quality_gates.metrics[0].threshold:",
           ("expected a finite number (not NaN or infinity) (got nan)",)),
    Broken("infinite-threshold", edit("threshold: 0.8", "threshold: -.inf"),
           "bp.yaml:12:31: models[0].quality_gates.metrics[0].threshold:",
           ("expected a finite number (not NaN or infinity) (got -inf)",)),
    # Quoted numbers and booleans are text: the JSON Schema refuses them, so the loader must too (no coercion).
    Broken("quoted-whole-number", edit("team_size: 5", 'team_size: "12"'),
           "bp.yaml:4:28: organisation.team_size:",
           ("expected a whole number, not text (got '12'; allowed: a whole number without quotes, such as 12)",)),
    Broken("boolean-for-whole-number", edit("team_size: 5", "team_size: true"),
           "bp.yaml:4:28: organisation.team_size:",
           ("expected a whole number (got true; allowed: a whole number without quotes, such as 12)",)),
    Broken("quoted-number", edit("threshold: 0.8", 'threshold: "0.8"'),
           "bp.yaml:12:31: models[0].quality_gates.metrics[0].threshold:",
           ("expected a number, not text (got '0.8'; allowed: a number without quotes, such as 0.8)",)),
    Broken("boolean-for-number", edit("threshold: 0.8", "threshold: false"),
           "bp.yaml:12:31: models[0].quality_gates.metrics[0].threshold:",
           ("expected a number (got false; allowed: a number without quotes, such as 0.8)",)),
    Broken("quoted-boolean",
           edit("- name: scorer\n", '- name: scorer\n    training: {spot: "yes", checkpointing: true}\n'),
           "bp.yaml:11:16: models[0].training.spot:",
           ("expected true or false, not text (got 'yes'; allowed: true or false without quotes)",)),
    Broken("number-for-boolean",
           edit("- name: scorer\n", "- name: scorer\n    training: {spot: 1, checkpointing: true}\n"),
           "bp.yaml:11:16: models[0].training.spot:",
           ("expected true or false (got 1; allowed: true or false without quotes)",)),
    Broken("quoted-budget-threshold",
           MINIMAL + 'cost: {monthly_budget_usd: 100, alert_thresholds_percent: [50, "80"]}\n',
           "bp.yaml:13:64: cost.alert_thresholds_percent[1]:",
           ("expected a number, not text (got '80'; allowed: a number without quotes, such as 0.8)",)),
    Broken("bad-name-pattern", edit("- name: scorer", "- name: Scorer_1"),
           "bp.yaml:10:5: models[0].name:",
           ("not a valid name (got 'Scorer_1'; allowed: text matching ^[a-z][a-z0-9-]{0,22}[a-z0-9]$)",)),
    Broken("needs-more-items", edit("models:\n  - name: scorer\n    quality_gates:\n      metrics: "
                                    "[{metric: auc, threshold: 0.8}]\n", "models: []\n"),
           "bp.yaml:9:1: models:", ("needs more items (got an empty list; allowed: at least 1",)),
]


def test_minimal_blueprint_is_valid() -> None:
    loaded = load_text(MINIMAL, FILE)
    assert loaded.blueprint.name == "demo"
    assert loaded.source.locate(("models", 0, "name")) == (10, 5)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_blueprint_is_located_and_explained(case: Broken) -> None:
    lines = problems(case.text)
    assert len(lines) == 1, lines
    assert lines[0].startswith(case.prefix + " "), lines[0]
    for fragment in case.says:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("team_size: 5", "team_size: many").replace("provider: aws", "provider: amazon") \
        .replace("target: 1", "target: {deployment: 4}")
    assert problems(text) == [
        "bp.yaml:4:28: organisation.team_size: expected a whole number, not text "
        "(got 'many'; allowed: a whole number without quotes, such as 12)",
        "bp.yaml:5:9: cloud.provider: not one of the allowed values "
        "(got 'amazon'; allowed: aws, gcp or azure)",
        "bp.yaml:8:12: maturity.target.deployment: out of range (got 4; allowed: <= 3)",
    ]


def test_a_misspelt_key_reports_the_unknown_and_the_missing_key() -> None:
    lines = problems(edit("use_case:", "usecase:"))
    assert len(lines) == 2
    assert lines[0] == "bp.yaml:2:1: use_case: required key is missing"
    assert lines[1].startswith("bp.yaml:3:1: usecase: unknown key; did you mean 'use_case'?")


def test_rule_violations_are_located_too() -> None:
    lines = problems(edit("[{metric: auc, threshold: 0.8}]", "[]\n      compare_to_champion: true"))
    assert lines == ["bp.yaml:12:7: models[0].quality_gates.metrics: comparing against the champion needs at "
                     "least one quality-gate metric (or set compare_to_champion and "
                     "retraining.champion_challenger to false) [champion-needs-metric] (got an empty list)"]


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(missing)
    assert caught.value.lines() == [f"{missing}:1:1: (document): file not found"]


def test_a_directory_is_not_a_blueprint(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(tmp_path)
    assert caught.value.lines() == [f"{tmp_path}:1:1: (document): cannot read the file: IsADirectoryError"]


def test_errors_name_the_file_they_were_loaded_from(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(edit("provider: aws", "provider: amazon"), encoding="utf-8")
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(path)
    assert caught.value.lines()[0].startswith(f"{path}:5:9: cloud.provider: not one of the allowed values")


def test_every_example_loads(example: Path) -> None:
    loaded = load_blueprint(example)
    assert loaded.path == str(example)
    assert loaded.blueprint.models


def test_single_number_target_expands_to_every_dimension() -> None:
    maturity = load_text(edit("target: 1", "target: 2"), FILE).blueprint.maturity
    assert maturity.target == MaturityLevels(**{d.value: 2 for d in Dimension})
    assert maturity.current == MaturityLevels()
    assert maturity.target.overall == 2


def test_mapping_target_leaves_other_dimensions_at_zero() -> None:
    maturity = load_text(edit("target: 1", "target: {deployment: 2, monitoring: 1}"), FILE).blueprint.maturity
    assert maturity.target.level(Dimension.deployment) == 2
    assert maturity.target.level(Dimension.monitoring) == 1
    assert maturity.target.level(Dimension.governance) == 0
    assert maturity.target.overall == 0


def test_boolean_is_not_a_level() -> None:
    lines = problems(edit("target: 1", "target: true"))
    assert lines == ["bp.yaml:8:3: maturity.target: expected a mapping (key: value lines) (got true)"]


def test_a_whole_number_is_a_number() -> None:
    # Strict about text, not about ints: `threshold: 1` is the number 1.0.
    gate = load_text(edit("threshold: 0.8", "threshold: 1"), FILE).blueprint.models[0].quality_gates.metrics[0]
    assert gate.threshold == 1.0 and isinstance(gate.threshold, float)


def test_text_hyperparameters_stay_text() -> None:
    # Hyperparameters take text, numbers and booleans as written: "12" stays the text "12".
    text = edit("- name: scorer\n", '- name: scorer\n    training: {hyperparameters: {depth: "12", eta: 0.1}}\n')
    params = load_text(text, FILE).blueprint.models[0].training.hyperparameters
    assert params == {"depth": "12", "eta": 0.1}


BLANK_WHERE_A_NAME_BELONGS = [
    ("metric", edit("{metric: auc,", "{metric: ' ',"), "bp.yaml:12:18: models[0].quality_gates.metrics[0].metric:",
     "' '"),
    ("protected-attribute",
     edit("- name: scorer\n", "- name: scorer\n    quality_gates: {fairness: [{metric: disparate_impact_ratio, "
          "threshold: 0.8, protected_attributes: [age, '']}]}\n").replace("    quality_gates:\n      metrics: "
          "[{metric: auc, threshold: 0.8}]\n", ""),
     "bp.yaml:11:109: models[0].quality_gates.fairness[0].protected_attributes[1]:", "''"),
    ("drift-feature", edit("- name: scorer\n", "- name: scorer\n    monitoring: {drift: {features: [' ']}}\n"),
     "bp.yaml:11:37: models[0].monitoring.drift.features[0]:", "' '"),
    ("data-source-uri", MINIMAL + "data: {sources: [{name: raw, kind: object_store, uri: '   '}]}\n",
     "bp.yaml:13:50: data.sources[0].uri:", "'   '"),
    ("output-uri", edit("- name: scorer\n", "- name: scorer\n    serving: {mode: batch, schedule: daily, "
                                                   "output_uri: ''}\n"),
     "bp.yaml:11:45: models[0].serving.output_uri:", "''"),
    ("stream", edit("- name: scorer\n", "- name: scorer\n    serving: {mode: streaming, stream: ' '}\n"),
     "bp.yaml:11:32: models[0].serving.stream:", "' '"),
]


@pytest.mark.parametrize(("text", "prefix", "got"), [c[1:] for c in BLANK_WHERE_A_NAME_BELONGS],
                         ids=[c[0] for c in BLANK_WHERE_A_NAME_BELONGS])
def test_blank_text_is_refused_where_a_name_or_uri_belongs(text: str, prefix: str, got: str) -> None:
    lines = problems(text)
    assert len(lines) == 1, lines
    assert lines[0].startswith(prefix + " blank"), lines[0]
    assert f"(got {got}; allowed: text with at least one visible character)" in lines[0], lines[0]


def test_tag_values_are_capped_at_the_gcp_label_length() -> None:
    # 63 characters fit a GCP label value and an AWS tag value (256): longer values are refused, not cut.
    lines = problems(MINIMAL + f"tags: {{team: {'x' * 300}}}\n")
    assert len(lines) == 1 and lines[0].startswith("bp.yaml:13:8: tags.team: too long"), lines
    assert "allowed: at most 63 item(s)/character(s)" in lines[0]
