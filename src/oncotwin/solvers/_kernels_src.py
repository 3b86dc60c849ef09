"""Source text of the solver kernels, appended to each model's generated module."""

from pathlib import Path

SOURCE = Path(__file__).with_name("_kernels_template.py").read_text()
