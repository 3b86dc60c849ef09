"""Published outcomes of the calibration trial arms, as Python data with their sources.

Every value is transcribed from ``shared/data/trials/calibration_arms.csv`` (one row per arm;
a test checks each shipped value against that file). Each :class:`PublishedArm` keeps the row's
``source`` string, its data cut (``followup``), how response was assessed and the caveats:
``verified`` is ``"yes"`` when every populated number was confirmed in a published source and
``"partial"`` otherwise, with the unconfirmed fields listed in ``memory_fields``. Check those
against the primary paper before a quantitative fit leans on them.

Conventions (from the CSV's README): percentages are in %, medians in months; ``None`` means not
reported or not reached (``os_note`` / ``pfs_note`` say which). Some ``median_pfs_mo`` values are
time to progression or event-free survival: ``pfs_note`` says so. ``g3plus_ae_type`` gives the
toxicity definition (treatment-related vs all-cause, grade 3-4 vs 3-5); CAR-T CRS grading scales
differ between trials (Penn vs Lee/ASTCT). Control-arm OS is confounded by crossover where
``os_note`` says so.

Examples
--------
>>> from oncotwin.trials.targets import PUBLISHED, published
>>> published("KN024_PEMBRO").orr_pct
44.8
>>> [a.arm_id for a in arms_of("CheckMate 067")]
['CM067_NIVO_IPI', 'CM067_NIVO', 'CM067_IPI']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from oncotwin.errors import UnknownNameError, did_you_mean

__all__ = ["PUBLISHED", "PublishedArm", "arms_of", "published"]

#: Endpoints with a numeric published value, in the CSV's column order.
NUMERIC_FIELDS: tuple[str, ...] = (
    "n",
    "orr_pct",
    "cr_pct",
    "median_pfs_mo",
    "median_os_mo",
    "g3plus_ae_pct",
    "g3plus_crs_pct",
    "g3plus_neuro_pct",
)


@dataclass(frozen=True)
class PublishedArm:
    """One published trial arm: its outcomes, its source and how far to trust each number.

    Percentages (``*_pct``) are in %, medians (``*_mo``) in months; ``None`` = not reported or
    not reached. ``n`` is the number of patients the efficacy numbers refer to (randomised ITT,
    or infused/treated for single-arm trials). ``followup`` is the data cut each metric comes
    from; ``memory_fields`` lists the fields not confirmed against a published source.
    """

    arm_id: str
    trial: str
    arm: str
    n: int
    source: str
    verified: str
    arm_role: str = ""
    immunotherapy_class: str = ""
    cancer_type: str = ""
    setting_line: str = ""
    population_selection: str = ""
    regimen: str = ""
    orr_pct: float | None = None
    cr_pct: float | None = None
    median_pfs_mo: float | None = None
    pfs_note: str = ""
    median_os_mo: float | None = None
    os_note: str = ""
    g3plus_ae_pct: float | None = None
    g3plus_ae_type: str = ""
    g3plus_crs_pct: float | None = None
    g3plus_neuro_pct: float | None = None
    biomarker_subgroups: str = ""
    followup: str = ""
    response_assessment: str = ""
    memory_fields: tuple[str, ...] = ()
    notes: str = ""

    def value(self, endpoint: str) -> float:
        """A numeric endpoint as a float (NaN when not reported), e.g. ``"orr_pct"``."""
        if endpoint not in NUMERIC_FIELDS:
            raise UnknownNameError(did_you_mean(endpoint, NUMERIC_FIELDS, what="endpoint"))
        v = getattr(self, endpoint)
        return math.nan if v is None else float(v)

    def is_confirmed(self, field: str) -> bool:
        """False if ``field`` is listed in ``memory_fields`` (not confirmed in a source)."""
        names = {f.name for f in fields(self)}
        if field not in names:
            raise UnknownNameError(did_you_mean(field, names, what="field"))
        return not any(m == field or m.startswith(field + "(") for m in self.memory_fields)


PUBLISHED: dict[str, PublishedArm] = {
    "CM067_NIVO_IPI": PublishedArm(
        arm_id="CM067_NIVO_IPI",
        trial="CheckMate 067",
        arm="nivolumab + ipilimumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1 + anti-CTLA-4",
        cancer_type="melanoma (unresectable stage III/IV)",
        setting_line="1L",
        population_selection="all-comers (stratified PD-L1, BRAF, M stage)",
        regimen="nivolumab 1 mg/kg + ipilimumab 3 mg/kg IV q3w x4, then nivolumab 3 mg/kg q2w",
        n=314,
        orr_pct=57.6,
        cr_pct=11.5,
        median_pfs_mo=11.5,
        median_os_mo=71.9,
        os_note="OS from final 10-y analysis (6.5-y: 72.1; 5-y rate 52%)",
        g3plus_ae_pct=55.0,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "Pooled CM069/066/067 (N=832, min FU 18 mo): PD-L1>=5% ORR 68.5%, "
            "PD-L1<5% ORR 54.9%; mPFS PD-L1<5% 11.1 mo"
        ),
        followup="ORR/PFS/TRAE: primary NEJM 2015 (min FU ~9 mo); OS: final 10-y (NEJM 2025)",
        response_assessment="investigator RECIST 1.1",
        source=(
            "journaljams.org/study/checkmate-067-2017.html (Larkin NEJM 2015;373:23); "
            "trial.medpath.com CheckMate 067 10-y news + Wolchok NEJM 2025;392:11 "
            "doi:10.1056/NEJMoa2407417 (pubmed 39282897); ascopost.com Dec 2021 6.5-y "
            "update; COSA 2016 abstract 39241 (pooled PD-L1)"
        ),
        verified="partial",
        memory_fields=("cr_pct",),
        notes="double-blind; co-primary PFS/OS",
    ),
    "CM067_NIVO": PublishedArm(
        arm_id="CM067_NIVO",
        trial="CheckMate 067",
        arm="nivolumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1",
        cancer_type="melanoma (unresectable stage III/IV)",
        setting_line="1L",
        population_selection="all-comers",
        regimen="nivolumab 3 mg/kg IV q2w + placebo",
        n=316,
        orr_pct=43.7,
        cr_pct=8.9,
        median_pfs_mo=6.9,
        median_os_mo=36.9,
        os_note="10-y final (also 36.9 at 5 y; 5-y rate 44%)",
        g3plus_ae_pct=16.3,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "Pooled CM066/067 nivo (min FU 18 mo): PD-L1>=5% ORR 59.0%, "
            "PD-L1<5% ORR 39.7%; mPFS >=5% 22.0 vs <5% 4.9 mo"
        ),
        followup="ORR/PFS/TRAE: primary 2015; OS: 10-y final",
        response_assessment="investigator RECIST 1.1",
        source=(
            "journaljams.org/study/checkmate-067-2017.html (Larkin NEJM 2015;373:23); "
            "trial.medpath.com CheckMate 067 10-y news + Wolchok NEJM 2025;392:11 "
            "doi:10.1056/NEJMoa2407417 (pubmed 39282897); ascopost.com Dec 2021 6.5-y "
            "update; COSA 2016 abstract 39241 (pooled PD-L1)"
        ),
        verified="partial",
        memory_fields=("cr_pct",),
    ),
    "CM067_IPI": PublishedArm(
        arm_id="CM067_IPI",
        trial="CheckMate 067",
        arm="ipilimumab",
        arm_role="comparator",
        immunotherapy_class="ICI anti-CTLA-4",
        cancer_type="melanoma (unresectable stage III/IV)",
        setting_line="1L",
        population_selection="all-comers",
        regimen="ipilimumab 3 mg/kg IV q3w x4 + placebo",
        n=315,
        orr_pct=19.0,
        cr_pct=2.2,
        median_pfs_mo=2.9,
        median_os_mo=19.9,
        os_note="10-y final (5-y rate 26%)",
        g3plus_ae_pct=27.3,
        g3plus_ae_type="grade 3-4 TRAE",
        followup="ORR/PFS/TRAE: primary 2015; OS: 10-y final",
        response_assessment="investigator RECIST 1.1",
        source=(
            "journaljams.org/study/checkmate-067-2017.html (Larkin NEJM 2015;373:23); "
            "trial.medpath.com CheckMate 067 10-y news + Wolchok NEJM 2025;392:11 "
            "doi:10.1056/NEJMoa2407417 (pubmed 39282897); ascopost.com Dec 2021 6.5-y "
            "update; COSA 2016 abstract 39241 (pooled PD-L1)"
        ),
        verified="partial",
        memory_fields=("cr_pct",),
    ),
    "MDX010-20_IPI_GP100": PublishedArm(
        arm_id="MDX010-20_IPI_GP100",
        trial="MDX010-20 (Hodi 2010)",
        arm="ipilimumab + gp100 vaccine",
        arm_role="experimental",
        immunotherapy_class="ICI anti-CTLA-4 + peptide vaccine",
        cancer_type="melanoma (unresectable stage III/IV, HLA-A*0201+)",
        setting_line="2L+ (progressed on prior therapy)",
        population_selection="HLA-A*0201-positive",
        regimen=(
            "ipilimumab 3 mg/kg q3w x4 + gp100 peptides A/B 1 mg each in Montanide "
            "ISA-51; reinduction allowed"
        ),
        n=403,
        orr_pct=5.7,
        median_pfs_mo=2.76,
        median_os_mo=10.0,
        g3plus_ae_type=(
            "grade 3-5 irAE 10-15% across ipilimumab arms (3% gp100 alone) - not arm-specific"
        ),
        followup="primary NEJM 2010 (481 deaths)",
        response_assessment="investigator mWHO (best overall response)",
        source=(
            "Hodi NEJM 2010;363:711 (PMC3549297 abstract); PMC3575079 review; "
            "ClinicalTrials.gov NCT00094653 results"
        ),
        verified="partial",
        memory_fields=("orr_pct", "median_pfs_mo"),
        notes="randomised 3:1:1, double-blind",
    ),
    "MDX010-20_IPI": PublishedArm(
        arm_id="MDX010-20_IPI",
        trial="MDX010-20 (Hodi 2010)",
        arm="ipilimumab + placebo",
        arm_role="experimental",
        immunotherapy_class="ICI anti-CTLA-4",
        cancer_type="melanoma (HLA-A*0201+)",
        setting_line="2L+",
        population_selection="HLA-A*0201-positive",
        regimen="ipilimumab 3 mg/kg q3w x4 + vaccine placebo",
        n=137,
        orr_pct=10.9,
        median_pfs_mo=2.86,
        median_os_mo=10.1,
        g3plus_ae_type="see MDX010-20_IPI_GP100",
        followup="primary NEJM 2010",
        response_assessment="investigator mWHO",
        source=(
            "Hodi NEJM 2010;363:711 (PMC3549297 abstract); PMC3575079 review; "
            "ClinicalTrials.gov NCT00094653 results"
        ),
        verified="partial",
        memory_fields=("orr_pct", "median_pfs_mo"),
    ),
    "MDX010-20_GP100": PublishedArm(
        arm_id="MDX010-20_GP100",
        trial="MDX010-20 (Hodi 2010)",
        arm="gp100 peptide vaccine alone",
        arm_role="comparator",
        immunotherapy_class="cancer vaccine (peptide)",
        cancer_type="melanoma (HLA-A*0201+)",
        setting_line="2L+",
        population_selection="HLA-A*0201-positive",
        regimen=(
            "gp100:209-217(210M) + gp100:280-288(288V) 1 mg each in Montanide ISA-51 q3w "
            "x4 + ipilimumab placebo"
        ),
        n=136,
        orr_pct=1.5,
        median_pfs_mo=2.76,
        median_os_mo=6.4,
        g3plus_ae_type="grade 3-4 irAE ~3%",
        followup="primary NEJM 2010",
        response_assessment="investigator mWHO",
        source=(
            "Hodi NEJM 2010;363:711 (PMC3549297 abstract); PMC3575079 review; "
            "ClinicalTrials.gov NCT00094653 results"
        ),
        verified="partial",
        memory_fields=("orr_pct", "median_pfs_mo"),
    ),
    "OPTIM_TVEC": PublishedArm(
        arm_id="OPTIM_TVEC",
        trial="OPTiM",
        arm="talimogene laherparepvec (T-VEC)",
        arm_role="experimental",
        immunotherapy_class="oncolytic virus (HSV-1 expressing GM-CSF)",
        cancer_type="melanoma (unresectable stage IIIB-IVM1c, injectable)",
        setting_line="1L-2L+ (mixed)",
        population_selection="injectable cutaneous/SC/nodal lesions",
        regimen=(
            "intralesional T-VEC up to 4 mL of 10^6 PFU/mL day 1, then up to 4 mL of 10^8 "
            "PFU/mL 3 wk later and q2w"
        ),
        n=295,
        orr_pct=31.5,
        cr_pct=16.9,
        pfs_note=(
            "durable response rate (>=6 mo) 19.0% (table: 19.3%); median TTF 18.3 mo (HN subgroup)"
        ),
        median_os_mo=23.3,
        os_note="OS final (FU 49 mo); 5-y OS 33.4%",
        g3plus_ae_pct=36.0,
        g3plus_ae_type="grade >=3 AE (all-cause)",
        biomarker_subgroups=(
            "stage IIIB-IVM1a ORR 46.0% (CR 28.2%) vs IVM1b 14.1% vs IVM1c "
            "13.4%; responses in 63.8% injected, 7.9% uninjected nonvisceral, "
            "10.8% visceral lesions (H&N subanalysis)"
        ),
        followup="final analysis, median FU 49 mo",
        response_assessment="investigator (final); primary endpoint DRR by blinded EAC",
        source=(
            "Andtbacka JITC 2019;7:145 final OPTiM analysis (oncology.ox.ac.uk; "
            "jnccn360.org; jitc.bmj.com efficacy table); Andtbacka JCO 2015;33:2780 "
            "primary"
        ),
        verified="partial",
        memory_fields=("g3plus_ae_pct",),
    ),
    "OPTIM_GMCSF": PublishedArm(
        arm_id="OPTIM_GMCSF",
        trial="OPTiM",
        arm="GM-CSF",
        arm_role="comparator",
        immunotherapy_class="cytokine (GM-CSF)",
        cancer_type="melanoma (unresectable stage IIIB-IVM1c)",
        setting_line="1L-2L+",
        population_selection="as above",
        regimen="GM-CSF 125 ug/m2 SC daily x14 days of 28-day cycles",
        n=141,
        orr_pct=6.4,
        cr_pct=0.7,
        pfs_note="DRR 1.4%",
        median_os_mo=18.9,
        os_note="final, FU 49 mo",
        g3plus_ae_pct=21.0,
        g3plus_ae_type="grade >=3 AE (all-cause)",
        biomarker_subgroups="stage IIIB-IVM1a ORR 4.7%; IVM1b 7.7%; IVM1c 10.3%",
        followup="final, FU 49 mo",
        response_assessment="investigator",
        source=(
            "Andtbacka JITC 2019;7:145 final OPTiM analysis (oncology.ox.ac.uk; "
            "jnccn360.org; jitc.bmj.com efficacy table); Andtbacka JCO 2015;33:2780 "
            "primary"
        ),
        verified="partial",
        memory_fields=("regimen", "g3plus_ae_pct"),
        notes="randomised 2:1 open-label",
    ),
    "ATKINS1999_HDIL2_MEL": PublishedArm(
        arm_id="ATKINS1999_HDIL2_MEL",
        trial="HD IL-2 pooled phase II (Atkins 1999)",
        arm="high-dose IL-2 (aldesleukin)",
        arm_role="single-arm",
        immunotherapy_class="cytokine (IL-2)",
        cancer_type="melanoma (metastatic)",
        setting_line="mixed (incl. prior systemic therapy)",
        population_selection="8 trials 1985-1993, selected good PS",
        regimen=(
            "aldesleukin 600,000 or 720,000 IU/kg IV bolus q8h up to 14 doses; 2nd cycle "
            "after 6-9 days; courses q6-12 wk"
        ),
        n=270,
        orr_pct=16.0,
        cr_pct=6.0,
        median_os_mo=11.4,
        os_note=(
            "PR median duration 5.9 mo; 28% of responders (59% of CRs) progression-free; "
            "no progression in responders >30 mo"
        ),
        g3plus_ae_type=(
            "treatment-related deaths 2% (sepsis); severe but reversible capillary-leak toxicity"
        ),
        biomarker_subgroups="PS and prior systemic therapy were the only predictors of response",
        followup="data through fall 1996",
        response_assessment="investigator (pre-RECIST)",
        source="Atkins JCO 1999;17:2105 abstract (acnpsearch index; scribd copy)",
        verified="partial",
        memory_fields=("median_os_mo",),
    ),
    "KN024_PEMBRO": PublishedArm(
        arm_id="KN024_PEMBRO",
        trial="KEYNOTE-024",
        arm="pembrolizumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1",
        cancer_type="NSCLC (metastatic, no EGFR/ALK)",
        setting_line="1L",
        population_selection="PD-L1 TPS >=50%",
        regimen="pembrolizumab 200 mg IV q3w up to 35 cycles",
        n=154,
        orr_pct=44.8,
        median_pfs_mo=10.3,
        median_os_mo=26.3,
        os_note="5-y OS 31.9%; OS 30.0 mo at 25.2-mo FU",
        g3plus_ae_pct=26.6,
        g3plus_ae_type="grade 3-5 TRAE (31.2% at 5 y)",
        biomarker_subgroups="entire population TPS>=50%",
        followup="ORR/PFS/TRAE primary (FU 11.2 mo); OS 5-y (cutoff 1 Jun 2020, median 59.9 mo)",
        response_assessment="BICR RECIST 1.1",
        source=(
            "journaljams.org/study/keynote-024-2016.html; Reck NEJM 2016;375:1823 abstract "
            "(scribd copy); Reck JCO 2019 pubmed 30620668; Reck JCO 2021 5-y "
            "(okayama.elsevierpure.com)"
        ),
        verified="yes",
    ),
    "KN024_CHEMO": PublishedArm(
        arm_id="KN024_CHEMO",
        trial="KEYNOTE-024",
        arm="platinum doublet chemotherapy",
        arm_role="comparator",
        immunotherapy_class="none (chemotherapy)",
        cancer_type="NSCLC (metastatic)",
        setting_line="1L",
        population_selection="PD-L1 TPS >=50%",
        regimen=(
            "investigator-choice platinum doublet 4-6 cycles (+/- pemetrexed maintenance "
            "for nonsquamous)"
        ),
        n=151,
        orr_pct=27.8,
        median_pfs_mo=6.0,
        median_os_mo=13.4,
        os_note="5-y OS 16.3%; effective crossover to anti-PD-(L)1 66%",
        g3plus_ae_pct=53.3,
        g3plus_ae_type="grade 3-5 TRAE",
        followup="as above",
        response_assessment="BICR RECIST 1.1",
        source=(
            "journaljams.org/study/keynote-024-2016.html; Reck NEJM 2016;375:1823 abstract "
            "(scribd copy); Reck JCO 2019 pubmed 30620668; Reck JCO 2021 5-y "
            "(okayama.elsevierpure.com)"
        ),
        verified="yes",
    ),
    "KN189_PEMBRO_CHEMO": PublishedArm(
        arm_id="KN189_PEMBRO_CHEMO",
        trial="KEYNOTE-189",
        arm="pembrolizumab + pemetrexed + platinum",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1 + chemotherapy",
        cancer_type="NSCLC nonsquamous (metastatic, no EGFR/ALK)",
        setting_line="1L",
        population_selection="any PD-L1",
        regimen=(
            "pembrolizumab 200 mg q3w (<=35 cycles) + pemetrexed 500 mg/m2 + cisplatin 75 "
            "mg/m2 or carboplatin AUC5 q3w x4, then pemetrexed maintenance"
        ),
        n=410,
        orr_pct=48.3,
        median_pfs_mo=9.0,
        pfs_note="8.8 at primary (FU 10.5 mo)",
        median_os_mo=22.0,
        os_note="5-y OS 19.4%; 12-mo OS 69.2% (primary)",
        g3plus_ae_pct=72.8,
        g3plus_ae_type="grade 3-5 AE all-cause (67.2% primary)",
        biomarker_subgroups="OS benefit across all PD-L1 categories (incl. TPS<1%)",
        followup="ORR: final (FU 31.0 mo); PFS/OS/AE: 5-y (cutoff 8 Mar 2022, median 64.6 mo)",
        response_assessment="BICR RECIST 1.1",
        source=(
            "Gandhi NEJM 2018 pubmed 29658856; Gadgeel JCO 2020 (physiciansweekly "
            "summary); protocol final analysis (acemap 9147801); Garassino JCO 2023 5-y "
            "PMC10082311 / scholarlycommons.henryford.com"
        ),
        verified="yes",
    ),
    "KN189_PLACEBO_CHEMO": PublishedArm(
        arm_id="KN189_PLACEBO_CHEMO",
        trial="KEYNOTE-189",
        arm="placebo + pemetrexed + platinum",
        arm_role="comparator",
        immunotherapy_class="none (chemotherapy)",
        cancer_type="NSCLC nonsquamous",
        setting_line="1L",
        population_selection="any PD-L1",
        regimen="placebo + pemetrexed + cisplatin/carboplatin x4 then pemetrexed maintenance",
        n=206,
        orr_pct=19.9,
        median_pfs_mo=4.9,
        median_os_mo=10.6,
        os_note="5-y OS 11.3%; 12-mo OS 49.4%; 57.4% crossed over to anti-PD-(L)1",
        g3plus_ae_pct=67.3,
        g3plus_ae_type="grade 3-5 AE all-cause",
        followup="as above",
        response_assessment="BICR RECIST 1.1",
        source=(
            "Gandhi NEJM 2018 pubmed 29658856; Gadgeel JCO 2020 (physiciansweekly "
            "summary); protocol final analysis (acemap 9147801); Garassino JCO 2023 5-y "
            "PMC10082311 / scholarlycommons.henryford.com"
        ),
        verified="yes",
    ),
    "CM017_NIVO": PublishedArm(
        arm_id="CM017_NIVO",
        trial="CheckMate 017",
        arm="nivolumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1",
        cancer_type="NSCLC squamous (stage IIIB/IV)",
        setting_line="2L (after platinum doublet)",
        population_selection="any PD-L1",
        regimen="nivolumab 3 mg/kg IV q2w",
        n=135,
        orr_pct=20.0,
        median_pfs_mo=3.5,
        median_os_mo=9.2,
        os_note="1-y OS 42%; 2-y OS 23%",
        g3plus_ae_pct=7.0,
        g3plus_ae_type="grade 3-4 TRAE (9/131)",
        biomarker_subgroups="PD-L1 (1%, 5%, 10% cut-offs) neither prognostic nor predictive",
        followup="primary NEJM 2015 (min FU ~11 mo); 2-y rates min FU 24.2 mo",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Brahmer NEJM 2015;373:123 abstract (is.muni.cz text copy; pubmed 26028407); "
            "COSA 2015 abstract (G3-4 TRAE); Horn JCO 2017 2-y (pdfslide); Borghaei JCO "
            "2021 5-y PMC8078445"
        ),
        verified="yes",
    ),
    "CM017_DOCE": PublishedArm(
        arm_id="CM017_DOCE",
        trial="CheckMate 017",
        arm="docetaxel",
        arm_role="comparator",
        immunotherapy_class="none (chemotherapy)",
        cancer_type="NSCLC squamous",
        setting_line="2L",
        population_selection="any PD-L1",
        regimen="docetaxel 75 mg/m2 IV q3w",
        n=137,
        orr_pct=9.0,
        median_pfs_mo=2.8,
        median_os_mo=6.0,
        os_note="1-y OS 24%; 2-y OS 8%",
        g3plus_ae_pct=55.0,
        g3plus_ae_type="grade 3-4 TRAE (71/129)",
        followup="as above",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Brahmer NEJM 2015;373:123 abstract (is.muni.cz text copy; pubmed 26028407); "
            "COSA 2015 abstract (G3-4 TRAE); Horn JCO 2017 2-y (pdfslide); Borghaei JCO "
            "2021 5-y PMC8078445"
        ),
        verified="yes",
    ),
    "OAK_ATEZO": PublishedArm(
        arm_id="OAK_ATEZO",
        trial="OAK",
        arm="atezolizumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-L1",
        cancer_type="NSCLC (squamous + nonsquamous, stage IIIB/IV)",
        setting_line="2L-3L",
        population_selection="any PD-L1 (primary population = first 850 of 1225)",
        regimen="atezolizumab 1200 mg IV q3w",
        n=425,
        orr_pct=14.0,
        cr_pct=1.4,
        median_pfs_mo=2.8,
        median_os_mo=13.8,
        g3plus_ae_pct=15.0,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "TC1/2/3 or IC1/2/3 (n=241): OS 15.7 mo, ORR 18%; TC0/IC0: OS "
            "12.6 mo; squamous OS 8.9, nonsquamous 15.6 mo; TC3/IC3 OS 20.5 "
            "(memory)"
        ),
        followup="primary analysis ITT850 (Lancet 2017)",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Rittmeyer Lancet 2017;389:255 pubmed 27979383; jnccn360.org OAK summary; "
            "efficacy table PMC6886121/table/T2"
        ),
        verified="partial",
        memory_fields=("g3plus_ae_pct",),
        notes="any-grade TRAE 64% vs 86%; median DoR 16.3 vs 6.2 mo",
    ),
    "OAK_DOCE": PublishedArm(
        arm_id="OAK_DOCE",
        trial="OAK",
        arm="docetaxel",
        arm_role="comparator",
        immunotherapy_class="none (chemotherapy)",
        cancer_type="NSCLC",
        setting_line="2L-3L",
        population_selection="any PD-L1",
        regimen="docetaxel 75 mg/m2 IV q3w",
        n=425,
        orr_pct=13.0,
        cr_pct=0.2,
        median_pfs_mo=4.0,
        median_os_mo=9.6,
        g3plus_ae_pct=43.0,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "TC1/2/3 or IC1/2/3 (n=222): OS 10.3, ORR 16%; TC0/IC0 OS 8.9; "
            "squamous 7.7, nonsquamous 11.2"
        ),
        followup="primary ITT850",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Rittmeyer Lancet 2017;389:255 pubmed 27979383; jnccn360.org OAK summary; "
            "efficacy table PMC6886121/table/T2"
        ),
        verified="partial",
        memory_fields=("g3plus_ae_pct",),
    ),
    "KN001_NSCLC_PEMBRO": PublishedArm(
        arm_id="KN001_NSCLC_PEMBRO",
        trial="KEYNOTE-001 (NSCLC cohort)",
        arm="pembrolizumab",
        arm_role="single-arm",
        immunotherapy_class="ICI anti-PD-1",
        cancer_type="NSCLC (advanced)",
        setting_line="mixed (1L and previously treated)",
        population_selection="all (training+validation); PD-L1 22C3 biomarker",
        regimen="pembrolizumab 2 mg/kg q3w or 10 mg/kg q2w/q3w",
        n=495,
        orr_pct=19.4,
        median_pfs_mo=3.7,
        median_os_mo=12.0,
        g3plus_ae_pct=9.0,
        g3plus_ae_type="grade 3-5 TRAE",
        biomarker_subgroups=(
            "PD-L1 PS>=50%: ORR 45.2% (validation set, n evaluable 204 "
            "total); 3-y analysis (n=550): TPS>=50% median OS 34.9 mo (1L) / "
            "15.4 (pretreated) vs TPS 1-49% 19.5 / 8.5"
        ),
        followup="Garon NEJM 2015 primary; 3-y Lancet Resp Med 2019 (FU 34.5 mo)",
        response_assessment="central RECIST 1.1",
        source=(
            "AACR 2015 abstract (discovery.researcher.life); Leighl Lancet Respir Med 2019 "
            "3-y (medworm); Garon JCO 2019 5-y PMC6768611"
        ),
        verified="yes",
        notes="useful PD-L1 dose-response biomarker anchor",
    ),
    "IMV210_C1_ATEZO": PublishedArm(
        arm_id="IMV210_C1_ATEZO",
        trial="IMvigor210 cohort 1",
        arm="atezolizumab",
        arm_role="single-arm",
        immunotherapy_class="ICI anti-PD-L1",
        cancer_type="urothelial carcinoma (locally advanced/metastatic)",
        setting_line="1L cisplatin-ineligible",
        population_selection="any PD-L1 (70% renal impairment, 20% ECOG 2)",
        regimen="atezolizumab 1200 mg IV q3w",
        n=119,
        orr_pct=23.0,
        cr_pct=9.0,
        median_pfs_mo=2.7,
        median_os_mo=15.9,
        g3plus_ae_pct=16.0,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "responses across all PD-L1 IC subgroups; tumour mutation load associated with response"
        ),
        followup="median FU 17.2 mo",
        response_assessment="central RECIST 1.1",
        source="Balar Lancet 2017;389:67 (pubmed 27939400 abstract via mdsite/urotoday)",
        verified="partial",
        memory_fields=("g3plus_ae_pct",),
    ),
    "IMV210_C2_ATEZO": PublishedArm(
        arm_id="IMV210_C2_ATEZO",
        trial="IMvigor210 cohort 2",
        arm="atezolizumab",
        arm_role="single-arm",
        immunotherapy_class="ICI anti-PD-L1",
        cancer_type="urothelial carcinoma",
        setting_line="post-platinum (2L+)",
        population_selection="any PD-L1 (IC scoring SP142)",
        regimen="atezolizumab 1200 mg IV q3w",
        n=310,
        orr_pct=15.0,
        cr_pct=5.0,
        median_pfs_mo=2.1,
        median_os_mo=7.9,
        g3plus_ae_pct=16.0,
        g3plus_ae_type="grade 3-4 TRAE",
        biomarker_subgroups=(
            "ORR IC2/3 26%, IC1/2/3 18%, all 15% (early report: IC1 10%, IC0 "
            "9%); OS IC2/3 11.4, IC1/2/3 8.8, all 7.9 mo; TCGA luminal II "
            "subtype & mutation load associated with response"
        ),
        followup="median FU 11.7 mo",
        response_assessment="central RECIST 1.1",
        source="Rosenberg Lancet 2016;387:1909 (PMC5480242 abstract); bladdercancerjournal.com",
        verified="partial",
        memory_fields=("cr_pct", "median_pfs_mo"),
    ),
    "CM214_NIVO_IPI": PublishedArm(
        arm_id="CM214_NIVO_IPI",
        trial="CheckMate 214",
        arm="nivolumab + ipilimumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1 + anti-CTLA-4",
        cancer_type="renal cell carcinoma (advanced clear-cell)",
        setting_line="1L",
        population_selection="IMDC intermediate/poor risk (primary; n=425 of 550 ITT)",
        regimen="nivolumab 3 mg/kg + ipilimumab 1 mg/kg q3w x4, then nivolumab 3 mg/kg q2w",
        n=425,
        orr_pct=42.0,
        cr_pct=9.0,
        median_pfs_mo=11.6,
        os_note="NR at 25.2 mo (18-mo OS 75%; HR 0.63); 5-y min FU HR 0.68 (I/P)",
        g3plus_ae_pct=46.0,
        g3plus_ae_type="grade 3-4 TRAE (all treated, n=547); any-grade TRAE 93%",
        biomarker_subgroups=(
            "favourable risk (n=125): ORR 29% (28.8%), PFS 15.3 mo; ITT ORR "
            "39.1%; PD-L1>=1% ORR 58% (memory); CR 10.1-12.8% at 42 mo"
        ),
        followup="primary NEJM 2018, median FU 25.2 mo",
        response_assessment="IRRC RECIST 1.1",
        source=(
            "journaljams.org/study/checkmate-214-2018.html; Motzer NEJM 2018;378:1277 "
            "(europepmc PMC5972549 abstract); Motzer JITC 2020 42-mo (jitc.bmj.com "
            "e000891); eviq.org.au 5-y summary"
        ),
        verified="partial",
        memory_fields=("g3plus_ae_pct", "PD-L1 subgroup"),
        notes="TRAE leading to discontinuation 22% vs 12%",
    ),
    "CM214_SUN": PublishedArm(
        arm_id="CM214_SUN",
        trial="CheckMate 214",
        arm="sunitinib",
        arm_role="comparator",
        immunotherapy_class="none (VEGFR TKI)",
        cancer_type="renal cell carcinoma (advanced clear-cell)",
        setting_line="1L",
        population_selection="IMDC intermediate/poor risk (n=422 of 546 ITT)",
        regimen="sunitinib 50 mg PO daily 4 wk on/2 wk off",
        n=422,
        orr_pct=27.0,
        cr_pct=1.0,
        median_pfs_mo=8.4,
        median_os_mo=26.0,
        os_note="18-mo OS 60%",
        g3plus_ae_pct=63.0,
        g3plus_ae_type="grade 3-4 TRAE (all treated)",
        biomarker_subgroups=(
            "favourable risk (n=124): ORR 52% (54.0%), PFS 25.1 mo; ITT ORR 32.6%"
        ),
        followup="primary, FU 25.2 mo",
        response_assessment="IRRC RECIST 1.1",
        source=(
            "journaljams.org/study/checkmate-214-2018.html; Motzer NEJM 2018;378:1277 "
            "(europepmc PMC5972549 abstract); Motzer JITC 2020 42-mo (jitc.bmj.com "
            "e000891); eviq.org.au 5-y summary"
        ),
        verified="partial",
        memory_fields=("g3plus_ae_pct",),
    ),
    "CM025_NIVO": PublishedArm(
        arm_id="CM025_NIVO",
        trial="CheckMate 025",
        arm="nivolumab",
        arm_role="experimental",
        immunotherapy_class="ICI anti-PD-1",
        cancer_type="renal cell carcinoma (advanced clear-cell)",
        setting_line="2L-3L (after 1-2 antiangiogenic)",
        population_selection="any PD-L1",
        regimen="nivolumab 3 mg/kg IV q2w",
        n=410,
        orr_pct=23.0,
        median_pfs_mo=4.6,
        median_os_mo=25.8,
        os_note="5-y OS 26%; primary NEJM 2015 OS 25.0 (memory)",
        g3plus_ae_pct=19.0,
        g3plus_ae_type="grade 3-4 TRAE (primary)",
        biomarker_subgroups="MSKCC poor-risk OS HR 0.48",
        followup="ORR/OS long-term (min FU 64 mo, median 72)",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Motzer Cancer 2020;126:4156 long-term (pubmed 32673417; urotoday); Motzer "
            "NEJM 2015;373:1803 primary"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo", "g3plus_ae_pct"),
    ),
    "CM025_EVE": PublishedArm(
        arm_id="CM025_EVE",
        trial="CheckMate 025",
        arm="everolimus",
        arm_role="comparator",
        immunotherapy_class="none (mTOR inhibitor)",
        cancer_type="renal cell carcinoma",
        setting_line="2L-3L",
        population_selection="any PD-L1",
        regimen="everolimus 10 mg PO daily",
        n=411,
        orr_pct=4.0,
        median_pfs_mo=4.4,
        median_os_mo=19.7,
        os_note="5-y OS 18%",
        g3plus_ae_pct=37.0,
        g3plus_ae_type="grade 3-4 TRAE (primary)",
        followup="as above",
        response_assessment="investigator RECIST 1.1",
        source=(
            "Motzer Cancer 2020;126:4156 long-term (pubmed 32673417; urotoday); Motzer "
            "NEJM 2015;373:1803 primary"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo", "g3plus_ae_pct"),
    ),
    "MOTZER_SUN": PublishedArm(
        arm_id="MOTZER_SUN",
        trial="Sunitinib vs IFN-alfa (Motzer 2007/2009)",
        arm="sunitinib",
        arm_role="experimental",
        immunotherapy_class="none (VEGFR TKI)",
        cancer_type="renal cell carcinoma (metastatic clear-cell)",
        setting_line="1L",
        population_selection="treatment-naive",
        regimen="sunitinib 50 mg PO daily 4 wk on/2 wk off",
        n=375,
        orr_pct=47.0,
        median_pfs_mo=11.0,
        pfs_note="PFS HR 0.42 (2007)",
        median_os_mo=26.4,
        followup="ORR/OS: final JCO 2009 (ORR 31% at 2007 interim)",
        response_assessment="independent central review (2007) / investigator (2009 update)",
        source=(
            "Motzer NEJM 2007;356:115 (medluna 17215529; nature ncponc0762); Motzer JCO "
            "2009;27:3584 (synapse.mskcc.org 25140; indiana pure)"
        ),
        verified="partial",
        memory_fields=("n",),
    ),
    "MOTZER_IFN": PublishedArm(
        arm_id="MOTZER_IFN",
        trial="Sunitinib vs IFN-alfa (Motzer 2007/2009)",
        arm="interferon-alfa",
        arm_role="comparator",
        immunotherapy_class="cytokine (interferon-alpha)",
        cancer_type="renal cell carcinoma (metastatic clear-cell)",
        setting_line="1L",
        population_selection="treatment-naive",
        regimen="IFN-alfa titrated to 9 MU SC three times weekly",
        n=375,
        orr_pct=12.0,
        median_pfs_mo=5.0,
        median_os_mo=21.8,
        os_note=(
            "OS HR 0.821 (P=.051); 33% of IFN pts later received sunitinib, 32% other "
            "VEGF inhibitors"
        ),
        g3plus_ae_type="grade 3-4 fatigue more frequent than sunitinib",
        followup="final JCO 2009 (ORR 6% at 2007 interim)",
        response_assessment="as above",
        source=(
            "Motzer NEJM 2007;356:115 (medluna 17215529; nature ncponc0762); Motzer JCO "
            "2009;27:3584 (synapse.mskcc.org 25140; indiana pure)"
        ),
        verified="partial",
        memory_fields=("n",),
    ),
    "FYFE1995_HDIL2_RCC": PublishedArm(
        arm_id="FYFE1995_HDIL2_RCC",
        trial="HD IL-2 pooled phase II (Fyfe 1995)",
        arm="high-dose IL-2 (aldesleukin)",
        arm_role="single-arm",
        immunotherapy_class="cytokine (IL-2)",
        cancer_type="renal cell carcinoma (metastatic)",
        setting_line="mixed",
        population_selection="7 phase II trials; PS-selected",
        regimen=(
            "aldesleukin 600,000 or 720,000 IU/kg IV q8h up to 14 doses; 2nd cycle after "
            "5-9 days; repeat q6-12 wk"
        ),
        n=255,
        orr_pct=14.0,
        cr_pct=5.0,
        median_os_mo=16.3,
        os_note="PR median duration 19.0 mo; CR duration not reached",
        g3plus_ae_type="4% treatment-related deaths; severe reversible acute toxicity",
        biomarker_subgroups=(
            "baseline ECOG PS only predictor of response; NCI series (Klapper "
            "2008, n=259): ORR 20% (23 CR)"
        ),
        followup="JCO 1995",
        response_assessment="investigator (pre-RECIST)",
        source=(
            "Fyfe JCO 1995;13:688 PMID 7884429 (togows/jhu pure); Klapper Cancer 2008 "
            "pubmed 18457330; Rosenberg Ann Surg 1998 pubmed 9742914"
        ),
        verified="partial",
        memory_fields=("median_os_mo",),
    ),
    "IMPACT_SIPT": PublishedArm(
        arm_id="IMPACT_SIPT",
        trial="IMPACT",
        arm="sipuleucel-T",
        arm_role="experimental",
        immunotherapy_class="cancer vaccine (autologous APC, PAP-GM-CSF)",
        cancer_type="prostate cancer (mCRPC, asymptomatic/minimally symptomatic)",
        setting_line="1L mCRPC (pre- or post-docetaxel allowed)",
        population_selection="no visceral mets",
        regimen="sipuleucel-T IV q2w x3 infusions",
        n=341,
        median_pfs_mo=3.4,
        pfs_note=(
            "time to objective progression similar between arms (verified); medians "
            "~14.6 vs 14.4 weeks (memory)"
        ),
        median_os_mo=25.8,
        os_note="36-mo OS 31.7%; HR 0.78",
        g3plus_ae_pct=31.7,
        g3plus_ae_type="grade 3-5 AE all-cause (107/338)",
        biomarker_subgroups=(
            "baseline PSA quartile median OS: <=22.1 ng/mL 41.3 vs 28.3 mo; "
            ">134.1 ng/mL 18.4 vs 15.6"
        ),
        followup="primary NEJM 2010",
        response_assessment="OS primary; objective response not a meaningful endpoint",
        source=(
            "Kantoff NEJM 2010;363:411 (uptodate abstract; fdokumen copy); Can J Urol 2014 "
            "suppl table (canjurol.com); NEAUA 2010 abstract"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo",),
    ),
    "IMPACT_PLACEBO": PublishedArm(
        arm_id="IMPACT_PLACEBO",
        trial="IMPACT",
        arm="placebo (non-activated APC)",
        arm_role="comparator",
        immunotherapy_class="none (placebo)",
        cancer_type="prostate cancer (mCRPC)",
        setting_line="1L mCRPC",
        population_selection="as above",
        regimen="placebo IV q2w x3; 75.6% later received APC8015F salvage product",
        n=171,
        median_pfs_mo=3.3,
        median_os_mo=21.7,
        os_note="36-mo OS 23.0%",
        g3plus_ae_pct=35.1,
        g3plus_ae_type="grade 3-5 AE all-cause (59/168)",
        followup="primary",
        response_assessment="OS primary",
        source=(
            "Kantoff NEJM 2010;363:411 (uptodate abstract; fdokumen copy); Can J Urol 2014 "
            "suppl table (canjurol.com); NEAUA 2010 abstract"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo",),
    ),
    "SLAMON_CHEMO_TRAS": PublishedArm(
        arm_id="SLAMON_CHEMO_TRAS",
        trial="Slamon 2001 (H0648g)",
        arm="chemotherapy + trastuzumab",
        arm_role="experimental",
        immunotherapy_class="monoclonal antibody (anti-HER2)",
        cancer_type="breast cancer (metastatic)",
        setting_line="1L",
        population_selection="HER2 overexpression (IHC 2+/3+)",
        regimen=(
            "trastuzumab 4 mg/kg load then 2 mg/kg weekly + AC (doxorubicin/epirubicin + "
            "cyclophosphamide; n=143) or paclitaxel (n=92)"
        ),
        n=235,
        orr_pct=50.0,
        median_pfs_mo=7.4,
        pfs_note="time to progression",
        median_os_mo=25.1,
        os_note="1-y mortality 22% vs 33%; OS HR ~0.80",
        g3plus_ae_type="cardiac dysfunction main toxicity (27% with AC+H; memory)",
        followup="NEJM 2001",
        response_assessment="response evaluation committee",
        source="Slamon NEJM 2001;344:783 abstract (pubmed 11248153; scribd copy)",
        verified="partial",
        memory_fields=("regimen(dose)", "cardiac rate"),
    ),
    "SLAMON_CHEMO": PublishedArm(
        arm_id="SLAMON_CHEMO",
        trial="Slamon 2001 (H0648g)",
        arm="chemotherapy alone",
        arm_role="comparator",
        immunotherapy_class="none (chemotherapy)",
        cancer_type="breast cancer (metastatic)",
        setting_line="1L",
        population_selection="HER2 overexpression",
        regimen="AC (n=138) or paclitaxel 175 mg/m2 q3w (n=96)",
        n=234,
        orr_pct=32.0,
        median_pfs_mo=4.6,
        pfs_note="time to progression",
        median_os_mo=20.3,
        followup="NEJM 2001",
        response_assessment="response evaluation committee",
        source="Slamon NEJM 2001;344:783 abstract (pubmed 11248153; scribd copy)",
        verified="partial",
        memory_fields=("regimen(paclitaxel dose)",),
        notes="crossover to trastuzumab allowed at progression",
    ),
    "MCLAUGHLIN1998_RITUX": PublishedArm(
        arm_id="MCLAUGHLIN1998_RITUX",
        trial="Rituximab pivotal (McLaughlin 1998)",
        arm="rituximab",
        arm_role="single-arm",
        immunotherapy_class="monoclonal antibody (anti-CD20)",
        cancer_type="indolent B-cell NHL (relapsed low-grade/follicular)",
        setting_line="relapsed (median 2 prior regimens)",
        population_selection="CD20+",
        regimen="rituximab 375 mg/m2 IV weekly x4",
        n=166,
        orr_pct=48.0,
        cr_pct=6.0,
        median_pfs_mo=13.0,
        pfs_note=(
            "projected median TTP in responders (memory); response duration median ~1 "
            "year (verified)"
        ),
        followup="JCO 1998;16:2825",
        response_assessment="investigator (pre-Cheson)",
        source=(
            "cancernetwork.com review quoting McLaughlin JCO 1998; Hainsworth Blood "
            "2000;95:3052 intro (48% response)"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo",),
    ),
    "ZUMA1_AXICEL": PublishedArm(
        arm_id="ZUMA1_AXICEL",
        trial="ZUMA-1 (phase 2, cohorts 1+2)",
        arm="axicabtagene ciloleucel",
        arm_role="single-arm",
        immunotherapy_class="CAR-T (anti-CD19, CD28)",
        cancer_type="large B-cell lymphoma (refractory)",
        setting_line="3L+ (refractory)",
        population_selection="chemorefractory LBCL (DLBCL, PMBCL, tFL)",
        regimen=(
            "Flu 30 mg/m2 + Cy 500 mg/m2 x3 d, then axi-cel 2x10^6 CAR T cells/kg single "
            "infusion; no bridging"
        ),
        n=101,
        orr_pct=83.0,
        cr_pct=58.0,
        median_pfs_mo=5.9,
        median_os_mo=25.8,
        os_note="5-y OS 42.6%; 2-y OS 54%",
        g3plus_ae_type="CRS/NE graded Lee 2014 / CTCAE",
        g3plus_crs_pct=11.0,
        g3plus_neuro_pct=31.0,
        biomarker_subgroups=(
            "durable response associated with low tumour burden, low systemic "
            "inflammation, CCR7+CD45RA+ T cells in product, early CAR-T "
            "expansion"
        ),
        followup=(
            "ORR/CR/OS 5-y (median FU 63.1 mo); CRS/NE 2-y (cohorts 1+2; 13%/28% at "
            "primary NEJM 2017, memory); CR 54% at primary/2-y"
        ),
        response_assessment="investigator (Cheson 2007)",
        source=(
            "Neelapu Blood 2023;141:2307 5-y (PMC10646788); Locke Lancet Oncol 2019 2-y "
            "(quoted in ASH 2022 ZUMA-1 cohort 6 abstract; bloodadvances 5/20/4149 "
            "SCHOLAR-1 comparison); PMC6466472 table 4"
        ),
        verified="yes",
        notes="111 enrolled, 101 infused",
    ),
    "JULIET_TISACEL": PublishedArm(
        arm_id="JULIET_TISACEL",
        trial="JULIET",
        arm="tisagenlecleucel",
        arm_role="single-arm",
        immunotherapy_class="CAR-T (anti-CD19, 4-1BB)",
        cancer_type="large B-cell lymphoma (relapsed/refractory)",
        setting_line="3L+ (transplant-ineligible or failed ASCT)",
        population_selection="r/r DLBCL, ECOG 0-1; 90% bridging chemo",
        regimen=(
            "lymphodepletion (Flu/Cy or bendamustine) then single infusion, target 5x10^8 "
            "CAR+ viable T cells"
        ),
        n=115,
        orr_pct=53.0,
        cr_pct=39.1,
        median_pfs_mo=2.9,
        pfs_note="60-mo PFS 28%",
        median_os_mo=11.1,
        os_note="5-y OS 31.7%; responders median OS 76.5 mo",
        g3plus_ae_type="CRS Penn scale; neuro CTCAE",
        g3plus_crs_pct=22.0,
        g3plus_neuro_pct=12.0,
        biomarker_subgroups=(
            "response associated with relapsed (vs refractory), <=1 bridging "
            "regimen, LDH<=ULN, CRP<15 mg/L"
        ),
        followup=(
            "ORR/CR/OS 5-y (median FU 74.3 mo, full analysis set 115); CRS/neuro primary "
            "NEJM (n=111, FU 14 mo); primary ORR 52%/CR 40% in 93 evaluable"
        ),
        response_assessment="independent review committee (Lugano)",
        source=(
            "Schuster NEJM 2019;380:45 (study.space summary; eviq 3839); Schuster Lancet "
            "Oncol 2021 (medluna 34516954; monash); Maziarz JCO 2025 5-y (ascopost Dec "
            "2025); univadis TCT 2019"
        ),
        verified="partial",
        memory_fields=("median_pfs_mo", "regimen(lymphodepletion)"),
    ),
    "ELIANA_TISACEL": PublishedArm(
        arm_id="ELIANA_TISACEL",
        trial="ELIANA",
        arm="tisagenlecleucel",
        arm_role="single-arm",
        immunotherapy_class="CAR-T (anti-CD19, 4-1BB)",
        cancer_type="B-cell ALL (relapsed/refractory, pediatric & young adult)",
        setting_line="r/r (61% prior allo-HSCT)",
        population_selection="age 3-21 at diagnosis, >=5% marrow blasts",
        regimen=(
            "Flu 30 mg/m2 x4 + Cy 500 mg/m2 x2 then tisa-cel median 3.1x10^6/kg (0.2-5.4x10^6/kg)"
        ),
        n=75,
        orr_pct=81.0,
        cr_pct=60.0,
        pfs_note="CR/CRi within 3 mo (CRi 21%); median EFS 24 mo at 3-y update",
        os_note="median OS NR at 38.8 mo; 18-mo OS 70% (n=79)",
        g3plus_ae_type=(
            "CRS Penn scale (any grade 77%); neuro 40% any grade, 10/75 grade 3, no grade 4"
        ),
        g3plus_crs_pct=46.0,
        g3plus_neuro_pct=13.0,
        followup="primary NEJM 2018 (n=75 infused); 3-y update n=79 ORR 82%",
        response_assessment="independent review (marrow MRD-based)",
        source=(
            "eviq.org.au 3832 (Maude NEJM 2018;378:439 summary); Laetsch JCO 2023 3-y "
            "update PMC10022844; authorea CAR-T neurotoxicity review; acemap ASH 2018 "
            "update"
        ),
        verified="partial",
        memory_fields=("g3plus_crs_pct",),
    ),
    "KARMMA_IDECEL": PublishedArm(
        arm_id="KARMMA_IDECEL",
        trial="KarMMa",
        arm="idecabtagene vicleucel",
        arm_role="single-arm",
        immunotherapy_class="CAR-T (anti-BCMA, 4-1BB)",
        cancer_type="multiple myeloma (relapsed/refractory)",
        setting_line=">=3 prior lines (triple-class exposed)",
        population_selection="refractory to last regimen",
        regimen="Flu/Cy then ide-cel 150-450x10^6 CAR+ T cells",
        n=128,
        orr_pct=73.0,
        cr_pct=33.0,
        median_pfs_mo=8.8,
        median_os_mo=19.4,
        g3plus_ae_type="CRS Lee 2014; neurotox CTCAE (FDA review: G>=3 CRS 9%, NT 4%)",
        g3plus_crs_pct=5.0,
        g3plus_neuro_pct=3.0,
        biomarker_subgroups=(
            "dose-response ORR 50% / 69% / 81% at 150 / 300 / 450x10^6; "
            "MRD-negative 26% (79% of CR)"
        ),
        followup="median FU 13.3 mo (NEJM); 24.8-mo update ORR 73%, CR 33%",
        response_assessment="IRC (IMWG)",
        source=(
            "journaljams.org/study/karmma-2021.html (Munshi NEJM 2021;384:705); "
            "cgtlive.com ASCO 2021 update; FDA approval summary CCR 2022;28:1759"
        ),
        verified="partial",
        memory_fields=("median_os_mo",),
    ),
}


def published(arm_id: str) -> PublishedArm:
    """The published arm ``arm_id`` (e.g. ``"CM067_NIVO_IPI"``); did-you-mean if unknown."""
    try:
        return PUBLISHED[arm_id]
    except KeyError:
        raise UnknownNameError(did_you_mean(arm_id, PUBLISHED, what="published arm_id")) from None


def arms_of(trial: str) -> list[PublishedArm]:
    """The published arms of ``trial`` (its name as in the CSV, e.g. ``"KEYNOTE-024"``)."""
    out = [a for a in PUBLISHED.values() if a.trial == trial]
    if not out:
        raise UnknownNameError(
            did_you_mean(trial, {a.trial for a in PUBLISHED.values()}, what="trial")
        )
    return out
