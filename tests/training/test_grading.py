"""Server-side grading: a question counts only when the chosen set equals the right set; the score
is right/total rounded to 2 decimals; passing means score >= pass mark."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.training import factories as f
from training.models import QuestionKind, QuizAttempt
from training.services import grade

pytestmark = pytest.mark.django_db

MULTI = (QuestionKind.MULTIPLE, 4, (0, 2))  # choices 0 and 2 right


def _attempt(built: f.Built) -> QuizAttempt:
    return QuizAttempt(question_order=[q.pk for q in built.questions])


@pytest.fixture
def single() -> f.Built:
    return f.course(questions=[f.SINGLE])


@pytest.fixture
def multi() -> f.Built:
    return f.course(questions=[MULTI])


def test_single_choice_right_scores_100(single: f.Built) -> None:
    assert grade(_attempt(single), single.answers(1)) == Decimal("100.00")


def test_single_choice_wrong_scores_0(single: f.Built) -> None:
    assert grade(_attempt(single), single.answers(0)) == Decimal("0.00")


def test_single_choice_unanswered_scores_0(single: f.Built) -> None:
    assert grade(_attempt(single), {}) == Decimal("0.00")


def test_multiple_choice_exact_set_is_right(multi: f.Built) -> None:
    qid = str(multi.questions[0].pk)
    assert len(multi.right[qid]) == 2
    assert grade(_attempt(multi), {qid: list(reversed(multi.right[qid]))}) == Decimal("100.00")


def test_multiple_choice_subset_is_wrong(multi: f.Built) -> None:
    qid = str(multi.questions[0].pk)
    assert grade(_attempt(multi), {qid: multi.right[qid][:1]}) == Decimal("0.00")


def test_multiple_choice_superset_is_wrong(multi: f.Built) -> None:
    qid = str(multi.questions[0].pk)
    superset = multi.right[qid] + multi.wrong(qid)
    assert len(superset) == 3
    assert grade(_attempt(multi), {qid: superset}) == Decimal("0.00")


def test_multiple_choice_all_choices_is_wrong(multi: f.Built) -> None:
    qid = str(multi.questions[0].pk)
    assert grade(_attempt(multi), {qid: multi.choices[qid]}) == Decimal("0.00")


@pytest.mark.parametrize(
    ("n_questions", "n_right", "score"),
    [(3, 2, "66.67"), (3, 1, "33.33"), (6, 5, "83.33"), (4, 3, "75.00"), (5, 4, "80.00"), (7, 0, "0.00")],
)
def test_score_is_right_over_total_rounded_to_two_decimals(
    n_questions: int, n_right: int, score: str
) -> None:
    built = f.course(questions=[f.SINGLE, MULTI] * (n_questions // 2) + [f.SINGLE] * (n_questions % 2))
    assert len(built.questions) == n_questions
    result = grade(_attempt(built), built.answers(n_right))
    assert result == Decimal(score)
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("n_questions", "n_right", "pass_mark", "score", "passed"),
    [
        (5, 4, 80, "80.00", True),  # exactly the pass mark passes
        (4, 3, 80, "75.00", False),
        (5, 3, 80, "60.00", False),
        (5, 5, 80, "100.00", True),
        (3, 2, 67, "66.67", False),  # 66.666... rounds to 66.67, still under 67
        (3, 2, 66, "66.67", True),
    ],
)
def test_pass_mark_boundary_through_submission(
    n_questions: int, n_right: int, pass_mark: int, score: str, passed: bool, partner: Any
) -> None:
    built = f.course(questions=[f.SINGLE] * n_questions, pass_mark=pass_mark)
    actor = f.learner(partner)
    f.complete_lessons(actor, built)
    attempt = f.take_quiz(actor, built, n_right)
    attempt.refresh_from_db()
    assert attempt.score_percent == Decimal(score)
    assert attempt.passed is passed
    assert attempt.submitted_at is not None
    attempt.enrollment.refresh_from_db()
    assert (attempt.enrollment.completed_at is not None) is passed
