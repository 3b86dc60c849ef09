"""Parameter sets: named, frozen, composable mappings of parameter records, kept in data files.

Equations live in ``oncotwin.models``; values live here. A parameter set maps parameter names
to :class:`~oncotwin.parameters.Parameter` records (value, unit, source or assumption with its
reason). Shipped sets are package data files ``oncotwin/parameters/sets/<model>/<name>.toml``
loaded by name::

    default = ParameterSet.load("metastatic_io/default")    # the model's defaults
    melanoma = ParameterSet.load("metastatic_io/melanoma")  # base = "default" in its file

**Composition.** ``a | b`` is the set whose values are ``b``'s where ``b`` has the parameter and
``a``'s elsewhere (the later set wins, as with ``dict | dict``). A file that says
``base = "default"`` is loaded as ``base | file``, so a calibrated set written over a cancer set
layers as ``default | cancer | calibrated``. ``base`` may name a set of the same model
(``"melanoma"``), any set (``"metastatic_io/melanoma"``) or a file next to this one
(``"fit1.toml"``).

Every registered model has a default set by name: ``"<model>/default"`` is the file if one is
shipped and otherwise the parameters the model declares. A set of a registered model is checked
against the model when it is read: every name must be a parameter of the model ("did you
mean"), every unit compatible with the model's declared unit (pint; a compatible unit such as
``1/week`` for ``1/day`` is converted), every value finite and within the valid range.

File format (``to_toml`` writes it; floats are written with ``repr`` so they read back
exactly)::

    model = "metastatic_io"
    name = "metastatic_io/melanoma"
    base = "default"
    description = "..."

    [settings]            # values a loader reads that are not model parameters
    antigens = []

    [parameters.growth_rate]
    value = 0.0038333333333333336
    unit = "1/day"
    assumption = true     # or: source = "Iwata2000" and where = "Table 1"
    reason = "..."
    log_sd = 0.3          # optional: description, log_sd, lower, upper

Examples
--------
>>> melanoma = ParameterSet.load("metastatic_io/melanoma")
>>> melanoma.base, melanoma["growth_rate"].unit
('metastatic_io/default', '1/day')
>>> default = ParameterSet.load("metastatic_io/default")
>>> (default | melanoma)["growth_rate"] == melanoma["growth_rate"]
True
>>> "Iwata2000" in default.citations
True
>>> ParameterSet.load("kuznetsov1994/default")["s"].unit  # no file: the model's declared set
'cell/day'
"""

from __future__ import annotations

import hashlib
import importlib
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from oncotwin.errors import ParameterError, UnknownNameError, did_you_mean
from oncotwin.parameters import _toml
from oncotwin.parameters._check import fit_to_model
from oncotwin.parameters.core import Parameter

if TYPE_CHECKING:
    import numpy as np

    from oncotwin.models.base import Model

__all__ = ["ParameterSet", "list_parameter_sets"]

_TOP_KEYS = ("model", "name", "base", "description", "settings", "parameters")


def _sets_root() -> Traversable:
    return resources.files("oncotwin.parameters").joinpath("sets")


def _registered(model: str) -> bool:
    from oncotwin.models.registry import MODELS

    return model.lower() in MODELS or model.lower().startswith("pk:")


def _register_citations(model: str) -> None:
    """Import the module of a registered model: it registers the papers its values cite."""
    from oncotwin.models.registry import MODELS

    if model.lower() in MODELS:
        importlib.import_module(MODELS[model.lower()][0])


@dataclass(frozen=True)
class ParameterSet(Mapping[str, Parameter]):
    """A named, frozen mapping of parameter name -> :class:`Parameter` record.

    Parameters
    ----------
    name
        The set's name, ``"<model>/<set>"`` for shipped sets (e.g. ``"metastatic_io/melanoma"``).
    parameters
        Parameter name -> record (value, unit, source or assumption).
    model
        The model the set is for (``None``: not tied to a model).
    base
        Name of the set this one is layered over (``None``: self-contained).
    own
        The names this set itself declares (the rest come from ``base``); all names if omitted.
    settings
        Values that are not model parameters but belong to the set (e.g. the target antigens
        of a cancer set).
    description
        What the set is.
    origin
        Where it was read from (a file path), for messages.

    Examples
    --------
    >>> p = Parameter(0.5, "1/day", assumption=True, reason="example")
    >>> s = ParameterSet("demo", {"k": p}) | ParameterSet("fit", {"k": p.with_value(0.7)})
    >>> s["k"].value, s.name, s.own
    (0.7, 'demo | fit', ('k',))
    """

    name: str
    parameters: Mapping[str, Parameter]
    model: str | None = None
    base: str | None = None
    own: tuple[str, ...] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    origin: str = ""

    def __post_init__(self) -> None:
        for key, record in self.parameters.items():
            if not isinstance(record, Parameter):
                raise ParameterError(
                    f"parameter {key!r} of set {self.name!r} is {record!r}; give a Parameter "
                    "record (value, unit, source or assumption=True with a reason)"
                )
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        own = tuple(self.parameters) if self.own is None else tuple(self.own)
        object.__setattr__(self, "own", own)

    # ------------------------------------------------------------------------ mapping
    def __getitem__(self, key: str) -> Parameter:
        try:
            return self.parameters[key]
        except KeyError:
            raise UnknownNameError(
                did_you_mean(key, self.parameters, what="parameter") + f" in set {self.name!r}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __repr__(self) -> str:
        base = f", base={self.base!r}" if self.base else ""
        return f"ParameterSet({self.name!r}, {len(self)} parameters{base})"

    def __or__(self, other: object) -> ParameterSet:
        """``self | other``: ``other``'s values where it has them, ``self``'s elsewhere."""
        if not isinstance(other, ParameterSet):
            return NotImplemented
        if self.model and other.model and self.model != other.model:
            raise ParameterError(
                f"cannot layer set {other.name!r} (model {other.model!r}) over {self.name!r} "
                f"(model {self.model!r}); compose sets of one model"
            )
        return ParameterSet(
            f"{self.name} | {other.name}",
            {**self.parameters, **other.parameters},
            model=other.model or self.model,
            base=self.name,
            own=tuple(other.parameters),
            settings={**self.settings, **other.settings},
            description=other.description or self.description,
        )

    # ----------------------------------------------------------------------- views
    @property
    def citations(self) -> tuple[str, ...]:
        """Citation keys of the sourced values, in order, without repeats (cite them when the
        set is used: :meth:`use_citations`)."""
        keys = (p.source.key for p in self.parameters.values() if p.source is not None)
        return tuple(dict.fromkeys(keys))

    def use_citations(self) -> None:
        """Mark the papers of this set's values as used by the run (see ``oncotwin.cite``)."""
        from oncotwin.citations import cite

        cite(*self.citations)

    def values_hash(self) -> str:
        """A short hash of every value and log-SD (name order): two sets with the same hash
        give the same simulations; stored runs record it so that runs of other values are
        never mixed with them."""
        h = hashlib.sha256()
        for name in sorted(self.parameters):
            rec = self.parameters[name]
            h.update(f"{name}={rec.value!r}/{rec.log_sd!r};".encode())
        return h.hexdigest()[:16]

    def vector(self, model: Model) -> np.ndarray:
        """Parameter vector of ``model`` (model order): this set's values, the model's
        defaults for parameters the set does not name."""
        values = model.default_parameters()
        for key, record in self.check(model).items():
            values[model.parameter_index(key)] = record.value
        return values

    def check(self, model: Model) -> ParameterSet:
        """This set checked against ``model`` (names, units, ranges); values given in another
        compatible unit come back converted to the model's unit."""
        where = f"parameter set {self.origin or self.name!r}"
        fitted = fit_to_model(self.parameters, model, where)
        return replace(self, parameters=fitted, model=model.name)

    # ----------------------------------------------------------------------- writing
    def to_toml(self, *, over: ParameterSet | None = None) -> str:
        """The set as TOML text (the format :meth:`from_file` reads).

        Without ``over`` every parameter is written (a self-contained file). With ``over`` only
        the records (and settings) that differ from ``over``'s are written, with
        ``base = over.name`` (its short name when ``over`` is a set of the same model), so the
        file layers over that set when loaded.
        """
        params: Mapping[str, Parameter] = self.parameters
        settings: Mapping[str, Any] = self.settings
        base = None
        if over is not None:
            if " | " in over.name:
                raise ParameterError(
                    f"cannot write a set over {over.name!r}: a composed set has no name to load "
                    "it by; save it first (save(path)) and layer over the saved set's name"
                )
            params = {k: p for k, p in params.items() if over.parameters.get(k) != p}
            settings = {k: v for k, v in settings.items() if over.settings.get(k) != v}
            base = over.name
            if self.model and over.model == self.model and base.startswith(f"{self.model}/"):
                base = base[len(self.model) + 1 :]  # a set of the same model, by its short name
        header = {
            "model": self.model,
            "name": self.name,
            "base": base,
            "description": self.description or None,
        }
        return _toml.dumps(header, settings, params)

    def save(self, path: str | Path, *, over: ParameterSet | None = None) -> Path:
        """Write :meth:`to_toml` to ``path`` (a ``.toml`` file); returns the path."""
        path = Path(path)
        if path.suffix != ".toml":
            raise ParameterError(f"parameter set file {path} must end in .toml; e.g. fit1.toml")
        path.write_text(self.to_toml(over=over), encoding="utf-8")
        return path

    # ----------------------------------------------------------------------- reading
    @classmethod
    def load(cls, name: str, *, validate: bool = True) -> ParameterSet:
        """The shipped set ``name`` (``"<model>/<set>"``; ``"<model>"`` means its default).

        ``"<model>/default"`` of a registered model without a file is the set of the
        parameters the model declares. ``validate=False`` skips the check against the
        model (the model's own build reads its defaults this way).
        """
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(
                f"parameter set name {name!r}; give '<model>/<set>', e.g. 'metastatic_io/melanoma'"
            )
        name = name.strip()
        if "/" not in name:
            name += "/default"
        return _load_named(name, validate)

    @classmethod
    def from_file(cls, path: str | Path, *, validate: bool = True) -> ParameterSet:
        """A set from a user's TOML file (same format as the shipped sets)."""
        path = Path(path)
        if not path.is_file():
            raise ParameterError(
                f"parameter set file {path} does not exist; give the path of a .toml file "
                "(write one with ParameterSet.save)"
            )
        return _read(path.read_text(encoding="utf-8"), str(path), path.parent, None, validate, ())

    @classmethod
    def from_model(cls, model: Model) -> ParameterSet:
        """The parameters ``model`` declares, as the set ``"<model>/default"``."""
        return cls(
            f"{model.name}/default",
            dict(model.parameters),
            model=model.name,
            description=f"parameters declared by model {model.name!r}",
            origin=f"model {model.name!r}",
        )


def list_parameter_sets(model: str | None = None) -> list[str]:
    """Names of the loadable sets (of ``model`` if given), sorted.

    Examples
    --------
    >>> "metastatic_io/melanoma" in list_parameter_sets("metastatic_io")
    True
    >>> "kuznetsov1994/default" in list_parameter_sets()
    True
    """
    from oncotwin.models.registry import MODELS

    names = {f"{m}/default" for m in MODELS}
    for folder in _sets_root().iterdir():
        if folder.is_dir():
            names |= {
                f"{folder.name}/{f.name[:-5]}" for f in folder.iterdir() if f.name.endswith(".toml")
            }
    if model is None:
        return sorted(names)
    chosen = sorted(n for n in names if n.split("/", 1)[0] == model.lower())
    if not chosen and not _registered(model):
        models = {n.split("/", 1)[0] for n in names}
        raise UnknownNameError(did_you_mean(model, models, what="model"))
    return chosen


# --------------------------------------------------------------------------- internals
@cache
def _load_named(name: str, validate: bool, stack: tuple[str, ...] = ()) -> ParameterSet:
    model, _, set_name = name.partition("/")
    file = _sets_root().joinpath(model, f"{set_name}.toml")
    if file.is_file():
        text = file.read_text(encoding="utf-8")
        return _read(text, str(file), None, (model, name), validate, stack)
    if set_name == "default" and _registered(model):
        from oncotwin.models.registry import get_model

        return ParameterSet.from_model(get_model(model))
    raise UnknownNameError(
        did_you_mean(name, list_parameter_sets(), what="parameter set")
        + "; list them with oncotwin.parameters.list_parameter_sets(), or read your own file "
        "with ParameterSet.from_file(path)"
    )


def _read(
    text: str,
    origin: str,
    folder: Path | None,
    shipped: tuple[str, str] | None,
    validate: bool,
    stack: tuple[str, ...],
) -> ParameterSet:
    """One file's set, layered over its base; ``shipped`` = (model folder, set name)."""
    where = f"parameter set {origin}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{where} is not valid TOML ({e}); fix the file") from None
    for key in doc:
        if key not in _TOP_KEYS:
            raise ParameterError(
                f"{where}: "
                + did_you_mean(key, _TOP_KEYS, what="key")
                + f"; a set has the keys {', '.join(_TOP_KEYS)}"
            )
    for key in ("model", "name", "base", "description"):
        if key in doc and not isinstance(doc[key], str):
            raise ParameterError(f"{where}: {key} = {doc[key]!r}; write a string in quotes")
    model = doc.get("model")
    name = doc.get("name")
    if shipped is not None:
        folder_model, shipped_name = shipped
        if model is not None and model != folder_model:
            raise ParameterError(
                f'{where}: model = "{model}" but the file is in the folder of model '
                f'{folder_model!r}; write model = "{folder_model}" or move the file'
            )
        if name is not None and name != shipped_name:
            raise ParameterError(
                f'{where}: name = "{name}" but the file is loaded as {shipped_name!r}; write '
                f'name = "{shipped_name}"'
            )
        model, name = folder_model, shipped_name
    name = name or Path(origin).stem
    if name in stack:
        raise ParameterError(
            f"{where}: base sets form a cycle ({' -> '.join([*stack, name])}); remove one base"
        )
    for key in ("parameters", "settings"):
        if not isinstance(doc.get(key, {}), Mapping):
            raise ParameterError(f"{where}: {key} must be a table ([{key}] or [{key}.<name>])")
    settings = dict(doc.get("settings", {}))

    base_set = None
    if "base" in doc:
        base_set = _base(doc["base"], model, folder, where, validate, (*stack, name))
        model = model or base_set.model
        settings = {**base_set.settings, **settings}
    found = model is not None and _registered(model)
    if found:
        _register_citations(model)
    checked = None
    if validate and found:
        from oncotwin.models.registry import get_model

        checked = get_model(model)
    own: dict[str, Parameter] = {}
    for key, table in doc.get("parameters", {}).items():
        declared = checked.parameters.parameters.get(key) if checked is not None else None
        unit = declared.unit if declared is not None else None
        own[key] = _toml.record_from_table(
            table, where=f"{where}, parameter {key!r}", model_unit=unit
        )
    if checked is not None:
        own = fit_to_model(own, checked, where)
    parameters = {**base_set.parameters, **own} if base_set is not None else own
    return ParameterSet(
        name,
        parameters,
        model=model,
        base=base_set.name if base_set is not None else None,
        own=tuple(own),
        settings=settings,
        description=doc.get("description", ""),
        origin=origin,
    )


def _base(
    base: str,
    model: str | None,
    folder: Path | None,
    where: str,
    validate: bool,
    stack: tuple[str, ...],
) -> ParameterSet:
    if base.endswith(".toml"):
        path = (folder or Path.cwd()) / base
        if not path.is_file():
            raise ParameterError(f'{where}: base = "{base}" but {path} does not exist; fix base')
        text = path.read_text(encoding="utf-8")
        return _read(text, str(path), path.parent, None, validate, stack)
    if "/" not in base:
        if model is None:
            raise ParameterError(
                f'{where}: base = "{base}" needs the model: write model = "<model>" or '
                f'base = "<model>/{base}"'
            )
        base = f"{model}/{base}"
    if base in stack:
        raise ParameterError(
            f"{where}: base sets form a cycle ({' -> '.join([*stack, base])}); remove one base"
        )
    try:
        return _load_named(base, validate, stack)
    except UnknownNameError as e:
        raise ParameterError(f"{where}: base: {e}") from None
