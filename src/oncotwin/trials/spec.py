"""Trial specification files: TOML validated into small frozen pydantic models.

A spec says which patients, which arms (regimens in the regimen grammar), how often they are
scanned and how long they are followed::

    [trial]
    name = "KEYNOTE-024"
    cancer = "nsclc"
    seed = 2016
    patients = 305
    follow_up_months = 60
    reference_arm = "chemotherapy"

    [population]
    eligibility = { pdl1_tps_min = 50 }

    [schedule]
    scans = "q9w"                      # or "q6w to week 48, then q12w", or a list of tables:
                                       # scans = [{ every_weeks = 6, until_week = 48 },
                                       #          { every_weeks = 12 }]
    confirm_response_weeks = 4

    [treatment]
    max_duration_months = 24
    discontinue_on = ["progression", "toxicity"]
    max_months_by_class = { "anti-PD-1" = 24 }   # no checkpoint dose after 2 years

    [[arm]]
    name = "pembrolizumab"
    regimen = "pembrolizumab 200 mg IV q3w x35"
    ratio = 1
    published = { arm_id = "KN024_PEMBRO" }

    [[arm]]
    name = "chemotherapy"
    regimen = "pemetrexed 500 mg/m2 + carboplatin 400 mg/m2 IV q3w x4"
    crossover = { to_arm = "pembrolizumab", at = "progression", fraction = 0.66 }

An arm's ``regimen`` is one regimen string, a list of regimen strings given concurrently (each
starts on day 0, e.g. weekly trastuzumab beside 3-weekly paclitaxel), or ``"placebo"`` for an
arm with no active drug. Every regimen is parsed with :func:`oncotwin.regimens.parse_regimen`.

:func:`load_spec` / :func:`parse_spec` raise one :class:`SpecError` listing every bad field as
``file:line: field = value: what is wrong; the fix``. Unknown keys are errors at every level,
the ``eligibility`` and ``baseline`` inline tables included (typos are caught with a
did-you-mean: a misspelt criterion is never silently ignored). Eligibility keys are the applied
criteria of :data:`oncotwin.population.covariates.ELIGIBILITY_KEYS` (or a spec spelling such
as ``no_active_brain_mets``) or recorded-only descriptive criteria
(:data:`~oncotwin.trials._spec_population.DESCRIPTIVE_CRITERIA`); values must have the
criterion's type and lie in its domain (percentages 0-100, proportions 0-1). Limits:
``follow_up_months`` and ``max_duration_months`` <= 600 (50 years), ``patients`` <= 10 million,
``seed`` from 0 to 2**63 - 1, ``ratio`` <= 100, at most 10,000 scans, and the regimen limits
of :mod:`oncotwin.regimens.grammar`. A file must be UTF-8 TOML. Examples shipped with the
package: :func:`list_examples`, :func:`example_path`.

Examples
--------
>>> spec = load_spec(example_path("keynote024"))
>>> spec.trial.name, spec.arm_names
('KEYNOTE-024', ('pembrolizumab', 'platinum doublet chemotherapy'))
>>> spec.scan_days(200.0).tolist()
[0.0, 63.0, 126.0, 189.0]
>>> spec.allocation(10)
{'pembrolizumab': 5, 'platinum doublet chemotherapy': 5}

The code lives in private modules behind this one: the tables in ``_spec_models``, the
``[schedule]`` table and its scan grammar in ``_spec_scans``, the TOML error messages in
``_spec_errors``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from oncotwin._constants import DAYS_PER_MONTH
from oncotwin.errors import UnknownNameError, did_you_mean
from oncotwin.trials._spec_errors import (
    SpecError,
    _format,
    _problems,
    _spec_error,
    _toml_syntax_error,
)
from oncotwin.trials._spec_models import _MINIMAL as _MINIMAL
from oncotwin.trials._spec_models import PLACEBO as PLACEBO
from oncotwin.trials._spec_models import (
    ArmSpec,
    CrossoverSpec,
    PopulationSpec,
    PublishedLink,
    TreatmentSpec,
    TrialInfo,
    TrialSpec,
)
from oncotwin.trials._spec_models import Scalar as Scalar
from oncotwin.trials._spec_scans import ScanSegment, ScheduleSpec
from oncotwin.trials._spec_scans import parse_scans as parse_scans

__all__ = [
    "DAYS_PER_MONTH",
    "ArmSpec",
    "CrossoverSpec",
    "PopulationSpec",
    "PublishedLink",
    "ScanSegment",
    "ScheduleSpec",
    "SpecError",
    "TreatmentSpec",
    "TrialInfo",
    "TrialSpec",
    "example_path",
    "list_examples",
    "load_spec",
    "parse_spec",
]

_EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def parse_spec(
    text: str | bytes,
    *,
    source: str = "<string>",
    cancer_types: Iterable[str] | None = None,
    eligibility_keys: Iterable[str] | None = None,
) -> TrialSpec:
    """Parse and validate a TOML trial spec.

    Parameters
    ----------
    text
        The TOML text (bytes are read as UTF-8; anything else is refused in one line).
    source
        File name used in error messages.
    cancer_types, eligibility_keys
        Hooks for the population module: when given, ``trial.cancer`` must be one of
        ``cancer_types`` and every ``population.eligibility`` key one of ``eligibility_keys``
        (did-you-mean otherwise). Left out, any non-empty cancer and any key are accepted.

    Raises
    ------
    SpecError
        One message with one ``file:line: field = value: problem; fix`` line per bad field.
    """
    text = _as_text(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_syntax_error(exc, text, source) from None
    except RecursionError:
        raise SpecError(
            f"{source}: TOML nested too deeply to read; a spec needs at most a table in a list "
            "in a table",
            source=source,
        ) from None
    try:
        spec = TrialSpec.model_validate(data)
    except RecursionError:
        raise SpecError(f"{source}: values nested too deeply; see a shipped example") from None
    except ValidationError as exc:
        problems = _problems(exc, text, data, source)
        raise _spec_error(problems, source) from None
    extra: list[tuple[int | None, str]] = []
    if cancer_types is not None:
        known = list(cancer_types)
        if spec.trial.cancer not in known:
            loc = ("trial", "cancer")
            hint = did_you_mean(spec.trial.cancer, known, what="cancer type")
            extra.append(_format(loc, text, source, f"{hint}", data))
    if eligibility_keys is not None:
        known = list(eligibility_keys)
        for key in spec.population.eligibility:
            if key not in known:
                loc = ("population", "eligibility")
                hint = did_you_mean(key, known, what="eligibility key")
                extra.append(_format(loc, text, source, hint, data))
    if extra:
        raise _spec_error(extra, source)
    spec._text = text
    spec._source = source
    return spec


def load_spec(
    path: str | Path,
    *,
    cancer_types: Iterable[str] | None = None,
    eligibility_keys: Iterable[str] | None = None,
) -> TrialSpec:
    """Read and validate a TOML trial spec file (see :func:`parse_spec`)."""
    p = Path(path)
    if not p.is_file():
        names = ", ".join(n for n, _ in list_examples()[:4])
        raise SpecError(
            f"spec file: {str(path)!r} not found; give the path of a .toml spec, or use a "
            f"shipped example via example_path(name) (e.g. {names})",
            source=str(path),
        )
    # a shipped example is named by its file name, not by where the package is installed
    source = p.name if p.resolve().parent == _EXAMPLES_DIR else str(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"spec file: cannot read {str(path)!r} ({exc.strerror or type(exc).__name__}); "
            "check the path and its permissions",
            source=source,
        ) from None
    return parse_spec(
        raw,
        source=source,
        cancer_types=cancer_types,
        eligibility_keys=eligibility_keys,
    )


def _as_text(text: str | bytes, source: str) -> str:
    """The spec as text: UTF-8 bytes decoded (a leading byte-order mark dropped); anything
    that is not UTF-8 text refused in one line."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = bytes(text)[exc.start : exc.start + 1].hex()
            raise SpecError(
                f"{source}: not UTF-8 text (byte 0x{bad} at offset {exc.start}); a spec is a "
                "UTF-8 TOML file: save it as UTF-8 (e.g. 'Save with encoding: UTF-8')",
                source=source,
            ) from None
    if not isinstance(text, str):
        raise SpecError(
            f"{source}: a spec is TOML text (str or UTF-8 bytes), got {type(text).__name__}",
            source=source,
        )
    return text.removeprefix("\ufeff")


# ------------------------------------------------------------------------------------------
# shipped examples
# ------------------------------------------------------------------------------------------
def list_examples() -> list[tuple[str, str]]:
    """``(name, title)`` of every example spec shipped with oncotwin, sorted by name.

    Examples
    --------
    >>> ("checkmate067", "CheckMate 067") in list_examples()
    True
    """
    out = []
    for p in sorted(_EXAMPLES_DIR.glob("*.toml")):
        with p.open("rb") as fh:
            title = tomllib.load(fh).get("trial", {}).get("name", p.stem)
        out.append((p.stem, str(title)))
    return out


def example_path(name: str) -> Path:
    """Path of the shipped example spec ``name`` (e.g. ``"checkmate067"``; ``.toml`` optional).

    Raises
    ------
    UnknownNameError
        With a did-you-mean when there is no such example.
    """
    stem = str(name).strip().lower().removesuffix(".toml")
    path = _EXAMPLES_DIR / f"{stem}.toml"
    if not path.is_file():
        names = [p.stem for p in _EXAMPLES_DIR.glob("*.toml")]
        raise UnknownNameError(
            did_you_mean(str(name), names, what="example trial")
            + " (list them with oncotwin.trials.spec.list_examples())"
        )
    return path
