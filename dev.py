#!/usr/bin/env python3
"""Set up the project and run its main jobs, on a fresh clone with nothing but python3.

    python3 dev.py synth   # set up .venv, then synth the fraud-detection example (prod) offline
    python3 dev.py test    # set up .venv, then lint (ruff), type-check (pyright) and test (pytest)
    python3 dev.py setup   # only set up .venv (the environment Pulumi.yaml names)

Set-up creates `.venv` at the project root and installs the project with its dev extra; it is
skipped when pyproject.toml has not changed since the last install.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")
STAMP = VENV / ".mlops-installed"
EXAMPLE = "blueprints/fraud-detection-aws.yaml"


def run(*command: str | Path) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    result = subprocess.run([str(c) for c in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def setup() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    started = time.monotonic()
    if not (BIN / "python").exists():
        print(f"creating {VENV.relative_to(ROOT)} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies (first time: about 2 minutes, ~1.2 GB) …", flush=True)
    # Bytecode is compiled at install time (pip's default): without it every run recompiles the SDKs.
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    # Test-only packages whose own dependency pins clash with the SDKs' ([tool.mlops-dev] in pyproject.toml).
    no_deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mlops-dev"]["no-deps"]
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", *no_deps)
    STAMP.write_text(wanted + "\n")
    print(f"set-up done in {time.monotonic() - started:.0f} s", flush=True)


def main() -> None:
    job = sys.argv[1] if len(sys.argv) > 1 else "help"
    if job not in ("setup", "synth", "test"):
        print(__doc__)
        sys.exit(0 if job == "help" else 2)
    setup()
    if job == "synth":
        run(BIN / "mlops", "validate", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "blueprints").glob("*.yaml")))
        run(BIN / "mlops", "synth", EXAMPLE, "--env", "prod", "--json", "out/fraud-detection-aws.prod.json",
            *sys.argv[2:])
    elif job == "test":
        run(BIN / "ruff", "check", ".")
        run(BIN / "pyright")
        run(BIN / "python", "-m", "pytest", *sys.argv[2:])


if __name__ == "__main__":
    main()
