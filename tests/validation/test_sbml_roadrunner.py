"""Imported BioModels SBML files against libRoadRunner.

Source: computed here. Each curated file is imported and solved by oncotwin and by
libRoadRunner (CVODE) and compared (scaled error <= 1e-6 at 61 output times; rule in
:mod:`oncotwin.io._sbml_compare`). Every file is expected to **match**, except the frozen list
:data:`KNOWN` of files with a documented other result; a file that matched and is now refused
(``SbmlUnsupportedError``) or differs **fails**. The "N files: ..." line and the per-file
results of ``docs/sbml_roadrunner.md`` (written by ``scripts/sbml_roadrunner_table.py``) are
checked against these results by the slow set, which CI runs (``pytest -m slow``); the fast
set checks the page against itself, against :data:`KNOWN` and against the README's figure.

The known-differences list is frozen: the two entries of :data:`GRANDFATHERED` predate the
rule (no reliable reference exists for them: see their reasons); any other entry must carry
evidence that libRoadRunner, not oncotwin, is wrong: a tight SciPy LSODA solution (rtol 1e-12,
reported by the comparison) within 1e-6 of oncotwin and more than 1e-6 from libRoadRunner.
:func:`test_known_list_is_frozen_and_evidenced` enforces it; the slow set re-derives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

pytest.importorskip("libsbml")  # third-party: python-libsbml
pytest.importorskip("roadrunner")  # third-party: libroadrunner

from oncotwin.io._sbml_compare import TOL, Comparison, compare_with_roadrunner

PAGE = Path(__file__).resolve().parents[2] / "docs/sbml_roadrunner.md"

#: The 64 curated files (``shared/data/external/biomodels-tumor-immune-sbml/sbml``).
ALL_IDS = [
    "BIOMD0000000403",
    "BIOMD0000000650",
    "BIOMD0000000661",
    "BIOMD0000000662",
    "BIOMD0000000665",
    "BIOMD0000000670",
    "BIOMD0000000724",
    "BIOMD0000000731",
    "BIOMD0000000732",
    "BIOMD0000000742",
    "BIOMD0000000753",
    "BIOMD0000000754",
    "BIOMD0000000756",
    "BIOMD0000000758",
    "BIOMD0000000760",
    "BIOMD0000000762",
    "BIOMD0000000777",
    "BIOMD0000000779",
    "BIOMD0000000784",
    "BIOMD0000000785",
    "BIOMD0000000790",
    "BIOMD0000000792",
    "BIOMD0000000797",
    "BIOMD0000000808",
    "BIOMD0000000810",
    "BIOMD0000000815",
    "BIOMD0000000816",
    "BIOMD0000000817",
    "BIOMD0000000820",
    "BIOMD0000000837",
    "BIOMD0000000838",
    "BIOMD0000000876",
    "BIOMD0000000879",
    "BIOMD0000000888",
    "BIOMD0000000891",
    "BIOMD0000000894",
    "BIOMD0000000904",
    "BIOMD0000000909",
    "BIOMD0000000910",
    "BIOMD0000000914",
    "BIOMD0000000921",
    "BIOMD0000000926",
    "BIOMD0000000929",
    "BIOMD0000001011",
    "BIOMD0000001022",
    "BIOMD0000001025",
    "BIOMD0000001034",
    "BIOMD0000001036",
    "BIOMD0000001041",
    "BIOMD0000001048",
    "MODEL1708310001",
    "MODEL1907260001",
    "MODEL1907310002",
    "MODEL1908270001",
    "MODEL1909050002",
    "MODEL1909100002",
    "MODEL1909160002",
    "MODEL1911270002",
    "MODEL1912090003",
    "MODEL1912120003",
    "MODEL2003040001",
    "MODEL2109110003",
    "MODEL2109110004",
    "MODEL2109110006",
]

DIR = "data/external/biomodels-tumor-immune-sbml/sbml"

#: Kuznetsov 1994, Kirschner-Panetta 1998, a CAR-T model (Kimmel 2021), and one with events.
QUICK = ["BIOMD0000000762", "BIOMD0000000732", "BIOMD0000001041", "BIOMD0000000817"]


@dataclass(frozen=True)
class Known:
    """A file whose comparison is not a match, with the result it gives and why.

    ``scipy_vs_oncotwin`` and ``scipy_vs_roadrunner`` are the scaled errors of a tight SciPy
    LSODA solution (rtol 1e-12) against each tool, as the comparison reports them: the evidence
    that libRoadRunner, not oncotwin, is wrong (the first <= 1e-6, the second > 1e-6).
    """

    result: str
    reason: str
    scipy_vs_oncotwin: float | None = None
    scipy_vs_roadrunner: float | None = None


#: Files with a known difference (see docs/sbml_roadrunner.md). Frozen: see the module doc.
KNOWN: dict[str, Known] = {
    "MODEL1708310001": Known(
        "mismatch",
        "1.5-hour dosing pulses switched by floor(time): libRoadRunner, LSODA and oncotwin "
        "step over different pulses (read_sbml warns that the rates switch with time); SciPy "
        "agrees with neither (7.6e-2 vs oncotwin, 6.2e-2 vs libRoadRunner), so no reference",
    ),
    "MODEL2109110003": Known(
        "error",
        "libRoadRunner (CVODE convergence failure) and oncotwin (step-size underflow) both "
        "fail: log(K/(x + y)) as the tumour vanishes; no reference",
    ),
}
#: Entries listed before the evidence rule; this set may only shrink.
GRANDFATHERED = frozenset({"MODEL1708310001", "MODEL2109110003"})

_SCIPY = re.compile(r"SciPy LSODA \(rtol 1e-12\) vs oncotwin (\S+), vs libRoadRunner (\S+)")


@cache
def _compare(path: str) -> Comparison:
    return compare_with_roadrunner(path)


def _check(shared_file, biomodel: str) -> Comparison:
    c = _compare(str(shared_file(f"{DIR}/{biomodel}.xml")))
    if biomodel in KNOWN:
        k = KNOWN[biomodel]
        assert c.result == k.result, (
            f"{biomodel} is listed in KNOWN as {k.result!r} but gives {c.result!r} "
            f"({c.reason}): update or remove its entry"
        )
        return c
    assert c.result != "refused", (
        f"{biomodel} matched libRoadRunner and is now refused by read_sbml: {c.reason}"
    )
    assert c.result == "match", (c.result, c.max_error, c.worst_state, c.reason)
    return c


@pytest.mark.parametrize("biomodel", QUICK)
def test_quick_models_match_roadrunner(shared_file, biomodel: str) -> None:
    _check(shared_file, biomodel)


def test_known_list_is_frozen_and_evidenced() -> None:
    """The known-differences list only shrinks, and a new entry carries SciPy evidence."""
    assert set(KNOWN) <= set(ALL_IDS)
    assert GRANDFATHERED <= {"MODEL1708310001", "MODEL2109110003"}, "GRANDFATHERED may only shrink"
    for biomodel, k in KNOWN.items():
        if biomodel in GRANDFATHERED:
            continue
        assert k.result == "mismatch", f"{biomodel}: only a mismatch can be shown to be theirs"
        assert k.scipy_vs_oncotwin is not None and k.scipy_vs_roadrunner is not None, (
            f"{biomodel}: give the SciPy reference errors that show libRoadRunner is wrong"
        )
        assert k.scipy_vs_oncotwin <= TOL < k.scipy_vs_roadrunner, biomodel


def _page_rows() -> dict[str, str]:
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ALL_IDS:
            rows[cells[0]] = cells[2]
    return rows


def _summary(results: dict[str, str]) -> str:
    """The page's count line, as ``scripts/sbml_roadrunner_table.py`` writes it."""
    counts: dict[str, int] = {}
    for r in results.values():
        counts[r] = counts.get(r, 0) + 1
    text = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return f"**{len(results)} files: {text}.**"


def test_page_is_consistent_with_itself_and_known() -> None:
    """docs/sbml_roadrunner.md lists every curated file once; its count line is its rows'
    count; the files that do not match are exactly those of KNOWN, with KNOWN's results; the
    README's "N of the M curated BioModels files match" is the page's."""
    rows = _page_rows()
    assert sorted(rows) == sorted(ALL_IDS)
    assert _summary(rows) in PAGE.read_text(encoding="utf-8")
    assert {b: r for b, r in rows.items() if r != "match"} == {
        b: k.result for b, k in KNOWN.items()
    }
    readme = (PAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"(\d+) of the\s+(\d+) curated BioModels files match", readme)
    assert quoted, "README.md no longer quotes 'N of the M curated BioModels files match'"
    n_match = sum(r == "match" for r in rows.values())
    assert (int(quoted[1]), int(quoted[2])) == (n_match, len(rows)), (
        f"README.md quotes {quoted[1]} of {quoted[2]}; docs/sbml_roadrunner.md has "
        f"{n_match} of {len(rows)}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("biomodel", sorted(set(ALL_IDS) - set(QUICK)))
def test_all_curated_models(shared_file, biomodel: str) -> None:
    c = _check(shared_file, biomodel)
    k = KNOWN.get(biomodel)
    if k is not None and k.scipy_vs_oncotwin is not None:
        found = _SCIPY.search(c.reason)
        assert found, f"{biomodel}: the comparison gave no SciPy reference ({c.reason})"
        assert float(found[1]) <= TOL < float(found[2]), (biomodel, c.reason)


@pytest.mark.slow
def test_page_is_up_to_date(shared_file) -> None:
    """The results and the count line of docs/sbml_roadrunner.md are today's: rerun
    ``python scripts/sbml_roadrunner_table.py`` when this fails."""
    results = {b: _compare(str(shared_file(f"{DIR}/{b}.xml"))).result for b in ALL_IDS}
    rows = _page_rows()
    stale = {b: (rows.get(b), r) for b, r in results.items() if rows.get(b) != r}
    assert not stale, f"docs/sbml_roadrunner.md is stale (page, now): {stale}"
    assert _summary(results) in PAGE.read_text(encoding="utf-8")
