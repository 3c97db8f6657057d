"""The TRIPOD+AI checklist: the 52 reporting items of a prediction-model study.

Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for reporting
clinical prediction models that use regression or machine learning methods. BMJ
2024;385:e078378 (doi 10.1136/bmj-2023-078378). The item numbers, sections, topics and the
study types each item applies to (D development, E evaluation) are the statement's; each
requirement is a short paraphrase, so authors should read the statement's own wording.
"""

from __future__ import annotations

from typing import NamedTuple

SOURCE = (
    "Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement. BMJ 2024;385:e078378 "
    "(doi 10.1136/bmj-2023-078378)"
)


class ChecklistItem(NamedTuple):
    """One TRIPOD+AI item."""

    item: str  # "12d"
    section: str
    topic: str
    applies: str  # "D", "E" or "D;E"
    requirement: str  # a paraphrase of the statement's wording


def _items(rows: str) -> tuple[ChecklistItem, ...]:
    return tuple(ChecklistItem(*line.split("|")) for line in rows.strip().splitlines())


TRIPOD_AI = _items(
    """
1|Title and abstract|Title|D;E|The title says a prediction model is developed or evaluated, for which population and which outcome
2|Title and abstract|Abstract|D;E|A structured abstract following TRIPOD+AI for Abstracts
3a|Introduction|Background|D;E|The healthcare context, diagnostic or prognostic, why the model is needed, and existing models
3b|Introduction|Background|D;E|The target population, the model's place in the care pathway and its intended users
3c|Introduction|Background|D;E|Known health inequalities between sociodemographic groups
4|Introduction|Objectives|D;E|The objectives, and whether the study develops the model, evaluates it, or both
5a|Methods|Data|D;E|The data sources for development and for evaluation, why they were used, and how representative they are
5b|Methods|Data|D;E|The dates of the data: start and end of accrual and, where relevant, of follow-up
6a|Methods|Participants|D;E|The setting (care level) and the number and location of centres
6b|Methods|Participants|D;E|The eligibility criteria
6c|Methods|Participants|D;E|Treatments received and how they were handled in development or evaluation
7|Methods|Data preparation|D;E|Pre-processing and quality checks, and whether they were alike across sociodemographic groups
8a|Methods|Outcome|D;E|The outcome, its time horizon, how and when it was assessed, and why
8b|Methods|Outcome|D;E|Who assessed the outcome where it needs judgement: qualifications and demographics
8c|Methods|Outcome|D;E|Blinding of the outcome assessment
9a|Methods|Predictors|D|How the initial predictors were chosen and any pre-selection
9b|Methods|Predictors|D;E|Each predictor defined, how and when it was measured, and any blinding
9c|Methods|Predictors|D;E|Who assessed predictors where that needs judgement: qualifications and demographics
10|Methods|Sample size|D;E|How the study size was arrived at, for development and evaluation, and why it suffices
11|Methods|Missing data|D;E|How missing data were handled, and why any data were left out
12a|Methods|Analytical methods|D|How the data were used (development, evaluation), including any partitioning
12b|Methods|Analytical methods|D|How predictors were handled: functional form, rescaling, transformation
12c|Methods|Analytical methods|D|The type of model and why, every model-building step, tuning, and internal validation
12d|Methods|Analytical methods|D;E|How heterogeneity of parameters and performance across clusters (centres) was handled and quantified
12e|Methods|Analytical methods|D;E|Every performance measure and plot, and why; how models were compared
12f|Methods|Analytical methods|E|Any model updating (for example recalibration) arising from the evaluation
12g|Methods|Analytical methods|E|How the predictions were calculated in the evaluation (formula, code, object, interface)
13|Methods|Class imbalance|D;E|Any class-imbalance methods, why, and any recalibration after them
14|Methods|Fairness|D;E|Any approaches to model fairness, and why
15|Methods|Model output|D|The model's output (probabilities, classes) and how any thresholds were set
16|Methods|Training versus evaluation|D;E|Differences between development and evaluation data in setting, eligibility, outcome and predictors
17|Methods|Ethical approval|D;E|The approving ethics committee and the consent or its waiver
18a|Open science|Funding|D;E|Funding and the funders' role
18b|Open science|Conflicts of interest|D;E|Conflicts of interest of all authors
18c|Open science|Protocol|D;E|Where the protocol is, or that there was none
18d|Open science|Registration|D;E|Registration, or that the study was not registered
18e|Open science|Data sharing|D;E|Availability of the study data
18f|Open science|Code sharing|D;E|Availability of the analytical code
19|Patient and public involvement|Patient and public involvement|D;E|Patient and public involvement, or that there was none
20a|Results|Participants|D;E|The flow of participants, with and without the outcome, and follow-up time
20b|Results|Participants|D;E|Characteristics overall and per data source or setting, including missing data
20c|Results|Participants|E|For evaluation, the distribution of key predictors compared with the development data
21|Results|Model development|D;E|Participants and outcome events in each analysis
22|Results|Model specification|D|The full model (formula, code, object, interface) so others can predict, and any restrictions on its use
23a|Results|Model performance|D;E|Performance with confidence intervals, for key subgroups too, with plots
23b|Results|Model performance|D;E|Heterogeneity of performance across clusters, if examined
24|Results|Model updating|E|The results of any model updating: the updated model and its performance
25|Discussion|Interpretation|D;E|An overall interpretation, fairness included, in the light of objectives and earlier studies
26|Discussion|Limitations|D;E|Limitations (representativeness, sample size, overfitting, missing data) and their effects
27a|Discussion|Usability of the model in the context of current care|D|How poor or unavailable input data should be assessed and handled in use
27b|Discussion|Usability of the model in the context of current care|D|How users interact with the inputs or the model, and the expertise they need
27c|Discussion|Usability of the model in the context of current care|D;E|Next steps for research, towards applicability and generalisability
"""
)
"""The checklist, in the statement's order."""
