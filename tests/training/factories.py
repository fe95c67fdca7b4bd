"""Builders for training tests: published courses with lessons and a quiz whose right answers are
known, certifications requiring courses, learners, and progress walked through the real services
(each learner action runs in that learner's database scope, as a request would)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from partners.models import Partner, PartnerRole
from prm.tenancy import Actor
from tests import factories
from tests.scoping import acting as acting  # re-exported: the app's tests say f.acting
from training import services
from training.models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    Enrollment,
    Lesson,
    PublishStatus,
    Question,
    QuestionKind,
    Quiz,
    QuizAttempt,
)

_seq = itertools.count(1)

# One question: (kind, number of choices, indexes of the right choices).
QuestionSpec = tuple[str, int, tuple[int, ...]]
SINGLE: QuestionSpec = (QuestionKind.SINGLE, 3, (0,))
MULTIPLE: QuestionSpec = (QuestionKind.MULTIPLE, 4, (1, 3))


@dataclass
class Built:
    course: Course
    lessons: list[Lesson]
    quiz: Quiz | None
    questions: list[Question] = field(default_factory=list)
    # str(question pk) -> sorted ids of the right choices / of all choices
    right: dict[str, list[int]] = field(default_factory=dict)
    choices: dict[str, list[int]] = field(default_factory=dict)

    def wrong(self, qid: str) -> list[int]:
        """A wrong answer to one question (the first choice that is not right)."""
        return [next(c for c in self.choices[qid] if c not in self.right[qid])]

    def answers(self, n_right: int | None = None) -> dict[str, list[int]]:
        """Answers to every question, the first ``n_right`` (by position) right, the rest wrong."""
        n_right = len(self.questions) if n_right is None else n_right
        return {
            str(q.pk): self.right[str(q.pk)] if i < n_right else self.wrong(str(q.pk))
            for i, q in enumerate(self.questions)
        }


def course(
    title: str | None = None,
    *,
    lessons: int = 2,
    questions: list[QuestionSpec] | None = None,
    quiz: bool = True,
    pass_mark: int = 80,
    max_attempts: int = 3,
    time_limit: int | None = None,
    roles: list[str] | None = None,
    published: bool = True,
) -> Built:
    n = next(_seq)
    title = title or f"Course {n:03d}"
    c = Course.objects.create(
        title=title,
        slug=f"course-{n}",
        status=PublishStatus.PUBLISHED if published else PublishStatus.DRAFT,
        published_at=timezone.now() if published else None,
        **({"partner_roles": roles} if roles is not None else {}),
    )
    built = Built(
        course=c,
        lessons=[
            Lesson.objects.create(course=c, position=i, title=f"Lesson {i}", body=f"<p>Part {i}</p>")
            for i in range(1, lessons + 1)
        ],
        quiz=None,
    )
    if not quiz:
        return built
    built.quiz = Quiz.objects.create(
        course=c, pass_mark_percent=pass_mark, max_attempts=max_attempts, time_limit_minutes=time_limit
    )
    for position, (kind, n_choices, right) in enumerate(
        [SINGLE, MULTIPLE, SINGLE] if questions is None else questions, 1
    ):
        question = Question.objects.create(
            quiz=built.quiz, position=position, text=f"{title} question {position}", kind=kind
        )
        choices = [
            Choice.objects.create(question=question, text=f"Q{position} choice {i}", is_correct=i in right)
            for i in range(n_choices)
        ]
        built.questions.append(question)
        built.right[str(question.pk)] = sorted(ch.pk for ch in choices if ch.is_correct)
        built.choices[str(question.pk)] = sorted(ch.pk for ch in choices)
    return built


def certification(
    name: str | None = None, *, courses: list[Built], validity: int | None = 12, published: bool = True
) -> Certification:
    cert = Certification.objects.create(
        name=name or f"Certified Thing {next(_seq)}",
        validity_months=validity,
        status=PublishStatus.PUBLISHED if published else PublishStatus.DRAFT,
    )
    cert.courses.set([b.course for b in courses])
    return cert


def learner(partner: Partner | None = None, role: str = PartnerRole.LEARNER, **user_kwargs: Any) -> Actor:
    return factories.actor_for(factories.partner_user(partner, role=role, **user_kwargs))


def complete_lessons(actor: Actor, built: Built) -> None:
    with acting(actor):
        for lesson in built.lessons:
            services.lesson_complete(actor=actor, lesson=lesson)


def start(actor: Actor, built: Built, seed: int = 1) -> QuizAttempt:
    with acting(actor):
        return services.attempt_start(actor=actor, quiz=built.quiz, rng=random.Random(seed))


def submit(actor: Actor, attempt: QuizAttempt, answers: dict[str, list[int]]) -> QuizAttempt:
    with acting(actor):
        return services.attempt_submit(actor=actor, attempt=attempt, answers=answers)


def attempts_left(enrollment: Enrollment, quiz: Quiz) -> int:
    """As the learner's course page counts them: in the learner's own scope."""
    with acting(factories.actor_for(enrollment.user)):
        return services.attempts_left(enrollment, quiz)


def take_quiz(actor: Actor, built: Built, n_right: int | None = None, seed: int = 1) -> QuizAttempt:
    return submit(actor, start(actor, built, seed), built.answers(n_right))


def pass_course(actor: Actor, built: Built) -> QuizAttempt | None:
    complete_lessons(actor, built)
    return take_quiz(actor, built) if built.quiz else None


def award(
    actor: Actor, cert: Certification, *, expires_in: timedelta | None, **kwargs: Any
) -> CertificationAward:
    """An award made directly (for reminder/expiry/count tests), expiring ``expires_in`` from now."""
    now = timezone.now()
    return CertificationAward.objects.create(
        user=actor.user,
        partner_id=actor.partner_id,
        certification=cert,
        awarded_at=now - timedelta(days=300),
        expires_at=None if expires_in is None else now + expires_in,
        **kwargs,
    )
