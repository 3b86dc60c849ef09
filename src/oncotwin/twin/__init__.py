"""A patient's digital twin: fit one patient's lesion sizes, forecast them, rank regimens.

Research simulation, not medical advice. The twin uses the closed-form Claret et al. 2009
tumour growth-inhibition model (the library model ``claret2009`` under constant exposure)
because the data are lesion diameters only; see ``docs/twin.md`` for the model, the
population prior (fitted on FIR, POPLAR and BIRCH lesion series), what is assumed, and the
benchmark against the last value carried forward.

Examples
--------
>>> from oncotwin.twin import PatientTwin
>>> data = {"lesion_id": ["L1"] * 4 + ["L2"] * 4, "organ": ["lung"] * 4 + ["liver"] * 4,
...         "day": [-7, 42, 84, 126] * 2,
...         "diameter_mm": [40.0, 34.0, 30.0, 29.0, 22.0, 20.0, 21.0, 23.0]}
>>> twin = PatientTwin(regimen="atezolizumab 1200 mg IV q3w", seed=1).fit(data)
>>> sorted(twin.forecast(at=[168, 210])["lesion_id"].unique())
['L1', 'L2', 'SLD']
"""

from oncotwin.twin._data import (
    MARKER_COLUMNS,
    REQUIRED_COLUMNS,
    LesionData,
    MeasurementError,
    read_measurements,
    validate_measurements,
)
from oncotwin.twin._fit import MapFit, TwinPopulation, fit_lesions, fit_population
from oncotwin.twin._model import PARAM_NAMES, predict
from oncotwin.twin._regimen import GRADE3_RATES, RegimenEffect, regimen_effect
from oncotwin.twin._twin import FORECAST_COLUMNS, NotFittedError, PatientTwin, default_population

__all__ = [
    "FORECAST_COLUMNS",
    "GRADE3_RATES",
    "MARKER_COLUMNS",
    "PARAM_NAMES",
    "REQUIRED_COLUMNS",
    "LesionData",
    "MapFit",
    "MeasurementError",
    "NotFittedError",
    "PatientTwin",
    "RegimenEffect",
    "TwinPopulation",
    "default_population",
    "fit_lesions",
    "fit_population",
    "predict",
    "read_measurements",
    "regimen_effect",
    "validate_measurements",
]
