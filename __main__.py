"""The Pulumi program: `pulumi up` runs this; `mlops synth` runs the same `main()` under mocks."""
from mlops.program import main

main()
