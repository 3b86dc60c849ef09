"""The random streams of oncotwin: one definition of every generator, each a pure function of
(seed, patient id, stream, counter), so a patient gets the same numbers in any chunk, on any
worker, in any order.

Three families, kept bit-identical to the results they have always produced:

- :func:`patient_normals`: blocks of NumPy ``default_rng([seed, block])`` normals
  (parameter and covariate sampling; a patient's row depends on the seed and its index).
- :func:`patient_uniforms`: one counter-based uniform per (seed, patient, :class:`Stream`)
  (death, toxicity, crossover, baseline matching).
- :func:`keyed_normals`: counter-based normals per (seed, patient, visit, column, stream)
  (scan reader noise), and :func:`splitmix64` / :func:`randomisation_hash` for block
  randomisation.

Nothing in oncotwin draws random numbers any other way (no global state, no unseeded draw).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

import numpy as np

__all__ = [
    "BLOCK",
    "MAX_SEED",
    "Stream",
    "check_seed",
    "keyed_normals",
    "named_normals",
    "patient_keys",
    "patient_normals",
    "patient_uniforms",
    "randomisation_hash",
    "selection_uniforms",
    "splitmix64",
]

#: Patients per block of :func:`patient_normals`.
BLOCK = 1024

#: Seeds are non-negative integers below 2**63 (hashed as signed 64-bit integers).
MAX_SEED = 2**63 - 1


def check_seed(seed: object, field: str = "seed") -> int:
    """``seed`` if it is a whole number from 0 to 2**63 - 1, else one error naming ``field``.

    Examples
    --------
    >>> check_seed(7)
    7
    """
    from oncotwin.errors import OncotwinError

    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= seed <= MAX_SEED
    ):
        raise OncotwinError(
            f"{field} {seed!r}: a seed is a whole number from 0 to 2**63 - 1 "
            f"({MAX_SEED}); give e.g. {field} 1"
        )
    return int(seed)


class Stream(IntEnum):
    """Named streams of :func:`patient_uniforms` and :func:`keyed_normals` (never reuse one)."""

    #: Reader noise of RECIST 1.1 / iRECIST target lesions (keyed normals).
    READER_RECIST = 0
    #: Reader noise of Lugano lesions (keyed normals).
    READER_LUGANO = 1
    #: Reader noise of the IMWG M-protein proxy (keyed normals).
    READER_IMWG = 2
    #: Reader noise of marrow blast counts (keyed normals).
    READER_MARROW = 3
    #: Exp(1) threshold of the tumour death hazard.
    DEATH_TUMOUR = 11
    #: Exp(1) draw of background (non-cancer) mortality.
    DEATH_BACKGROUND = 12
    #: Whether a patient receives subsequent therapy after progression.
    SUBSEQUENT_THERAPY = 13
    #: Exp(1) threshold of the grade >= 3 irAE hazard.
    IRAE = 21
    #: Whether a grade >= 3 irAE is grade 4.
    IRAE_GRADE4 = 22
    #: Organ of the irAE.
    IRAE_ORGAN = 23
    #: Resolution time of the irAE (log-normal around its median).
    IRAE_RESOLUTION = 24
    #: Whether a patient crosses over at progression.
    CROSSOVER = 31
    #: Which option of an investigator's-choice arm a patient gets.
    REGIMEN_CHOICE = 32
    #: Rejection uniform of baseline matching.
    BASELINE_MATCH = 41
    #: Between-patient draw (eta) of antibody clearance (population PK).
    PK_ETA_CL = 51
    #: Between-patient draw (eta) of antibody central volume.
    PK_ETA_V1 = 52
    #: Between-patient draw of the time-varying antibody clearance change (Emax).
    PK_ETA_EMAX = 53
    #: Age of a plain (covariate-free) virtual patient, for its renal covariates.
    RENAL_AGE = 61
    #: Sex of a plain virtual patient, for its renal covariates.
    RENAL_SEX = 62
    #: Serum creatinine of a plain virtual patient.
    RENAL_CREATININE = 63
    #: Error of the Cockcroft-Gault estimate against the true GFR of a plain virtual patient.
    RENAL_GFR = 64
    #: Between-patient variability of a named model parameter (keyed by the name).
    PARAMETER_IIV = 71
    #: Per-site draws of a trial patient (micrometastases, marrow blasts; keyed by the name).
    SITE_DRAWS = 72


_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S11, _S27, _S30, _S31 = (np.uint64(s) for s in (11, 27, 30, 31))


def patient_normals(seed: int, lo: int, hi: int, k: int) -> np.ndarray:
    """Standard normal draws ``(hi - lo, k)`` for patients ``lo..hi-1`` of run ``seed``.

    Row ``i`` depends only on ``seed``, the patient index and ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.array_equal(patient_normals(3, 0, 10, 2)[7], patient_normals(3, 7, 8, 2)[0]))
    True
    """
    from oncotwin.errors import ParameterError

    if lo < 0 or hi < lo:
        raise ParameterError(f"patient range [{lo}, {hi}) is invalid")
    out = np.empty((hi - lo, k))
    if k == 0:
        return out
    for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1 if hi > lo else lo // BLOCK):
        z = np.random.default_rng([int(seed), b]).standard_normal((BLOCK, k))
        s, e = max(lo, b * BLOCK), min(hi, (b + 1) * BLOCK)
        out[s - lo : e - lo] = z[s - b * BLOCK : e - b * BLOCK]
    return out


def patient_uniforms(seed: int, patient_ids: np.ndarray, stream: int) -> np.ndarray:
    """Uniform(0, 1) numbers from (seed, patient id, stream) by a counter-based hash.

    Independent of chunking: patient ``i`` gets the same number in any batch.

    Examples
    --------
    >>> import numpy as np
    >>> a = patient_uniforms(1, np.arange(5), Stream.DEATH_TUMOUR)
    >>> bool(a[3] == patient_uniforms(1, np.array([3]), Stream.DEATH_TUMOUR)[0])
    True
    """
    ids = np.asarray(patient_ids, dtype=np.uint64)
    x = ids * np.uint64(0x9E3779B97F4A7C15)
    x ^= np.uint64((int(seed) * 0xBF58476D1CE4E5B9 + int(stream) * 0x94D049BB133111EB) % 2**64)
    for mul in (0xBF58476D1CE4E5B9, 0x94D049BB133111EB):
        x ^= x >> np.uint64(30)
        x *= np.uint64(mul)
    x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


def splitmix64(z: np.ndarray) -> np.ndarray:
    """splitmix64 step and finaliser of a uint64 array (wraps modulo 2**64, as intended)."""
    z = z + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


def patient_keys(seed: int, patient_ids: np.ndarray) -> np.ndarray:
    """One 64-bit key per patient of run ``seed`` (the root of :func:`keyed_normals`)."""
    seed_key = splitmix64(np.array([int(seed) & _MASK64], dtype=np.uint64))
    return splitmix64(seed_key ^ np.asarray(patient_ids).astype(np.uint64))


def keyed_normals(keys: np.ndarray, visit: int, n_cols: int, stream: int) -> np.ndarray:
    """Standard normals ``[n_pat, n_cols]`` for one visit from the patients' keys
    (:func:`patient_keys`): a pure function of (seed, patient, visit, column, stream)."""
    from scipy.special import ndtri

    counter = (
        (np.uint64(visit) << np.uint64(32))
        | (np.arange(n_cols, dtype=np.uint64) << np.uint64(8))
        | np.uint64(int(stream) & 0xFF)
    )
    h = splitmix64(keys[:, None] ^ splitmix64(counter)[None, :])
    u = ((h >> _S11).astype(np.float64) + 0.5) * 2.0**-53
    return ndtri(u)


def named_normals(
    seed: int, patient_ids: np.ndarray, names: Sequence[str], stream: int
) -> np.ndarray:
    """Standard normals ``[n_patients, len(names)]``, one column per name: a pure function
    of (seed, patient id, name, stream). Keyed by the name (its CRC-32), not by its position,
    so a model that gains or loses a parameter keeps every patient's draws of the others."""
    import zlib

    from scipy.special import ndtri

    keys = patient_keys(seed, np.asarray(patient_ids, dtype=np.int64))
    crc = np.array([zlib.crc32(n.encode()) for n in names], dtype=np.uint64)
    counter = (crc << np.uint64(32)) | np.uint64(int(stream) & 0xFF)
    h = splitmix64(keys[:, None] ^ splitmix64(counter)[None, :])
    u = ((h >> _S11).astype(np.float64) + 0.5) * 2.0**-53
    return ndtri(u)


def randomisation_hash(seed: np.uint64, key: np.ndarray) -> np.ndarray:
    """Two splitmix64 rounds of (seed, key): the sort keys of block randomisation."""
    with np.errstate(over="ignore"):
        x = key ^ (seed * _GOLDEN + np.uint64(0xA0761D6478BD642F))
        for _ in range(2):
            x = splitmix64(x)
    return x


def selection_uniforms(seed: int, n: int) -> np.ndarray:
    """``n`` uniforms for weighted selection without replacement (baseline matching by
    selection), one stream per seed."""
    return np.random.default_rng([int(seed), 0x5E1EC7]).random(n)
