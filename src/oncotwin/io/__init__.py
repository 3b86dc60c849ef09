"""Input/output: SBML import and export, result stores."""

from __future__ import annotations

from oncotwin.io.sbml_import import SbmlImport, SbmlUnsupportedError, read_sbml, sbml_info

__all__ = ["SbmlImport", "SbmlUnsupportedError", "read_sbml", "sbml_info"]
