"""`python -m mlops …` is the same as the `mlops` command."""

from mlops.cli import app

app()
