"""Import an SBML model as an ordinary oncotwin :class:`~oncotwin.models.base.Model`.

:func:`read_sbml` maps an SBML file (or string) onto the declarative model, so an imported
model runs through the same batched solver and population sampling as the library models.

Mapping
-------
* Species that change become states (``nonnegative=False``: no clipping, so that results
  match libRoadRunner). A state holds what the species id means in SBML math: the
  concentration when ``hasOnlySubstanceUnits`` is false (reactions then contribute
  ``stoich * rate / V``), the amount otherwise. Initial values become parameters
  ``<id>_0``. Constant and boundary species without rules or events become parameters.
* Constant parameters and compartments become :class:`~oncotwin.parameters.Parameter` records
  sourced to the SBML file (``Source(<key>, "SBML parameter <id>")``); reactions' local
  parameters are prefixed with the reaction id (``<reaction>_<id>``).
* Rate rules (on species, parameters, compartments) give states; assignment rules and
  reaction rates become named expressions, in dependency order.
* Initial assignments give initial-value expressions of states. An initial assignment of a
  constant parameter makes it a *named expression* of the parameters it depends on (not a
  frozen number): changing a parameter of a patient then changes the derived value as SBML
  says it should.
* Function definitions are inlined; MathML is converted by :mod:`oncotwin.io._sbml_math`.
* Ids that are not valid names (``t``, Python keywords) are renamed (``t`` -> ``t_``); the
  mapping is in :meth:`SbmlImport.info`.
* Events whose trigger depends on time, constants and discrete variables only (see
  :mod:`oncotwin.io._sbml_events`) are expanded to events at known times by
  :meth:`SbmlImport.events`: ``S = S + c`` is a BOLUS, ``S = c*S`` a MULTIPLY, ``S = c`` a SET,
  ``S = a*S + b`` a MULTIPLY then a BOLUS. A non-constant parameter (or species) changed by
  events only is a state with zero rate and SET events. Event times use the SBML values of the
  parameters; :meth:`SbmlImport.events` refuses parameter arrays that change them.

Anything else (state-dependent triggers, delays, algebraic rules, fast reactions, ...) raises
:class:`SbmlUnsupportedError` naming the element, its id, the feature and the fix.

Implementation: :mod:`oncotwin.io._sbml_result` (the result), :mod:`oncotwin.io._sbml_load`
(loading, units, names, events) and :mod:`oncotwin.io._sbml_importer` (the main pass).
"""

from __future__ import annotations

import os

from oncotwin.io._sbml_importer import _Importer
from oncotwin.io._sbml_result import SbmlImport, SbmlUnsupportedError

__all__ = ["SbmlImport", "SbmlUnsupportedError", "read_sbml", "sbml_info"]


def sbml_info(path: str | os.PathLike[str]) -> str:
    """A text summary of what :func:`read_sbml` makes of ``path`` (for ``oncotwin sbml info``)."""
    try:
        imp = read_sbml(path)
    except SbmlUnsupportedError as exc:
        return f"{path}: not importable\n  {exc}"
    info = imp.info()
    lines = [
        f"{path}",
        f"  SBML model {info['sbml_id']!r} ({info['level_version']}): {info['name']}",
        f"  oncotwin model {info['model_name']!r}, citation key {info['citation']!r}",
        f"  time unit: {info['time_unit']}",
        f"  {info['n_states']} states, {info['n_parameters']} parameters, "
        f"{info['n_expressions']} expressions, {info['n_events']} events",
        "  states: " + ", ".join(f"{k} [{v}]" for k, v in info["states"].items()),
        "  mapping:",
    ]
    lines += [f"    {k}: {v}" for k, v in info["mapping"].items()]
    if info["renamed"]:
        lines.append("  renamed: " + ", ".join(f"{k} -> {v}" for k, v in info["renamed"].items()))
    if info["event_time_parameters"]:
        lines.append("  parameters fixing event times: " + ", ".join(info["event_time_parameters"]))
    lines += [f"  warning: {w}" for w in info["warnings"]]
    return "\n".join(lines)


def read_sbml(source: str | os.PathLike[str]) -> SbmlImport:
    """Import an SBML model (a path, or the XML text itself).

    Raises
    ------
    SbmlUnsupportedError
        The model uses a feature the engine cannot simulate exactly (the message names the
        element, its id, the feature and the fix).
    ModelError
        The file is missing or is not valid SBML.
    """
    return _Importer(source).run()
