"""What user code touches: the registry, the contexts, the tasks and the options."""
