"""Scripts the platform's own pipeline steps run (embedded in their Azure ML component commands)."""
