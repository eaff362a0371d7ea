"""The `mlops` command: validate, plan, synth, design, init, schema.

Pulumi is imported only by `synth` and `design`, so `validate` and `plan` start fast.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mlops.blueprint import BlueprintError, LoadedBlueprint, load_blueprint
from mlops.blueprint.diagnostics import format_path
from mlops.plan import Plan, plan_environments

from .render import capability_table, evidence_lines, model_table, resource_tree, undecided_table, violation_table

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = PROJECT_ROOT / "blueprints"
EXIT_BAD_INPUT = 2
EXIT_POLICY = 1

app = typer.Typer(
    name="mlops",
    help="Compile an MLOps blueprint into Pulumi stacks for SageMaker, Vertex AI or Azure ML.\n\n"
    "Typical flow: `mlops init` a blueprint from an example, `mlops validate` it, `mlops plan` to see what "
    "each environment builds at your maturity target, `mlops synth` to see the exact resources offline, "
    "then `pulumi up` per environment.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
out = Console()
err = Console(stderr=True)

BlueprintArg = Annotated[Path, typer.Argument(help="Blueprint YAML file.", show_default=False)]
EnvOption = Annotated[str | None, typer.Option("--env", "-e", help="Environment: dev, staging or prod "
                                               "(default: every environment the blueprint declares).")]


def _fail(exc: BlueprintError) -> typer.Exit:
    for line in exc.lines():
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    noun = "problem" if len(exc.diagnostics) == 1 else "problems"
    err.print(f"[red]{len(exc.diagnostics)} {noun}[/] in {exc.file}")
    return typer.Exit(EXIT_BAD_INPUT)


def _load(path: Path) -> LoadedBlueprint:
    try:
        return load_blueprint(path)
    except BlueprintError as exc:
        raise _fail(exc) from None


def _plans(loaded: LoadedBlueprint, env: str | None) -> list[Plan]:
    try:
        return plan_environments(loaded, [env] if env else None)
    except BlueprintError as exc:
        raise _fail(exc) from None


def _warn(loaded: LoadedBlueprint, plans: list[Plan]) -> None:
    """Print each plan caution once, located in the blueprint, naming the environments it is true in."""
    where: dict[tuple[tuple[str | int, ...], str], list[str]] = {}
    for p in plans:
        for caution in p.cautions:
            where.setdefault((caution.path, caution.message), []).append(p.environment)
    for (path, message), environments in where.items():
        line, col = loaded.source.locate(path) or (1, 1)
        err.print(f"{loaded.path}:{line}:{col}: {format_path(path)}: [yellow]warning:[/] {message} "
                  f"(in {', '.join(environments)})", highlight=False, soft_wrap=True)


def _stack_settings(pairs: list[str]) -> dict[str, str]:
    """`KEY=VALUE` pairs as stack config; a key without a namespace belongs to `mlops:`."""
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            err.print(f"--config: expected KEY=VALUE (got {pair!r}; e.g. mlops:endpoints=defer)")
            raise typer.Exit(EXIT_BAD_INPUT)
        settings[key if ":" in key else f"mlops:{key}"] = value
    return settings


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command()
def validate(
    blueprints: Annotated[list[Path], typer.Argument(help="One or more blueprint files.", show_default=False)],
) -> None:
    """Check blueprints: YAML, schema, cross-field rules and maturity gating in every environment.

    Every problem is reported at once as `file:line:col: yaml.path: message (got X; allowed: …)`.
    Exit code 2 when any blueprint has a problem. Settings the cloud honours differently than their
    words suggest (an AWS canary is a share of instances, not of traffic) are printed as located
    warnings and do not fail.
    """
    failed = False
    for path in blueprints:
        try:
            loaded = load_blueprint(path)
            plans = plan_environments(loaded)
        except BlueprintError as exc:
            failed = True
            _fail(exc)
            continue
        _warn(loaded, plans)
        bp = loaded.blueprint
        out.print(f"[green]valid[/] {path}: {bp.cloud.provider.value}, {len(bp.models)} model(s), "
                  f"environments {', '.join(bp.environments)}")
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def plan(
    blueprint: BlueprintArg,
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan(s) as JSON instead of tables.")] = False,
) -> None:
    """Show what each environment builds after maturity gating, overrides and defaults.

    The table lists every capability with the maturity gate it needs, and for each environment
    whether it is built or why not. Raise `maturity.target` in the blueprint to turn more on.
    """
    loaded = _load(blueprint)
    plans = _plans(loaded, env)
    _warn(loaded, plans)
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump(mode="json") for p in plans], indent=2) + "\n")
        return
    out.print(capability_table(plans))
    for p in plans:
        out.print(model_table(p))


class PolicyModeChoice(StrEnum):
    """The values of `mlops synth --policy-mode` (mlops.policies.PolicyMode; kept here so that the CLI
    imports no Pulumi code before `synth` runs)."""

    up = "up"
    preview = "preview"


@app.command()
def synth(
    blueprint: BlueprintArg,
    env: Annotated[str, typer.Option("--env", "-e", help="Environment to synthesize: dev, staging or prod.")],
    json_path: Annotated[str | None, typer.Option(
        "--json", help="Write the manifest (resources, outputs, policy report) to this file, or `-` for stdout.",
        show_default=False)] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a mandatory policy is violated or a "
                                         "capability the plan turns on has no evidence in the graph.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the resource tree.")] = False,
    config: Annotated[list[str] | None, typer.Option(
        "--config", "-c", help="A stack setting KEY=VALUE, as `pulumi config set` would make it (repeatable), "
        "e.g. `mlops:endpoints=defer` for a first deployment, or "
        "`mlops:imageTags={\"<model>\": \"<tag>\"}` for the tag of the team's own image a model runs, on "
        "every cloud (AWS and GCP: lightgbm and custom models; Azure: every trained model; default `1`; "
        "`latest` is refused).", show_default=False)] = None,
    policy_mode: Annotated[PolicyModeChoice, typer.Option(
        "--policy-mode", help="Run the program and the policies as `pulumi up` sees the stack (`up`: every value "
        "known) or as a first `pulumi preview --policy-pack policies` does (`preview`: values other resources "
        "compute are unknown; rules that need one are listed as undecided, the CLI's advisories).",
        case_sensitive=False)] = PolicyModeChoice.up,
) -> None:
    """Run the Pulumi program offline (SDK mocks) and show the resources `pulumi up` would create.

    No cloud credentials and no Pulumi CLI are needed. The policy pack in `policies/` is evaluated on
    the result, through pulumi_policy's own analyzer path, and every capability the plan turns on is
    checked against the graph (evidence: the resources it needs, with the blueprint's values in their
    inputs); what is missing is listed. The manifest is byte-identical for the same blueprint,
    environment and policy mode. With `--policy-mode preview` the manifest shows unknown values as
    `[unknown]` and adds `policy.mode` and `policy.undecided`.
    """
    settings = _stack_settings(config or [])
    loaded = _load(blueprint)
    _warn(loaded, _plans(loaded, env))  # plan errors are located in the blueprint before any Pulumi code runs
    status = err if json_path == "-" else out
    with status.status(f"synthesizing {blueprint} ({env}) under Pulumi mocks…"):
        from mlops.synth import SynthError
        from mlops.synth import synth as run_synth

        try:
            mode = "preview" if policy_mode is PolicyModeChoice.preview else "up"
            result = run_synth(str(blueprint), env, settings, policy_mode=mode)
        except BlueprintError as exc:
            raise _fail(exc) from None
        except SynthError as exc:
            err.print(f"[red]synth failed:[/] {exc}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    if json_path == "-":
        sys.stdout.write(result.manifest_json())
    else:
        if json_path:
            _write_atomically(Path(json_path), result.manifest_json())
        if not quiet:
            out.print(resource_tree(result.resources, f"{result.plan.prefix} ({result.plan.cloud.value})"))
    mandatory = [v for v in result.violations if v.mandatory]
    summary = (f"{len(result.resources)} resources, {len(result.violations)} policy violation(s)"
               f" ({len(mandatory)} mandatory)")
    if result.violations:
        status.print(violation_table(result.violations))
    if result.undecided:
        status.print(undecided_table(result.undecided))
        summary += f", {len(result.undecided)} undecided in preview"
    status.print(summary + (f"; manifest written to {json_path}" if json_path and json_path != "-" else ""))
    from mlops.evidence import DEFERRED_WITH_ENDPOINTS, evidence

    if mode == "preview":
        # Computed values are unknown in a preview: the blueprint's values are checked in `up` mode.
        if strict and mandatory:
            raise typer.Exit(EXIT_POLICY)
        return
    found = evidence(result.plan, result.resources)
    # A first deployment that defers endpoints leaves serving out on purpose: said, not failed.
    deferred = DEFERRED_WITH_ENDPOINTS if settings.get("mlops:endpoints") == "defer" else frozenset()
    unbuilt = [e for e in found.values() if e.applies and not e.built and e.capability not in deferred]
    status.print(f"evidence: {sum(e.built for e in found.values())} of {len(found)} capabilities built"
                 + (f", [red]{len(unbuilt)} not built[/]" if unbuilt else "")
                 + (" (serving deferred: mlops:endpoints=defer)" if deferred else ""))
    for line in evidence_lines({c: e for c, e in found.items() if c not in deferred}):
        status.print(line, soft_wrap=True)
    if strict and (mandatory or unbuilt):
        raise typer.Exit(EXIT_POLICY)


@app.command()
def design(
    blueprint: BlueprintArg,
    output: Annotated[Path, typer.Option("--out", "-o", help="Directory to write design.md (or design.html) and "
                                         "architecture.svg into.", show_default=False)],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment the design is for (its architecture, "
                                     "monitoring and roadmap); CI/CD and approvals cover every environment.")] = "prod",
    fmt: Annotated[str, typer.Option("--format", "-f", help="md: GitHub-flavoured Markdown with a Mermaid diagram; "
                                     "html: one self-contained page with the picture inlined.")] = "md",
) -> None:
    """Write the platform design a lead presents: scorecard, architecture, pipelines, monitoring, governance, roadmap.

    The design is generated from the same blueprint that builds the stacks (its plans, and an offline synth
    of the stack for the architecture diagram and for evidence: a capability is "built" only where the
    synthesized graph holds the resources it needs), so it cannot drift from the code. Same blueprint, same
    files, byte for byte.
    """
    if fmt not in ("md", "html"):
        err.print(f"--format: unknown format (got {fmt!r}; allowed: md, html)")
        raise typer.Exit(EXIT_BAD_INPUT)
    from mlops.design import files
    from mlops.design.run import SynthFailed, prepare, write_files

    status = err
    try:
        with status.status(f"planning {blueprint}…") as spinner:
            inp = prepare(blueprint, env, progress=lambda message: spinner.update(message + "…"))
    except BlueprintError as exc:
        raise _fail(exc) from None
    except SynthFailed as exc:
        err.print(f"[red]synth failed:[/] {exc}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    written = write_files(output, files(inp, fmt))
    out.print("[green]wrote[/] " + ", ".join(str(p) for p in written))
    pending = [c for c in inp.plan.capabilities if c not in inp.covered]
    if pending:
        status.print(f"[yellow]note:[/] the design marks {len(pending)} capabilities as planned, not built: the "
                     f"synthesized graph lacks their evidence ({', '.join(c.value for c in pending)})")


@app.command()
def init(
    name: Annotated[str, typer.Argument(help="Name of the new platform (lower-case, dashes).", show_default=False)],
    example: Annotated[str, typer.Option("--from", help="Example to start from: one of the files in "
                                         "blueprints/ (e.g. fraud-detection-aws) or a path.")],
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Where to write (default: ./NAME.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Start a blueprint by copying an example under a new name."""
    source = Path(example)
    if not source.is_file():
        source = EXAMPLES / f"{example.removesuffix('.yaml')}.yaml"
    if not source.is_file():
        names = ", ".join(sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
        err.print(f"{example}: no such example (allowed: {names}, or a path to a blueprint)")
        raise typer.Exit(EXIT_BAD_INPUT)
    target = output or Path(f"{name}.yaml")
    if target.exists() and not force:
        err.print(f"{target}: already exists (use --force to overwrite)")
        raise typer.Exit(EXIT_BAD_INPUT)
    text = source.read_text(encoding="utf-8")
    schema = os.path.relpath(EXAMPLES / "blueprint.schema.json", target.resolve().parent)
    lines = text.splitlines(keepends=True)
    lines = [f"# yaml-language-server: $schema={schema}\n" if line.startswith("# yaml-language-server:")
             else f"name: {name}\n" if line.startswith("name:") else line for line in lines]
    try:
        loaded_check = "".join(lines)
        from mlops.blueprint import load_text

        load_text(loaded_check, str(target))
    except BlueprintError as exc:
        raise _fail(exc) from None
    _write_atomically(target, loaded_check)
    out.print(f"[green]wrote[/] {target} (from {source.name}); next: `mlops validate {target}`")


@app.command()
def schema(
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the blueprint's JSON Schema (for editors and CI checks)."""
    from mlops.blueprint.schema import blueprint_json_schema

    text = json.dumps(blueprint_json_schema(), indent=2) + "\n"
    if output:
        _write_atomically(output, text)
    else:
        sys.stdout.write(text)
