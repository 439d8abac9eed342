"""The example app's Registry: ``duroxide run workflows_example/app.py``."""

from duroxide_cli import Registry

from . import activities, orchestrations

app = Registry()
app.merge(activities.registry)
app.merge(orchestrations.registry)
