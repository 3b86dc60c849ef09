"""The response-criteria registry: name -> :class:`Criterion`, and :func:`assess`."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from oncotwin.errors import OncotwinError, ParameterError, UnknownNameError, did_you_mean
from oncotwin.trials.assessment._lugano import assess_lugano
from oncotwin.trials.assessment._readouts import READOUT_NAMES, Readouts
from oncotwin.trials.assessment._recist import assess_recist
from oncotwin.trials.assessment._result import Assessment
from oncotwin.trials.assessment._series import assess_imwg, assess_marrow

__all__ = ["CRITERIA", "Criterion", "assess", "get_criterion", "register_criterion"]

#: Keyword arguments :func:`assess` passes itself (never an option).
_RESERVED = ("seed", "patient_ids")


@dataclass(frozen=True)
class Criterion:
    """One response criterion of the registry.

    Attributes
    ----------
    name
        Registry name (lower case), e.g. ``"recist"``.
    description
        One line: what it assesses and how far it is simplified.
    citation
        Key of the criterion's paper in :mod:`oncotwin.citations` (``""`` if none).
    needs
        The :class:`Readouts` fields it cannot do without (``scan_days``, ``death_day`` and
        ``end_day`` are always there).
    function
        ``function(readouts, *, seed, patient_ids, **options) -> Assessment``.
    options
        Keyword options ``function`` accepts (checked by :func:`assess`); ``None`` = not checked.
    """

    name: str
    description: str
    citation: str
    needs: tuple[str, ...]
    function: Callable[..., Assessment]
    options: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ParameterError(
                f"Criterion.name = {self.name!r} is invalid; give a non-empty name, e.g. 'recist'"
            )
        object.__setattr__(self, "name", self.name.strip().lower())
        if not callable(self.function):
            raise ParameterError(
                f"Criterion {self.name!r}: function = {self.function!r} is not callable; give "
                "function(readouts, *, seed, patient_ids, **options) -> Assessment"
            )
        needs = (self.needs,) if isinstance(self.needs, str) else tuple(self.needs)
        for need in needs:
            if need not in READOUT_NAMES:
                raise UnknownNameError(
                    f"Criterion {self.name!r}: "
                    + did_you_mean(need, READOUT_NAMES, what="readout", n=1)
                )
        object.__setattr__(self, "needs", needs)
        if self.options is not None:
            object.__setattr__(self, "options", tuple(self.options))


_CRITERIA: dict[str, Criterion] = {}

#: Registered criteria by name (read-only view; add with :func:`register_criterion`).
CRITERIA: Mapping[str, Criterion] = MappingProxyType(_CRITERIA)


def _keyword_options(function: Callable[..., Any], *, drop: Iterable[str] = ()) -> tuple[str, ...]:
    params = inspect.signature(function).parameters.values()
    skip = set(_RESERVED) | set(drop)
    return tuple(p.name for p in params if p.kind is p.KEYWORD_ONLY and p.name not in skip)


def register_criterion(
    name: str,
    function: Callable[..., Assessment],
    *,
    needs: Iterable[str],
    description: str,
    citation: str = "",
    options: Iterable[str] | None = None,
    replace: bool = False,
) -> Criterion:
    """Add a response criterion to :data:`CRITERIA` and return its record.

    Parameters
    ----------
    name
        Registry name (stored lower case).
    function
        ``function(readouts, *, seed, patient_ids, **options) -> Assessment``.
    needs
        :class:`Readouts` fields the criterion requires (checked by :func:`assess`).
    description, citation
        One-line description and the citation key of its source.
    options
        Keyword options it accepts; default: the keyword-only parameters of ``function``
        (other than ``seed`` and ``patient_ids``), or unchecked when it takes ``**options``.
    replace
        Allow replacing a criterion of the same name.

    Examples
    --------
    >>> from oncotwin.trials.assessment import CRITERIA, assess_recist, register_criterion
    >>> def strict(r, *, seed, patient_ids):
    ...     return assess_recist(r.scan_days, r.lesion_diameter_mm, r.lesion_organ,
    ...                          r.new_lesion_day, r.death_day, r.end_day, seed=seed,
    ...                          patient_ids=patient_ids, noise_cv=0.0)
    >>> c = register_criterion("recist-exact", strict, description="RECIST 1.1, exact reads",
    ...                        needs=("lesion_diameter_mm", "lesion_organ", "new_lesion_day"))
    >>> c.options, "recist-exact" in CRITERIA
    ((), True)
    """
    key = str(name).strip().lower()
    if key in _CRITERIA and not replace:
        raise ParameterError(
            f"criterion {key!r} is already registered; pick another name or pass replace=True"
        )
    if options is None:
        kinds = {p.kind for p in inspect.signature(function).parameters.values()}
        takes_any = inspect.Parameter.VAR_KEYWORD in kinds
        options = None if takes_any else _keyword_options(function)
    criterion = Criterion(
        name=key,
        description=description,
        citation=citation,
        needs=tuple(needs),
        function=function,
        options=None if options is None else tuple(options),
    )
    _CRITERIA[key] = criterion
    return criterion


def get_criterion(name: str) -> Criterion:
    """Return the registered criterion ``name`` (case-insensitive), suggesting close names.

    Examples
    --------
    >>> get_criterion("RECIST").citation
    'Eisenhauer2009'
    >>> get_criterion("lugan")
    Traceback (most recent call last):
    ...
    oncotwin.errors.UnknownNameError: unknown response criterion 'lugan'; did you mean 'lugano'?
    """
    key = str(name).strip().lower()
    try:
        return _CRITERIA[key]
    except KeyError:
        raise UnknownNameError(did_you_mean(key, _CRITERIA, what="response criterion")) from None


def assess(
    criterion: str,
    readouts: Readouts,
    *,
    seed: int,
    patient_ids: np.ndarray,
    **options: Any,
) -> Assessment:
    """Assess response of a population by the registered ``criterion``.

    Parameters
    ----------
    criterion
        A name of :data:`CRITERIA`: ``"recist"``, ``"irecist"``, ``"lugano"``, ``"imwg"``,
        ``"marrow"`` or one added with :func:`register_criterion`.
    readouts
        The measurements at the scan days; must hold every readout the criterion needs.
    seed, patient_ids
        Run seed and global patient ids (the reader noise of a patient derives from them alone).
    **options
        The criterion's options, e.g. ``noise_cv``, ``confirm``, ``confirm_min_days`` (the
        confirmation interval [days]; a spec's ``confirm_response_weeks`` times 7).

    Returns
    -------
    Assessment

    Examples
    --------
    >>> import numpy as np
    >>> r = Readouts(scan_days=np.array([0.0, 28, 56]), death_day=np.array([np.inf]),
    ...              end_day=np.array([90.0]), tumour_burden=np.array([[3.0, 1.0, 0.9]]))
    >>> a = assess("imwg", r, seed=0, patient_ids=np.array([0]), noise_cv=0.0)
    >>> a.criteria, a.best_response_names.tolist()
    ('IMWG 2016 (simplified)', ['PR'])
    >>> assess("recist", r, seed=0, patient_ids=np.array([0]))
    Traceback (most recent call last):
    ...
    oncotwin.errors.OncotwinError: criterion 'recist' needs readout lesion_diameter_mm, ...
    """
    crit = get_criterion(criterion)
    if not isinstance(readouts, Readouts):
        raise OncotwinError(
            f"assess({crit.name!r}): readouts is a {type(readouts).__name__}; build a "
            "oncotwin.trials.assessment.Readouts from the model's measurements"
        )
    missing = [need for need in crit.needs if getattr(readouts, need) is None]
    if missing:
        raise OncotwinError(
            f"criterion {crit.name!r} needs readout {', '.join(missing)}, which these Readouts "
            f"lack (given: {', '.join(readouts.available())}); pass "
            f"{', '.join(f'{m}=...' for m in missing)} when building Readouts, or pick a "
            f"criterion the model can feed"
        )
    if crit.options is not None:
        for option in options:
            if option not in crit.options:
                msg = did_you_mean(option, crit.options or ("(none)",), what="option", n=1)
                raise ParameterError(f"criterion {crit.name!r}: {msg}")
    clinical, end = readouts.clinical_progression_day, readouts.end_day
    if clinical is not None:  # scans stop at a clinical progression
        stop = np.minimum(end, clinical)
        readouts = dataclasses.replace(readouts, end_day=stop, clinical_progression_day=None)
    result = crit.function(readouts, seed=seed, patient_ids=patient_ids, **options)
    if not isinstance(result, Assessment):
        raise OncotwinError(
            f"criterion {crit.name!r} returned a {type(result).__name__}, not an Assessment; "
            "its function must return oncotwin.trials.assessment.Assessment"
        )
    if clinical is not None:
        result = _with_clinical_progression(result, clinical, end, readouts.death_day)
    return result


def _with_clinical_progression(
    result: Assessment, clinical: np.ndarray, end: np.ndarray, death: np.ndarray
) -> Assessment:
    """``result`` (assessed with scans up to each patient's clinical progression) with that
    progression counted where it comes first (before the radiological progression, death
    and the end of follow-up), and OS read to the real end of follow-up."""
    first = (clinical < result.progression_day) & (clinical <= end) & (clinical < death)
    first &= ~(result.pfs_event & (result.pfs_days <= clinical))
    pfs = np.where(first, clinical, result.pfs_days)
    responder = np.isfinite(result.dor_days)
    os_event = death <= end
    return dataclasses.replace(
        result,
        progression_day=np.where(first, clinical, result.progression_day),
        pfs_days=pfs,
        pfs_event=result.pfs_event | first,
        dor_days=np.where(responder, pfs - result.response_day, result.dor_days),
        dor_event=result.dor_event | (first & responder),
        os_days=np.where(os_event, death, end),
        os_event=os_event,
    )


# --------------------------------------------------------------------------------------------
# built-in criteria (names as in models/metastatic_io_cancers.py ``CancerSet.assessment``)
# --------------------------------------------------------------------------------------------


def _lesions(assess_fn: Callable[..., Assessment], **fixed: Any) -> Callable[..., Assessment]:
    def run(readouts: Readouts, *, seed: int, patient_ids: np.ndarray, **options: Any):
        return assess_fn(
            readouts.scan_days,
            readouts.lesion_diameter_mm,
            readouts.lesion_organ,
            readouts.new_lesion_day,
            readouts.death_day,
            readouts.end_day,
            seed=seed,
            patient_ids=patient_ids,
            **fixed,
            **options,
        )

    return run


def _series(assess_fn: Callable[..., Assessment], field: str) -> Callable[..., Assessment]:
    def run(readouts: Readouts, *, seed: int, patient_ids: np.ndarray, **options: Any):
        return assess_fn(
            readouts.scan_days,
            getattr(readouts, field),
            readouts.death_day,
            readouts.end_day,
            seed=seed,
            patient_ids=patient_ids,
            new_lesion_day=readouts.new_lesion_day,
            **options,
        )

    return run


_LESIONS = ("lesion_diameter_mm", "lesion_organ", "new_lesion_day")
register_criterion(
    "recist",
    _lesions(assess_recist),
    needs=_LESIONS,
    description="RECIST 1.1 target-lesion sums with confirmation (irecist=True: iRECIST)",
    citation="Eisenhauer2009",
    options=_keyword_options(assess_recist),
)
register_criterion(
    "irecist",
    _lesions(assess_recist, irecist=True),
    needs=_LESIONS,
    description="iRECIST: RECIST 1.1 with confirmed progression and pseudoprogression",
    citation="Seymour2017",
    options=_keyword_options(assess_recist, drop=("irecist",)),
)
register_criterion(
    "lugano",
    _lesions(assess_lugano),
    needs=_LESIONS,
    description="Lugano 2014 lymphoma response, CT-based and simplified (SPD, per-lesion PD)",
    citation="Cheson2014",
    options=_keyword_options(assess_lugano),
)
register_criterion(
    "imwg",
    _series(assess_imwg, "tumour_burden"),
    needs=("tumour_burden",),
    description="IMWG-like myeloma response from an M-protein proxy (tumour burden series)",
    citation="Kumar2016",
    options=_keyword_options(assess_imwg, drop=("new_lesion_day",)),
)
register_criterion(
    "marrow",
    _series(assess_marrow, "marrow_blast_fraction"),
    needs=("marrow_blast_fraction",),
    description="B-ALL response from bone-marrow blast fractions (CR below 5% blasts)",
    citation="Maude2018",
    options=_keyword_options(assess_marrow, drop=("new_lesion_day",)),
)
