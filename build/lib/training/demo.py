"""Demo data for training: two published courses with lessons and quizzes, a certification that
requires both, a learning path for sales, and learners at every stage: Sam (Acme) finished the
first course and is in the second, Leo (Acme) is certified, Bob (Globex) is certified with the
certificate expiring in 20 days (so the 30-day reminder applies).

Called by ``manage.py seed_demo`` through ``TrainingConfig.demo_seeder``; idempotent (skips when
the first course exists). Runs inside the command's vendor scope; progress goes through the
services so completions, awards, notifications and the audit trail look like real use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from partners.middleware import resolve_actor
from partners.models import PartnerRole

from . import services
from .models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    LearningPath,
    LearningPathCourse,
    Lesson,
    PublishStatus,
    Question,
    QuestionKind,
    Quiz,
)

User = get_user_model()

FUNDAMENTALS = {
    "title": "Platform fundamentals",
    "slug": "platform-fundamentals",
    "summary": "What the platform does, how it is deployed and how it is licensed: the basics every "
    "partner needs before the first customer conversation.",
    "minutes": 25,
    "lessons": [
        (
            "What the platform protects",
            "<p>The platform secures three things: <strong>users</strong>, <strong>devices</strong> and "
            "<strong>applications</strong>, wherever they are.</p>"
            "<h2>The three building blocks</h2><ul>"
            "<li><strong>Edge Firewall</strong> for branch and data-centre traffic.</li>"
            "<li><strong>Secure Access</strong> for users working from anywhere.</li>"
            "<li><strong>Threat Analytics</strong> to correlate what both see.</li></ul>"
            "<blockquote>One policy, written once, enforced everywhere.</blockquote>",
        ),
        (
            "Deployment options",
            "<p>Customers choose how to run it:</p><table><thead><tr><th>Option</th><th>Best for</th></tr>"
            "</thead><tbody><tr><td>Appliance</td><td>Branches with local breakout</td></tr>"
            "<tr><td>Virtual</td><td>Private cloud and data centres</td></tr>"
            "<tr><td>Cloud service</td><td>Remote users, no hardware</td></tr></tbody></table>"
            "<p>All three are managed from the same console.</p>",
        ),
        (
            "Licensing in five minutes",
            "<p>Hardware is bought once; <em>subscriptions</em> are per user or per device, for one or "
            "three years.</p><ol><li>Pick the appliances (if any).</li><li>Count users for Secure "
            "Access.</li><li>Add Threat Analytics for customers above 500 users.</li></ol>"
            "<p>Register the deal before quoting to get your registration discount.</p>",
        ),
    ],
    "quiz": {
        "time_limit": None,
        "questions": [
            (
                "Which building block secures users working from anywhere?",
                QuestionKind.SINGLE,
                [("Secure Access", True), ("Edge Firewall", False), ("Threat Analytics", False)],
            ),
            (
                "Which deployment options are available? (select all)",
                QuestionKind.MULTIPLE,
                [("Appliance", True), ("Virtual", True), ("Cloud service", True), ("Mainframe", False)],
            ),
            (
                "How are subscriptions counted?",
                QuestionKind.SINGLE,
                [("Per user or per device", True), ("Per gigabyte", False), ("Per site only", False)],
            ),
            (
                "What should you do before quoting? (select all)",
                QuestionKind.MULTIPLE,
                [
                    ("Register the deal", True),
                    ("Count the users", True),
                    ("Send the customer a discount code", False),
                ],
            ),
        ],
    },
}

ZERO_TRUST = {
    "title": "Selling zero-trust security",
    "slug": "selling-zero-trust",
    "summary": "How to open, qualify and win a zero-trust conversation: the buyer, the pains, and "
    "the proof that closes.",
    "minutes": 35,
    "lessons": [
        (
            "Zero trust in plain words",
            "<p><strong>Never trust, always verify:</strong> every request is checked for who, what device "
            "and what application, every time, whether it comes from inside the office or not.</p>"
            "<p>It replaces the old idea of a trusted internal network.</p>",
        ),
        (
            "Finding the buyer",
            "<p>The budget usually sits with the <strong>CISO</strong>; the champion is often the "
            "network or infrastructure lead.</p><h3>Good opening questions</h3><ul><li>How do remote "
            "users reach internal applications today?</li><li>When did you last review who can reach "
            "what?</li><li>Which audit is coming up?</li></ul>",
        ),
        (
            "Proof of value",
            "<p>Run a two-week proof of value with <em>one</em> application and <em>one</em> user group. "
            "Agree the success criteria in writing before you start.</p><p>Ask your channel account "
            "manager for a demo tenant and MDF to fund the workshop.</p>",
        ),
    ],
    "quiz": {
        "time_limit": 10,
        "questions": [
            (
                "What does zero trust mean?",
                QuestionKind.SINGLE,
                [
                    ("Every request is verified, wherever it comes from", True),
                    ("Internal traffic is trusted by default", False),
                    ("Nobody gets access to anything", False),
                ],
            ),
            (
                "Who usually owns the budget?",
                QuestionKind.SINGLE,
                [("The CISO", True), ("The help desk", False), ("Facilities", False)],
            ),
            (
                "Which make a good proof of value? (select all)",
                QuestionKind.MULTIPLE,
                [
                    ("One application and one user group", True),
                    ("Written success criteria agreed up front", True),
                    ("Every application at once", False),
                ],
            ),
            (
                "Which questions open a zero-trust conversation well? (select all)",
                QuestionKind.MULTIPLE,
                [
                    ("How do remote users reach internal applications?", True),
                    ("Which audit is coming up?", True),
                    ("What colour is your logo?", False),
                ],
            ),
        ],
    },
}


def _course(spec: dict[str, Any], roles: list[str]) -> Course:
    course = Course.objects.create(
        title=spec["title"],
        slug=spec["slug"],
        summary=spec["summary"],
        estimated_minutes=spec["minutes"],
        partner_roles=roles,
    )
    for position, (title, body) in enumerate(spec["lessons"], start=1):
        Lesson.objects.create(
            course=course, position=position, title=title, body=services.sanitise_html(body)
        )
    quiz = Quiz.objects.create(
        course=course, pass_mark_percent=80, max_attempts=3, time_limit_minutes=spec["quiz"]["time_limit"]
    )
    for position, (text, kind, choices) in enumerate(spec["quiz"]["questions"], start=1):
        question = Question.objects.create(quiz=quiz, position=position, text=text, kind=kind)
        for choice_text, correct in choices:
            Choice.objects.create(question=question, text=choice_text, is_correct=correct)
    return course


def _right_answers(quiz: Quiz) -> dict[str, list[int]]:
    return {
        str(question.pk): [choice.pk for choice in question.choices.all() if choice.is_correct]
        for question in quiz.questions.prefetch_related("choices")
    }


def _take(actor: Any, course: Course, *, lessons: int | None = None, quiz: bool = True) -> None:
    """The learner works through ``lessons`` lessons (all by default) and, with ``quiz``, passes."""
    for lesson in list(course.lessons.order_by("position"))[:lessons]:
        services.lesson_complete(actor=actor, lesson=lesson)
    if quiz:
        attempt = services.attempt_start(actor=actor, quiz=course.quiz)
        services.attempt_submit(actor=actor, attempt=attempt, answers=_right_answers(course.quiz))


def seed(stdout: Any = None) -> None:
    if Course.objects.filter(slug=FUNDAMENTALS["slug"]).exists():
        return
    with transaction.atomic():
        author = resolve_actor(User.objects.get(email="tom.training@prm.example"))
        everyone = list(PartnerRole.values)
        fundamentals = _course(FUNDAMENTALS, everyone)
        zero_trust = _course(ZERO_TRUST, [PartnerRole.ADMIN, PartnerRole.SALES, PartnerRole.LEARNER])
        fundamentals = services.course_publish(actor=author, course=fundamentals)
        zero_trust = services.course_publish(actor=author, course=zero_trust)
        certification = Certification.objects.create(
            name="Certified Security Seller",
            description="For partner sellers who can position the platform and run a zero-trust "
            "sale. Counts towards your partner tier.",
            validity_months=24,
            status=PublishStatus.PUBLISHED,
        )
        certification.courses.set([fundamentals, zero_trust])
        path = LearningPath.objects.create(name="Sales essentials", partner_role=PartnerRole.SALES)
        LearningPathCourse.objects.create(path=path, course=fundamentals, position=1)
        LearningPathCourse.objects.create(path=path, course=zero_trust, position=2)

        sam = resolve_actor(User.objects.get(email="sam.sales@acme.example"))
        _take(sam, fundamentals)
        _take(sam, zero_trust, lessons=1, quiz=False)

        leo = resolve_actor(User.objects.get(email="leo.learner@acme.example"))
        _take(leo, fundamentals)
        _take(leo, zero_trust)

        bob = resolve_actor(User.objects.get(email="bob.admin@globex.example"))
        _take(bob, fundamentals)
        _take(bob, zero_trust)
        # Demo only: make Bob's certificate expire in 20 days so the 30-day reminder applies.
        CertificationAward.objects.filter(user=bob.user, certification=certification).update(
            expires_at=timezone.now() + timedelta(days=20)
        )
    if stdout is not None:
        stdout.write("Training: 2 courses, 1 certification (Leo and Bob certified, Sam in progress).")
