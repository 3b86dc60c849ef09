"""Input/output: SBML import and export, result stores."""
