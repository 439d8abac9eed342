"""The ``duroxide`` command line: a thin client over the public Client and Runtime."""
