"""The ``oncotwin`` command line (typer + rich)."""
