"""Command line interface (``bgp``); the only importer of typer."""
