"""The engine answers OPA's own topdown test cases as `opa eval` of the same OPA version does.

A fixed sample (every 16th case, about 150) by default; PE_CONFORMANCE_ALL=1 runs all of them.
How each case is run and compared: tests/engine/conformance.py.
"""

import os

import pytest

from tests.engine import conformance
from tests.engine.conformance import Case, Outcome

ALL, WHY_NONE = conformance.available_cases()
RUN_ALL = os.environ.get("PE_CONFORMANCE_ALL") == "1"
SELECTED = ALL if RUN_ALL else conformance.sample(ALL)


def _param(case: Case) -> object:
    """One case as a test, skipped at collection when the engine cannot express it."""
    reason = conformance.skip_reason(case)
    marks = [pytest.mark.skip(reason=conformance.SKIP_REASONS[reason])] if reason else []
    return pytest.param(case, id=f"{case.note} [{case.id}]", marks=marks)


PARAMS = [_param(c) for c in SELECTED] or [pytest.param(None, id="no-cases", marks=pytest.mark.skip(reason=WHY_NONE))]


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """The outcomes of the cases this session runs, computed together, two at a time."""
    wanted = [
        item.callspec.params["case"]
        for item in request.session.items
        if getattr(item, "module", None) is request.module
        and hasattr(item, "callspec")
        and item.callspec.params.get("case") is not None
        and not item.get_closest_marker("skip")
    ]
    return {outcome.case.id: outcome for outcome in conformance.run_cases(wanted)}


def test_the_cases_of_the_pinned_opa_are_found() -> None:
    if not ALL:
        pytest.skip(WHY_NONE)
    assert len(ALL) > 2000
    assert len({case.id for case in ALL}) == len(ALL)


@pytest.mark.parametrize("case", PARAMS)
def test_engine_answers_as_opa_eval(case: Case, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[case.id]
    if outcome.status == "skipped":
        pytest.skip(conformance.SKIP_REASONS[outcome.reason])
    assert outcome.status == "equal", outcome.describe()
