"""``python -m oncotwin`` runs the command line."""

from oncotwin.cli.main import app

app(prog_name="oncotwin")
