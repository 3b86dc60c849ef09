"""The regimen-string parser: text -> :class:`~oncotwin.regimens.grammar.Regimen`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import NoReturn

from oncotwin.errors import OncotwinError, RegimenError, UnitError
from oncotwin.pharmacology import get_drug
from oncotwin.pharmacology.catalog import drug_names_and_aliases, unknown_drug_message
from oncotwin.regimens._combinations import (
    Combination,
    combination_names,
    get_combination,
    unknown_combination_message,
)
from oncotwin.regimens._dose_rules import READOUTS, DoseRule, readout_name
from oncotwin.regimens._names import (
    _ROUTES,
    EXAMPLES,
    MAX_COUNT,
    SITES,
    RegimenUnitError,
    UnknownDrugError,
    _count_message,
    _drug_site_message,
    _is_radiation,
    _site_text,
    canonical_site,
)
from oncotwin.regimens._objects import (
    Administration,
    Concurrent,
    Phase,
    Regimen,
    Track,
)
from oncotwin.units import DoseAmount, parse_dose, to_days

# ------------------------------------------------------------------------------------------
# parser
# ------------------------------------------------------------------------------------------
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b"
# READOUT OP GRADE of a dosing rule ('irAE >= 2'); other operators are matched to be refused
_CONDITION = (
    r"(?P<r>[A-Za-z][A-Za-z_ -]*?)\s*(?P<op>>=|=>|≥|>|<=|=<|≤|<|==|=)\s*"
    r"(?P<g>[-+]?\d+(?:\.\d*)?)"
)
_RE = {
    "ws": re.compile(r"\s*"),
    "dose": re.compile(rf"(?P<num>{_NUM})\s*(?P<unit>[A-Za-zµμ][A-Za-z0-9µμ^*/]*)?", re.I),
    "bare_rt": re.compile(rf"(?:{_NUM})\s*[cm]?Gy\b", re.I),
    "route": re.compile(
        r"(IV|SC|IM|PO|intralesional|intravenous|subcutaneous|intramuscular|oral"
        r"|external\s+beam|EBRT)\b",
        re.I,
    ),
    "over": re.compile(r"over\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\b", re.I),
    "as_a": re.compile(r"as\s+an?\s+(?P<dur>\d+(?:\.\d+)?\s*[A-Za-z]+)\s+infusion\b", re.I),
    "plus": re.compile(r"\+"),
    "then": re.compile(r",\s*then\b\s*", re.I),
    "with": re.compile(r"(?:with\b|;)\s*", re.I),
    "site": re.compile(
        r"to\b\s*(?P<site>all(?:\s+sites?)?\b|lymph[\s_]+nodes?\b|soft[\s_]+tissues?\b"
        r"|primary\s+tumou?r\b|(?!d-?\d)[A-Za-z_]+\b)?",
        re.I,
    ),
    "cycles": re.compile(
        r",\s*(?P<n>-?\d+)\s+cycles?\s+(?P<gap>\d+(?:\.\d+)?)\s+days?\s+apart\b", re.I
    ),
    "once": re.compile(r"once\b", re.I),
    "qn": re.compile(r"q(?P<n>\d+(?:\.\d+)?)\s*(?P<u>w|wk|weeks?|d|days?|h|hr|hours?)\b", re.I),
    "weekdays": re.compile(r"(?:weekdays|5\s+fractions?\s*(?:/|per|a)\s*week)\b", re.I),
    "named": re.compile(r"(?P<w>qd|daily|bid|tid|weekly|twice\s+daily)\b", re.I),
    "days": re.compile(r"d(?P<a>-?\d+)(?:\s+to\s+d(?P<b>-?\d+))?\b", re.I),
    # d1,8  d1-3  d1-21  d1,8,15  d1-3,8 (positive days within a cycle)
    "day_list": re.compile(
        r"d(?P<list>\d+(?:\s*-\s*\d+)?(?:\s*,\s*d?\d+(?:\s*-\s*\d+)?(?!\s*cycles?\b))*)\b",
        re.I,
    ),
    "auc": re.compile(
        rf"AUC\s*=?\s*(?:{_NUM})(?:\s*(?:mg\s*/\s*mL\s*[*·.]?\s*min|mg\s*[*·.]?\s*min\s*/\s*mL)\b)?",
        re.I,
    ),
    "continuous": re.compile(
        r"continuous(?:\s+infusion)?\b|as\s+a\s+continuous\s+infusion\b", re.I
    ),
    "placebo": re.compile(r"placebo\b", re.I),
    "cap": re.compile(rf"\(\s*max(?:imum)?\.?\s*(?:{_NUM})\s*mg\s*\)", re.I),
    "loading": re.compile(r"\(\s*(?:loading|first)\b[^()]*\)", re.I),
    "count": re.compile(r"x\s*(?P<n>[-+]?\d+)\b", re.I),
    "until": re.compile(r"until\s+progression\b", re.I),
    "starting": re.compile(r"starting\s+(?:d|day\s*)(?P<d>-?\d+)\b", re.I),
    "after": re.compile(r"after\s+(?P<n>\d+(?:\.\d+)?)\s+(?P<u>weeks?|days?)\b", re.I),
    # dosing rules (after a comma, at the end of a track)
    "rule": re.compile(r",\s*(?P<a>hold|stop|reduce|(?:give\s+)?steroids?)\b\s*", re.I),
    "rule_drug": re.compile(r"(?P<d>.+?)\s+(?=(?:if|after|by)\b)", re.I),
    "rule_if": re.compile(r"if\s+" + _CONDITION, re.I),
    "rule_until": re.compile(r"until\s+" + _CONDITION, re.I),
    "rule_by": re.compile(r"by\s+(?P<p>[-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*%", re.I),
    "rule_after": re.compile(
        r"after\s+(?P<n>[-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?P<u>days?|weeks?|months?|years?)\b",
        re.I,
    ),
}
# words that may follow a dose but are never its unit ("radiotherapy 8 x3" has no unit)
_NOT_A_UNIT = re.compile(
    r"(?:x\d+|once|to|with|then|over|as|weekdays|until|starting|after|qd|daily|bid|tid|weekly"
    r"|q\d+\w*|d-?\d+|continuous)$",
    re.I,
)
_NAMED_INTERVAL = {"qd": 1.0, "daily": 1.0, "bid": 0.5, "tid": 1.0 / 3.0, "weekly": 7.0}
_UNIT_DAYS = {"w": 7.0, "d": 1.0, "h": 1.0 / 24.0}
_SITE_HINT = "'to SITE' with SITE one of " + ", ".join(_site_text(s) for s in SITES)

#: The valid examples an error shows (a drug, a combination then maintenance, radiotherapy).
_SHOWN_EXAMPLES = (EXAMPLES[0], EXAMPLES[1], EXAMPLES[3])
#: Longest regimen text shown in an error message, and the widest number a count may have.
_SHOWN = 100
_MAX_DIGITS = 30


def _window(text: str, pos: int) -> tuple[str, int]:
    """The part of ``text`` shown under an error (all of it when short) and the caret's
    position in it; a long text is cut to about :data:`_SHOWN` characters around ``pos``."""
    text = re.sub(r"\s", " ", text)  # a newline or tab in the text would break the caret line
    if len(text) <= _SHOWN:
        return text, pos
    lo = max(0, min(pos - _SHOWN // 2, len(text) - _SHOWN))
    hi = lo + _SHOWN
    head = "..." if lo > 0 else ""
    return head + text[lo:hi] + ("..." if hi < len(text) else ""), pos - lo + len(head)


def _short(msg: str) -> str:
    """A message from a deeper layer, cut to its first line and 300 characters."""
    first = msg.splitlines()[0] if msg else msg
    return first if len(first) <= 300 else first[:297] + "..."


# one parsed item: drug, dose, route, infusion duration, position, site
_Raw = tuple[str, DoseAmount, str | None, float | None, int, str | None]


@dataclass(frozen=True)
class _Item:
    """One item of a '+' list: a drug ('drug', its raw fields), a named combination
    ('combination') or a placebo ('placebo'), and where it starts in the text."""

    kind: str
    raw: _Raw | None
    combo: Combination | None
    pos: int

    def name(self) -> str:
        if self.combo is not None:
            return self.combo.name
        return self.raw[0] if self.raw is not None else "placebo"


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise RegimenError(f"a regimen is a string such as {EXAMPLES[0]!r}, got {text!r}")
        self.text = text
        self.pos = 0
        self.names = drug_names_and_aliases()
        self.rule_pos: list[int] = []  # where each dosing rule starts (for its errors)
        self.rule_list: list[DoseRule] = []

    # -- helpers -------------------------------------------------------------------------
    def fail(
        self, msg: str, expected: str, pos: int | None = None, cls: type = RegimenError
    ) -> NoReturn:
        pos = self.pos if pos is None else pos
        shown, pos = _window(self.text, pos)
        examples = "\n".join(f"  {e}" for e in _SHOWN_EXAMPLES)
        raise cls(
            f"bad regimen: {_short(msg)}\n  {shown}\n  {' ' * pos}^\n"
            f"expected {expected} here\nvalid examples:\n{examples}"
        )

    def int_(self, text: str, what: str, pos: int) -> int:
        """``text`` (digits, maybe signed) as an int; too many digits to be a count fail."""
        if len(text.lstrip("+-")) > _MAX_DIGITS:
            self.fail(
                f"{what} {text[:12]}... has {len(text.lstrip('+-'))} digits",
                f"a {what} of at most {_MAX_DIGITS} digits",
                pos,
            )
        return int(text)

    def skip(self) -> None:
        self.pos = _RE["ws"].match(self.text, self.pos).end()  # type: ignore[union-attr]

    def match(self, key: str) -> re.Match | None:
        self.skip()
        m = _RE[key].match(self.text, self.pos)
        if m is not None:
            self.pos = m.end()
        return m

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= len(self.text)

    def token(self) -> str:
        m = re.compile(r"\S+").match(self.text, self.pos)
        return m.group(0) if m else "end of text"

    # -- grammar -------------------------------------------------------------------------
    def regimen(self) -> Regimen:
        if self.at_end():
            self.fail("the regimen is empty", "a drug name")
        tracks = [self.track()]
        while self.match("with") is not None:
            tracks.append(self.track())
        if not self.at_end():
            self.fail(f"unexpected {self.token()!r}", "', then', ' with' or the end of the regimen")
        try:
            return Regimen(tracks=tuple(tracks))
        except RegimenError as exc:
            self.fail(str(exc), "dosing rules that can all act", self._rule_at(str(exc)))
        raise AssertionError  # pragma: no cover

    def _rule_at(self, msg: str) -> int:
        """Where the rule a conflict names first starts (else the end of the text)."""
        quoted = re.findall(r"'([^']+)'", msg)
        for q in quoted:
            for r, at in zip(self.rule_list, self.rule_pos, strict=True):
                if r.text() == q:
                    return at
        return len(self.text)

    def track(self) -> Track:
        phases = [self.block()]
        while self.match("then") is not None:
            phases.append(self.block())
        rules: list[DoseRule] = []
        while True:
            at = self.pos
            m = self.match("rule")
            if m is None:
                break
            at = m.start("a")
            rules.append(self.rule(m.group("a").lower(), at))
            self.rule_list.append(rules[-1])
            self.rule_pos.append(at)
        self.skip()
        if rules and _RE["then"].match(self.text, self.pos):
            self.fail(
                "a dosing rule is followed by ', then'",
                "the rules after the track's last phase (they act on the whole track)",
            )
        try:
            return Track(tuple(phases), tuple(rules))
        except RegimenError as exc:
            self.fail(str(exc), "a count (x4) on the open-ended phase")
        raise AssertionError  # pragma: no cover

    def rule(self, action: str, at: int) -> DoseRule:
        """One dosing rule after its action word (see :mod:`oncotwin.regimens._dose_rules`)."""
        action = "steroids" if "steroid" in action else action
        self.skip()
        drug = None
        if action != "steroids" and not re.match(r"(?:if|after|by)\b", self.text[self.pos :], re.I):
            if _RE["rule_drug"].match(self.text, self.pos) is None:
                self.fail(f"'{action}' without a condition", self._rule_hint(action))
            drug = self.rule_drug()
        kw: dict = {"drug": drug}
        expected = self._rule_hint(action)
        if action == "stop" and (m := self.match("rule_after")) is not None:
            kw["after"] = (float(m.group("n")), m.group("u"))
        else:
            if action == "reduce":
                m = self.match("rule_by")
                if m is None:
                    self.fail(f"'{action}' without 'by P%'", expected)
                kw["percent"] = float(m.group("p"))
            self.skip()
            pos = self.pos
            m = self.match("rule_if")
            if m is None:
                self.fail(f"'{action}' without a condition", expected)
            kw["readout"], kw["grade"] = self.condition(m, ">=", pos)
            self.skip()
            pos = self.pos
            if action == "hold" and (u := self.match("rule_until")) is not None:
                readout, kw["until"] = self.condition(u, "<=", pos)
                if readout != kw["readout"]:
                    self.fail(
                        f"the hold starts on {READOUTS[kw['readout']]} but ends on "
                        f"{READOUTS[readout]}",
                        f"'until {READOUTS[kw['readout']]} <= M' (the readout that started it)",
                        pos,
                    )
        try:
            return DoseRule(action, **kw)
        except RegimenError as exc:
            self.fail(str(exc), expected, at)
        raise AssertionError  # pragma: no cover

    @staticmethod
    def _rule_hint(action: str) -> str:
        """What may follow a rule's action word (for error messages)."""
        return {
            "hold": "'if READOUT >= G [until READOUT <= M]' (e.g. 'hold if irAE >= 2 until "
            "irAE <= 1')",
            "stop": "'if READOUT >= G' or 'after N months' (e.g. 'stop if irAE >= 4')",
            "reduce": "'by P% if READOUT >= G' (e.g. 'reduce carboplatin by 25% if "
            "neutropenia >= 3')",
            "steroids": "'if READOUT >= G' (e.g. 'steroids if irAE >= 2')",
        }[action]

    def rule_drug(self) -> str:
        """The drug a rule names (before 'if', 'after' or 'by'), with a did-you-mean."""
        start = self.pos
        m = _RE["rule_drug"].match(self.text, self.pos)
        word = m.group("d").strip() if m else self.token()
        try:
            name = get_drug(word).name
        except OncotwinError:
            self.fail(
                unknown_drug_message(word),
                "a drug of the regimen, or 'if ...' to act on the rule's own track",
                start,
                cls=UnknownDrugError,
            )
        self.pos = start + len(m.group(0)) if m else self.pos + len(word)
        return name

    def condition(self, m: re.Match, op: str, pos: int) -> tuple[str, int]:
        """``READOUT op G`` of a rule: the readout key and the whole grade."""
        try:
            readout = readout_name(m.group("r"))
        except RegimenError as exc:
            self.fail(str(exc), "a readout such as 'irAE >= 2'", m.start("r"))
        if m.group("op") not in (op, "=>" if op == ">=" else "=<", "≥" if op == ">=" else "≤"):
            word = "reaches" if op == ">=" else "has fallen to"
            self.fail(
                f"'{m.group('op')}' in '{m.group(0)}'",
                f"'{op}' (the rule acts when the grade {word} G: '{READOUTS[readout]} {op} G')",
                m.start("op"),
            )
        g = float(m.group("g"))
        if g != int(g):
            self.fail(f"grade {m.group('g')} is not whole", "a grade 0-4", m.start("g"))
        return readout, int(g)

    def drug(self) -> str:
        self.skip()
        low = self.text.lower()
        for name in self.names:
            end = self.pos + len(name)
            if low.startswith(name.lower(), self.pos) and (
                end >= len(low) or not (low[end].isalnum() or low[end] in "-_")
            ):
                self.pos = end
                return get_drug(name).name
        start = self.pos
        m = re.compile(rf"(.+?)\s*(?={_NUM}|$|,|\+)", re.I).match(self.text, self.pos)
        word = (m.group(1) if m and m.group(1).strip() else self.token()).strip()
        if not word or word == "end of text":
            self.fail("missing drug name", "a drug name such as 'pembrolizumab'")
        msg = unknown_drug_message(word)
        if "did you mean" not in msg:  # a misspelt named combination ('FOLFOXX q2w')?
            combo = unknown_combination_message(self.token())
            if "did you mean" in combo:
                msg = combo
        self.fail(
            msg,
            "a known drug name or alias, or a named combination (see `oncotwin drugs`)",
            pos=start,
            cls=UnknownDrugError,
        )
        raise AssertionError  # pragma: no cover

    def site(self) -> tuple[str, int] | None:
        """``to SITE`` at the current position: (canonical site, position of 'to') or None."""
        self.skip()
        pos = self.pos
        m = self.match("site")
        if m is None:
            return None
        if m.group("site") is None:
            self.fail("missing site after 'to'", _SITE_HINT)
        try:
            return canonical_site(m.group("site")), pos
        except RegimenError as exc:
            self.fail(str(exc), _SITE_HINT, pos=m.start("site"), cls=type(exc))
        raise AssertionError  # pragma: no cover

    def admin(self) -> _Raw:
        self.skip()
        if _RE["bare_rt"].match(self.text, self.pos):  # "8 Gy x3 to lung"
            drug = "radiotherapy"
        else:
            drug = self.drug()
        radiation = _is_radiation(drug)
        self.skip()
        dose_pos = self.pos
        if (auc := self.match("auc")) is not None:
            try:
                dose = parse_dose(auc.group(0), field=f"dose of {drug}")
            except UnitError as exc:
                self.fail(str(exc), "a target AUC such as 'AUC 5'", dose_pos, RegimenUnitError)
            return self._delivery(drug, dose, dose_pos)
        if re.compile(r"AUC\b", re.I).match(self.text, self.pos):
            self.fail(
                f"missing target AUC value for {drug}",
                "a target AUC such as 'AUC 5' (mg·min/mL)",
                dose_pos + 3,
                RegimenUnitError,
            )
        m = self.match("dose")
        if m is None:
            self.fail(
                f"missing dose for {drug}",
                "a dose per fraction such as '8 Gy' or '180 cGy'"
                if radiation
                else "a dose such as '200 mg', '3 mg/kg', '75 mg/m2', 'AUC 5' or '2e6 cells/kg'",
            )
        unit = m.group("unit")
        if unit is not None and (unit.lower() in _ROUTES or _NOT_A_UNIT.match(unit)):
            self.pos = m.start("unit")
            unit = None
        if unit is None:
            num = self.text[dose_pos : self.pos].strip()
            self.fail(
                f"the dose {num!r} has no unit",
                "a unit: Gy or cGy (per fraction)"
                if radiation
                else "a unit such as mg, mg/kg, mg/m2, cells, cells/kg, IU/kg or PFU",
                pos=self.pos,
                cls=RegimenUnitError,
            )
        try:
            dose = parse_dose(f"{m.group('num')} {unit}", field=f"dose of {drug}")
        except UnitError as exc:
            self.fail(str(exc), "a dose > 0 in a dose unit", pos=dose_pos, cls=RegimenUnitError)
        return self._delivery(drug, dose, dose_pos)

    def _delivery(self, drug: str, dose: DoseAmount, dose_pos: int) -> _Raw:
        """A dose cap ('(max 2 mg)'), the route, infusion ('over 2 h', 'continuous') and site
        after a dose."""
        radiation = _is_radiation(drug)
        self.skip()
        load_pos = self.pos
        if (load := self.match("loading")) is not None:
            try:
                dose = parse_dose(f"{dose} {load.group(0)}", field=f"dose of {drug}")
            except UnitError as exc:
                self.fail(str(exc), "a loading dose in the dose's unit", load_pos, RegimenUnitError)
        self.skip()
        cap_pos = self.pos
        if (cap := self.match("cap")) is not None:
            try:
                dose = parse_dose(f"{dose} {cap.group(0)}", field=f"dose of {drug}")
            except UnitError as exc:
                self.fail(
                    str(exc), "a cap on a mg/m2, mg/kg or AUC dose", cap_pos, RegimenUnitError
                )
        route = None
        rm = self.match("route")
        if rm is not None:
            route = _ROUTES[re.sub(r"\s+", " ", rm.group(1).lower())]
        self.skip()
        cont_pos = self.pos
        if self.match("continuous") is not None and not dose.per_day:
            self.fail(
                f"'continuous' needs a rate for {drug}, not the dose {dose}",
                "a dose per day such as '28 ug/day' or '1000 mg/m2/day' before 'continuous' "
                "(or a total dose given 'over 46 h')",
                cont_pos,
                RegimenUnitError,
            )
        duration = self.infusion()
        site = None
        found = self.site()
        if found is not None:
            site, site_pos = found
            if not radiation:
                self.fail(
                    _drug_site_message(drug, _site_text(site)),
                    "a schedule (q3w); 'to SITE' only after radiotherapy",
                    pos=site_pos,
                )
        return drug, dose, route, duration, dose_pos, site

    def infusion(self) -> float | None:
        self.skip()
        pos = self.pos
        m = self.match("over") or self.match("as_a")
        if m is None:
            if re.compile(r"(over|as)\b", re.I).match(self.text, self.pos):
                self.fail("unreadable infusion duration", "'over 30 min' or 'as a 2 h infusion'")
            return None
        try:
            return to_days(m.group("dur"), field="infusion duration")
        except UnitError as exc:
            self.fail(
                str(exc), "a duration such as '30 min' or '2 h'", pos=pos + 5, cls=RegimenUnitError
            )
        raise AssertionError  # pragma: no cover

    def item(self) -> _Item:
        """One item of a '+' list: a drug (or radiotherapy) with its dose, a named
        combination, or 'placebo'."""
        self.skip()
        pos = self.pos
        if self.match("placebo") is not None:
            self.match("route")  # 'placebo IV': a placebo has no dose and no route of its own
            return _Item("placebo", None, None, pos)
        combo = self.combination()
        if combo is not None:
            self.skip()
            if _RE["dose"].match(self.text, self.pos) or _RE["auc"].match(self.text, self.pos):
                self.fail(
                    f"{combo.name} is a named combination: its drugs come with their doses "
                    f"({combo.expansion_text()})",
                    f"a schedule for it such as '{combo.name} q{combo.cycle_weeks_text()}'",
                )
            if _RE["route"].match(self.text, self.pos) or _RE["over"].match(self.text, self.pos):
                self.fail(
                    f"{combo.name} is a named combination: its drugs come with their routes",
                    f"a schedule for it such as '{combo.name} q{combo.cycle_weeks_text()}'",
                )
            return _Item("combination", None, combo, pos)
        return _Item("drug", self.admin(), None, pos)

    def combination(self) -> Combination | None:
        """A named combination (FOLFOX, R-CHOP, ...) at the current position, or None."""
        low = self.text.lower()
        for name in combination_names():
            end = self.pos + len(name)
            if low.startswith(name.lower(), self.pos) and (
                end >= len(low) or not (low[end].isalnum() or low[end] in "-_")
            ):
                try:
                    combo = get_combination(name)
                except RegimenError as exc:
                    self.fail(str(exc), "a combination whose drugs are in the catalog")
                self.pos = end
                return combo
        return None

    def block(self) -> Phase | Concurrent:
        """Items joined by '+': each schedule binds to the unscheduled items just before it;
        each scheduled group runs side by side with the others (a Concurrent block)."""
        groups: list[Phase] = []
        block_pos = self.pos
        while True:
            items = [self.item()]
            while self.match("plus") is not None:
                items.append(self.item())
            adm_end = self.pos
            fields, sched_pos, phase_site = self.schedule()
            more = self.match("plus") is not None
            drugs = [it for it in items if it.kind != "placebo"]
            if not fields and not drugs and groups and phase_site is None:
                # a trailing 'placebo': it goes with the group before it
                groups[-1] = replace(groups[-1], placebo=True)
            elif not fields and drugs and groups and not more:
                self.fail(
                    f"{drugs[0].name()} has no schedule: a schedule binds to the items before "
                    "it, so the items after the last schedule need their own",
                    "a schedule for them (e.g. 'q3w x4')",
                )
            else:
                groups += self.groups(items, fields, sched_pos, phase_site, adm_end)
            if not more:
                break
        if len(groups) == 1:
            return groups[0]
        try:
            return Concurrent(tuple(groups))
        except RegimenError as exc:
            self.fail(str(exc), "a concurrent block whose first group starts it", block_pos)
        raise AssertionError  # pragma: no cover

    def schedule(self) -> tuple[dict, int | None, tuple[str, int] | None]:
        """The schedule tokens after a group's items: the Phase fields, where they start
        and a radiotherapy 'to SITE' written after them."""
        fields: dict = {}
        sched_pos = None
        phase_site: tuple[str, int] | None = None
        freq: tuple[float, int] | None = None  # qd/bid/tid/weekly: interval or doses per day
        day_list: tuple[tuple[int, ...], int] | None = None
        while True:
            self.skip()
            pos = self.pos
            if (
                self.at_end()
                or _RE["then"].match(self.text, self.pos)
                or _RE["with"].match(self.text, self.pos)
                or _RE["plus"].match(self.text, self.pos)
                or _RE["rule"].match(self.text, self.pos)
            ):
                break
            if (m := self.match("cycles")) is not None:
                fields["cycles"] = self.int_(m.group("n"), "number of cycles", pos)
                fields["cycle_gap_days"] = float(m.group("gap"))
                if fields["cycles"] < 1:
                    self.fail(f"{m.group('n')} cycles", "a number of cycles >= 1", pos=pos + 1)
                if phase_site is None:  # "x5, 6 cycles 2 days apart to primary"
                    phase_site = self.site()
                break
            if (m := self.match("once")) is not None:
                self._set(fields, "once", True, pos)
            elif (m := self.match("qn")) is not None:
                n = float(m.group("n"))
                if n <= 0:
                    self.fail(f"interval {m.group(0)!r} is zero", "an interval > 0 (q3w)", pos)
                self._set(fields, "interval_days", n * _UNIT_DAYS[m.group("u")[0].lower()], pos)
            elif self.match("weekdays") is not None:
                self._set(fields, "weekdays", True, pos)
            elif (m := self.match("named")) is not None:
                w = re.sub(r"\s+", " ", m.group("w").lower())
                if freq is not None:
                    self.fail("interval days given twice", "each schedule item once", pos)
                freq = (0.5 if w == "twice daily" else _NAMED_INTERVAL[w], pos)
            elif (m := self.match("starting")) is not None:
                self._set(fields, "start_day", self.int_(m.group("d"), "day", pos), pos)
            elif (m := _RE["day_list"].match(self.text, self.pos)) and re.search(r"[-,]", m[0]):
                self.pos = m.end()
                if day_list is not None or "days" in fields:
                    self.fail("days given twice", "each schedule item once", pos)
                day_list = (self._day_list(m.group("list"), pos), pos)
            elif (m := self.match("days")) is not None:
                if day_list is not None:
                    self.fail("days given twice", "each schedule item once", pos)
                a = self.int_(m.group("a"), "day", pos)
                b = self.int_(m.group("b"), "day", pos) if m.group("b") is not None else a
                if b < a:
                    self.fail(f"d{a} to d{b} runs backwards", f"d{b} to d{a}", pos)
                self._set(fields, "days", (a, b), pos)
            elif (m := self.match("count")) is not None:
                n = self.int_(m.group("n"), "count", pos)
                if n < 1:
                    self.fail(
                        f"count x{n}: a phase needs at least one dose",
                        "a count >= 1 such as x4 (or no count to repeat to the horizon)",
                        pos,
                    )
                if n > MAX_COUNT:
                    self.fail(_count_message(n), f"a count of at most x{MAX_COUNT}", pos)
                self._set(fields, "count", n, pos)
            elif self.match("until") is not None:
                self._set(fields, "until_progression", True, pos)
            elif (m := self.match("after")) is not None:
                f = 7.0 if m.group("u").lower().startswith("w") else 1.0
                self._set(fields, "delay_days", float(m.group("n")) * f, pos)
            elif (found := self.site()) is not None:
                if phase_site is not None:
                    self.fail("site given twice", "each schedule item once", pos)
                phase_site = found
                continue
            else:
                self.fail(
                    f"unexpected {self.token()!r}",
                    "a schedule (q3w, q2w, qd, bid, q8h, once, d1, d1,8, d1-3, d-5 to d-3), a "
                    "count (x4), 'until progression', 'to SITE' (radiotherapy), ', N cycles G "
                    "days apart', '+ DRUG ...', a dosing rule (', stop if irAE >= 3'), ', then', "
                    "' with' or the end",
                )
            sched_pos = sched_pos if sched_pos is not None else pos
        self._days_and_frequency(fields, freq, day_list)
        return fields, sched_pos, phase_site

    def _day_list(self, text: str, pos: int) -> tuple[int, ...]:
        """'1,8,15' / '1-3,8' / '1-21' -> the listed days."""
        out: list[int] = []
        for part in re.split(r"\s*,\s*", text):
            lo_text, _, hi_text = part.lstrip("dD").partition("-")
            lo = self.int_(lo_text.strip(), "day", pos)
            hi = self.int_(hi_text.strip(), "day", pos) if hi_text else lo
            if hi < lo:
                self.fail(f"d{lo}-{hi} runs backwards", f"d{hi}-{lo}", pos)
            if hi - lo > MAX_COUNT:
                self.fail(f"d{lo}-{hi} lists {hi - lo + 1} days", "a shorter range of days", pos)
            out.extend(range(lo, hi + 1))
        if len(set(out)) != len(out):
            self.fail("a day is listed twice", "each day once (d1,8,15)", pos)
        return tuple(sorted(out))

    def _days_and_frequency(
        self,
        fields: dict,
        freq: tuple[float, int] | None,
        day_list: tuple[tuple[int, ...], int] | None,
    ) -> None:
        """Days with an interval are days within each cycle; qd/bid/tid with days are doses
        per day; otherwise a named frequency is the interval (as 'q12h')."""
        days = day_list[0] if day_list is not None else None
        if days is None and "days" in fields and ("interval_days" in fields or freq):
            lo, hi = fields["days"]
            if "interval_days" in fields or (freq is not None and freq[0] > 1.0):
                days = tuple(range(lo, hi + 1))
                del fields["days"]
        if freq is not None:
            value, pos = freq
            has_days = days is not None or "days" in fields
            if has_days and value <= 1.0:
                fields["doses_per_day"] = round(1.0 / value)
            else:
                self._set(fields, "interval_days", value, pos)
        if days is not None:
            fields["cycle_days"] = days

    def groups(
        self,
        items: list[_Item],
        fields: dict,
        sched_pos: int | None,
        phase_site: tuple[str, int] | None,
        adm_end: int,
    ) -> list[Phase]:
        """The scheduled group(s) of items that share one schedule (a named combination
        expands to one group per set of days within its cycle)."""
        placebo = any(it.kind == "placebo" for it in items)
        combos = [it for it in items if it.kind == "combination"]
        raw = [it.raw for it in items if it.kind == "drug"]
        if not combos:
            return [self.phase(raw, fields, sched_pos, phase_site, adm_end, placebo)]
        if len(combos) > 1:
            self.fail(
                f"{combos[0].combo.name} and {combos[1].combo.name} share one schedule",
                f"a schedule for each ('{combos[0].combo.name} q2w + {combos[1].combo.name} q3w')",
                combos[1].pos,
            )
        combo = combos[0].combo
        bad = set(fields) - {"interval_days", "count", "until_progression", "start_day",
                             "delay_days"}  # fmt: skip
        if bad or phase_site is not None:
            self.fail(
                f"{combo.name} is a named combination with its own days within the cycle; it "
                "takes a cycle length, a number of cycles and a start only",
                f"a schedule such as '{combo.name} q{combo.cycle_weeks_text()} x4' or "
                f"'{combo.name} until progression'",
                sched_pos,
            )
        interval = fields.get("interval_days", combo.cycle_days)
        common = {k: v for k, v in fields.items() if k in ("count", "until_progression")}
        start = {k: v for k, v in fields.items() if k in ("start_day", "delay_days")}
        out: list[Phase] = []
        try:
            for adms, days, per_day in combo.groups():
                kw = dict(common, interval_days=interval)
                if days != (1,) or per_day != 1:
                    kw["cycle_days"] = days
                    kw["doses_per_day"] = per_day
                out.append(Phase(adms, **kw))
        except RegimenError as exc:
            self.fail(f"{combo.name}: {exc}", "a cycle long enough for its days", sched_pos)
        if raw:  # other drugs given with the combination on day 1 of each cycle
            extra = self.phase(raw, dict(common, interval_days=interval), None, None, adm_end)
            d1 = next(
                (i for i, (_, d, n) in enumerate(combo.groups()) if d == (1,) and n == 1), None
            )
            if d1 is None:
                out.insert(0, extra)
            else:
                out[d1] = replace(
                    out[d1], administrations=extra.administrations + out[d1].administrations
                )
        out[0] = replace(out[0], placebo=placebo, **start)
        return out

    def phase(
        self,
        raw: list[_Raw],
        fields: dict,
        sched_pos: int | None,
        phase_site: tuple[str, int] | None,
        adm_end: int,
        placebo: bool = False,
    ) -> Phase:
        """One scheduled group from its parsed items and schedule fields."""
        # a route/infusion written last applies to earlier drugs that have none
        # a drug with neither route nor infusion of its own takes both from the next drug;
        # radiotherapy items neither give nor take a route
        route, duration = None, None
        for i in range(len(raw) - 1, -1, -1):
            d, dose, r, dur, pos, site = raw[i]
            if _is_radiation(d):
                continue
            if r is not None or dur is not None:
                route, duration = r, dur
            raw[i] = (d, dose, route, duration, pos, site)
        if phase_site is not None:
            raw = self._apply_site(raw, *phase_site)
        adms = []
        for d, dose, r, dur, pos, site in raw:
            if r is None and not _is_radiation(d):
                self.fail(
                    f"missing route for {d}", "a route: IV, SC, IM, PO or intralesional", adm_end
                )
            if site is None and _is_radiation(d):
                self.fail(f"missing site for {d} (the site irradiated)", _SITE_HINT)
            try:
                adms.append(Administration(d, dose, r, dur or 0.0, site))
            except RegimenError as exc:
                self.fail(str(exc), "a dose and route that fit the drug", pos=pos, cls=type(exc))
        try:
            return Phase(tuple(adms), placebo=placebo, **fields)
        except RegimenError as exc:
            at = sched_pos if sched_pos is not None else self.pos
            if not fields or not (set(fields) & {"once", "interval_days", "days", "cycle_days"}):
                at = self.pos
            radiation = any(a.is_radiotherapy for a in adms)
            hint = "a number of fractions such as 'x3' or 'q2d x3'" if radiation else "'q3w x4'"
            self.fail(str(exc), f"a valid schedule such as {hint}", pos=at)
        raise AssertionError  # pragma: no cover

    def _apply_site(self, raw: list[_Raw], site: str, pos: int) -> list[_Raw]:
        """Give the phase's ``to SITE`` (written after the schedule) to its radiotherapy."""
        rt = [i for i, r in enumerate(raw) if _is_radiation(r[0])]
        if not rt:
            self.fail(
                _drug_site_message(raw[0][0], _site_text(site)),
                "a schedule item or the end; 'to SITE' only after radiotherapy",
                pos,
            )
        missing = [i for i in rt if raw[i][5] is None]
        if not missing:
            self.fail("site given twice", "one 'to SITE' per radiotherapy item", pos)
        if len(missing) > 1:
            self.fail(
                f"'to {_site_text(site)}' after the schedule is ambiguous: the phase has "
                f"{len(missing)} radiotherapy items without a site",
                "'to SITE' right after each radiotherapy dose ('8 Gy to lung + 8 Gy to liver')",
                pos,
            )
        i = missing[0]
        out = list(raw)
        out[i] = (*raw[i][:5], site)
        return out

    def _set(self, fields: dict, key: str, value, pos: int) -> None:
        if key in fields:
            self.fail(f"{key.replace('_', ' ')} given twice", "each schedule item once", pos)
        fields[key] = value


def parse_regimen(text: str) -> Regimen:
    """Parse a regimen string into a :class:`Regimen`.

    A malformed string raises one :class:`RegimenError` whose message quotes the input, points
    at the bad token with a caret, says what was expected and lists valid examples.

    Examples
    --------
    >>> r = parse_regimen("Keytruda 200 mg IV q3w x35")
    >>> str(r)
    'pembrolizumab 200 mg IV q3w x35'
    >>> r.schedule(100).time.tolist()
    [0.0, 21.0, 42.0, 63.0, 84.0]

    Radiotherapy (fractions daily unless an interval is given) alongside a drug:

    >>> r = parse_regimen("SBRT 8 Gy daily x3 to lungs with pembrolizumab 200 mg IV q3w x35")
    >>> r
    Regimen.parse('radiotherapy 8 Gy x3 to lung with pembrolizumab 200 mg IV q3w x35')
    >>> s = r.schedule(30)
    >>> s.time.tolist()
    [0.0, 0.0, 1.0, 2.0, 21.0]
    >>> s.drug.tolist()
    ['radiotherapy', 'pembrolizumab', 'radiotherapy', 'radiotherapy', 'pembrolizumab']
    >>> s.site.tolist()
    ['lung', '', 'lung', 'lung', '']
    """
    return _Parser(text).regimen()
