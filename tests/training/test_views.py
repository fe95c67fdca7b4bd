"""Training pages through the real request path: the quiz page carries no hint of the right
answers and shows the attempt's own order; tampering with a submission gets a clear refusal (never
a 500, never a pass); failing once and passing the second time completes the course and awards the
certificate, whose PDF downloads; the public verification page shows only what it should and is
rate-limited; lesson HTML is sanitised on the way out."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from partners.models import PartnerRole
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.exports import exported
from tests.helpers import login
from tests.training import factories as f
from training.models import (
    AwardStatus,
    CertificationAward,
    Choice,
    Enrollment,
    Lesson,
    QuestionKind,
    QuizAttempt,
)

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------------------------
def normalised(content: bytes) -> str:
    """A page without its per-request CSRF tokens."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", content.decode())


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def form_answers(answers: dict[str, list[int]]) -> dict[str, list[str]]:
    """Answers as the quiz form posts them: ``q-<question id>`` with choice ids."""
    return {f"q-{qid}": [str(c) for c in cids] for qid, cids in answers.items()}


def start_quiz(client: Client, built: f.Built) -> QuizAttempt:
    response = client.post(reverse("training:quiz_start", args=[built.course.pk]))
    assert response.status_code == 302
    match = re.fullmatch(r"/training/attempts/(\d+)/", response["Location"])
    assert match, response["Location"]
    return QuizAttempt.objects.get(pk=int(match.group(1)))


def submit(client: Client, attempt: QuizAttempt, data: dict[str, Any]) -> Any:
    response = client.post(reverse("training:attempt_submit", args=[attempt.pk]), data, follow=True)
    assert response.status_code == 200
    return response


def snapshot(attempt: QuizAttempt) -> tuple:
    attempt = QuizAttempt.objects.get(pk=attempt.pk)
    return (attempt.submitted_at, attempt.score_percent, attempt.passed, attempt.answers)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() or "" for page in reader.pages))


OPEN = (None, None, None, {})


@pytest.fixture
def built() -> f.Built:
    return f.course("Firewall Basics", lessons=2)


@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner, full_name="Lena Learner", email="lena@acme.example")


@pytest.fixture
def ready(me: Actor, built: f.Built) -> f.Built:
    f.complete_lessons(me, built)
    return built


@pytest.fixture
def client(me: Actor) -> Client:
    return login(me.user)


# --- the quiz page: no hint of the right answers --------------------------------------------------
MARKERS = ("correct", "right answer", "is_right", "data-answer", "data-key", "data-solution")


def _quiz_page(client: Client, attempt: QuizAttempt) -> Any:
    response = client.get(reverse("training:attempt", args=[attempt.pk]))
    assert response.status_code == 200
    return response


def test_quiz_page_shows_questions_and_choices_but_no_correctness_marker(
    client: Client, ready: f.Built
) -> None:
    attempt = start_quiz(client, ready)
    response = _quiz_page(client, attempt)
    html = response.content.decode()
    assert 'id="quiz-form"' in html
    questions = [question.text for question in ready.questions]
    choices = list(Choice.objects.filter(question__in=ready.questions).values_list("text", flat=True))
    assert (len(questions), len(choices)) == (3, 10)  # 3 + 4 + 3 choices
    assert [text for text in questions + choices if text not in html] == []
    lowered = html.lower()
    assert [marker for marker in MARKERS if marker in lowered] == []
    assert not re.search(r"data-[\w-]*(correct|right|answer)", lowered)
    # What the template got holds ids and texts only.
    items = response.context["questions"]
    assert len(items) == 3
    assert [sorted(choice) for item in items for choice in item["choices"]] == [["id", "text"]] * 10
    assert [key for item in items for key in ("right", "answered") if key in item] == []


def test_quiz_page_is_identical_whichever_choice_is_right(client: Client, ready: f.Built) -> None:
    attempt = start_quiz(client, ready)
    before = normalised(_quiz_page(client, attempt).content)
    # Move the right answers: every single-choice question gets another right choice, every
    # multiple-choice question the opposite set.
    assert len(ready.questions) == 3
    for question in ready.questions:
        choices = list(Choice.objects.filter(question=question).order_by("pk"))
        right = {c.pk for c in choices if c.is_correct}
        if question.kind == QuestionKind.SINGLE:
            new_right = {next(c.pk for c in choices if c.pk not in right)}
        else:
            new_right = {c.pk for c in choices} - right
        for choice in choices:
            Choice.objects.filter(pk=choice.pk).update(is_correct=choice.pk in new_right)
        assert new_right != right
    after = normalised(_quiz_page(client, attempt).content)
    assert after == before


def test_quiz_page_shows_the_attempts_question_and_choice_order(me: Actor, client: Client) -> None:
    built = f.course(questions=[f.SINGLE, f.MULTIPLE] * 3)
    f.complete_lessons(me, built)
    attempt = start_quiz(client, built)
    html = _quiz_page(client, attempt).content.decode()
    shown_questions = [int(q) for q in re.findall(r'<fieldset[^>]*id="question-(\d+)"', html)]
    assert shown_questions == attempt.question_order
    shown_choices: dict[str, list[int]] = {}
    for qid, cid in re.findall(r'name="q-(\d+)" value="(\d+)"', html):
        shown_choices.setdefault(qid, []).append(int(cid))
    assert list(shown_choices) == [str(q) for q in attempt.question_order]
    assert shown_choices == attempt.choice_order
    # The order is really shuffled somewhere (otherwise the check above proves little).
    natural = {str(q.pk): built.choices[str(q.pk)] for q in built.questions}
    assert (attempt.question_order, attempt.choice_order) != ([q.pk for q in built.questions], natural)
    # Multiple-choice questions are checkboxes, single-choice ones radios.
    assert len(built.questions) == 6
    for question in built.questions:
        kind = "checkbox" if question.kind == QuestionKind.MULTIPLE else "radio"
        inputs = re.findall(rf'type="(\w+)" name="q-{question.pk}"', html)
        assert inputs and set(inputs) == {kind}


def test_a_failed_attempt_with_attempts_left_does_not_reveal_the_right_answers(
    client: Client, ready: f.Built
) -> None:
    attempt = start_quiz(client, ready)
    response = submit(client, attempt, form_answers(ready.answers(0)))
    html = response.content.decode()
    assert "Not passed" in html and 'id="quiz-retry"' in html
    assert "choice-correct" not in html and "(right answer)" not in html
    choices = [choice for item in response.context["questions"] for choice in item["choices"]]
    assert len(choices) == 10
    assert [choice for choice in choices if "correct" in choice] == []


# --- tampering through the real POST ---------------------------------------------------------------
def _refused(client: Client, attempt: QuizAttempt, data: dict[str, Any], message: str) -> None:
    before = snapshot(attempt)
    response = submit(client, attempt, data)
    assert response.redirect_chain == [(reverse("training:attempt", args=[attempt.pk]), 302)]
    assert [m for m in messages_of(response) if message in m], messages_of(response)
    assert snapshot(attempt) == before
    assert not QuizAttempt.objects.filter(passed=True).exists()
    assert not CertificationAward.objects.exists()


def test_an_answer_to_a_question_not_in_the_attempt_is_refused(client: Client, ready: f.Built) -> None:
    attempt = start_quiz(client, ready)
    other = f.course("Other Course")
    foreign = str(other.questions[0].pk)
    right = form_answers(ready.answers())
    _refused(client, attempt, {**right, f"q-{foreign}": other.right[foreign]}, "do not match")
    _refused(client, attempt, {**right, "q-abc": ready.right[str(ready.questions[0].pk)]}, "do not match")
    _refused(client, attempt, {**right, "q-": "1"}, "do not match")
    assert snapshot(attempt) == OPEN
    # The attempt is still open: the real answers are graded afterwards.
    response = submit(client, attempt, right)
    assert snapshot(attempt)[1:3] == (Decimal("100.00"), True)
    assert response.redirect_chain[-1][0] == reverse("training:course", args=[ready.course.pk])


def test_a_choice_of_another_question_is_refused(client: Client, ready: f.Built) -> None:
    attempt = start_quiz(client, ready)
    q1, q2 = (str(q.pk) for q in ready.questions[:2])
    right = form_answers(ready.answers())
    _refused(client, attempt, {**right, f"q-{q1}": [str(ready.right[q2][0])]}, "do not match")
    other = f.course("Other Course")
    foreign_choice = other.right[str(other.questions[0].pk)][0]
    _refused(client, attempt, {**right, f"q-{q1}": [str(foreign_choice)]}, "do not match")
    assert snapshot(attempt) == OPEN


@pytest.mark.parametrize("bad", ["abc", "1.5", "0x10", "1 OR 1=1", "[1]"])
def test_a_non_numeric_choice_is_refused(client: Client, ready: f.Built, bad: str) -> None:
    attempt = start_quiz(client, ready)
    q1 = str(ready.questions[0].pk)
    _refused(client, attempt, {**form_answers(ready.answers()), f"q-{q1}": [bad]}, "could not be read")
    assert snapshot(attempt) == OPEN


def test_a_second_submission_is_refused(client: Client, ready: f.Built) -> None:
    attempt = start_quiz(client, ready)
    submit(client, attempt, form_answers(ready.answers(1)))
    graded = snapshot(attempt)
    assert graded[1:3] == (Decimal("33.33"), False)
    _refused(client, attempt, form_answers(ready.answers()), "already submitted")
    assert snapshot(attempt) == graded
    assert Enrollment.objects.get(course=ready.course).completed_at is None


def test_another_users_attempt_is_a_404(partner: Any, me: Actor, ready: f.Built) -> None:
    attempt = start_quiz(login(me.user), ready)
    colleague = f.learner(partner, full_name="Colin Colleague")
    f.complete_lessons(colleague, ready)
    admin = f.learner(partner, role=PartnerRole.ADMIN)
    for other in (colleague, admin):
        client = login(other.user)
        missing = client.get(reverse("training:attempt", args=[987_654_321]))
        page = client.get(reverse("training:attempt", args=[attempt.pk]))
        post = client.post(
            reverse("training:attempt_submit", args=[attempt.pk]), form_answers(ready.answers())
        )
        assert (missing.status_code, page.status_code, post.status_code) == (404, 404, 404)
        assert normalised(page.content) == normalised(missing.content)
    assert snapshot(attempt) == OPEN
    assert not CertificationAward.objects.filter(partner=partner).exists()


def test_a_submission_after_the_time_limit_closes_the_attempt_as_not_passed(
    me: Actor, client: Client
) -> None:
    built = f.course("Timed Course", time_limit=10)
    f.certification(courses=[built])
    f.complete_lessons(me, built)
    attempt = start_quiz(client, built)
    assert attempt.deadline_at == attempt.started_at + timedelta(minutes=10)
    page = _quiz_page(client, attempt)
    assert 'id="quiz-timer"' in page.content.decode()
    now = timezone.now()
    QuizAttempt.objects.filter(pk=attempt.pk).update(
        started_at=now - timedelta(minutes=12), deadline_at=now - timedelta(minutes=2)
    )
    # The page no longer offers the questions.
    late_page = _quiz_page(client, attempt).content.decode()
    assert 'id="quiz-timed-out"' in late_page and 'id="quiz-form"' not in late_page

    response = submit(client, attempt, form_answers(built.answers()))
    assert response.redirect_chain == [(reverse("training:attempt", args=[attempt.pk]), 302)]
    assert "The time limit has passed; this attempt counts as not passed." in messages_of(response)
    submitted_at, score, passed, answers = snapshot(attempt)
    assert submitted_at is not None and (score, passed, answers) == (Decimal("0"), False, {})
    assert "Not passed" in response.content.decode()
    assert Enrollment.objects.get(course=built.course).completed_at is None
    assert not CertificationAward.objects.filter(user=me.user).exists()


def test_a_refused_start_changes_nothing_not_even_a_timed_out_attempt(client: Client, me: Actor) -> None:
    """The start runs in a savepoint (prm.errors.attempt): a refusal leaves the database as it was.
    The last attempt ran out of time while the learner was away; it stays as stored (its page
    shows it timed out from its deadline), where a refused start used to close it."""
    built = f.course(time_limit=10)
    f.complete_lessons(me, built)
    for _number in (1, 2):
        f.take_quiz(me, built, n_right=0)
    last = f.start(me, built)
    QuizAttempt.objects.filter(pk=last.pk).update(deadline_at=timezone.now() - timedelta(minutes=5))
    response = client.post(reverse("training:quiz_start", args=[built.course.pk]), follow=True)
    assert response.redirect_chain == [(reverse("training:course", args=[built.course.pk]), 302)]
    assert "You have used all 3 attempts for this quiz." in messages_of(response)
    assert snapshot(last) == OPEN
    assert not AuditEvent.objects.filter(action="training.quiz_timed_out").exists()


def test_a_fourth_attempt_after_three_failures_is_refused(client: Client, ready: f.Built) -> None:
    for number in (1, 2, 3):
        attempt = start_quiz(client, ready)
        assert attempt.number == number
        submit(client, attempt, form_answers(ready.answers(0)))
    response = client.post(reverse("training:quiz_start", args=[ready.course.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("training:course", args=[ready.course.pk]), 302)]
    assert "You have used all 3 attempts for this quiz." in messages_of(response)
    assert 'id="quiz-no-attempts"' in response.content.decode()
    assert 'id="quiz-start"' not in response.content.decode()
    assert QuizAttempt.objects.filter(quiz=ready.quiz).count() == 3
    assert not QuizAttempt.objects.filter(quiz=ready.quiz, passed=True).exists()
    # The last attempt offers no retry, and submitting it again changes nothing.
    last = QuizAttempt.objects.get(quiz=ready.quiz, number=3)
    page = _quiz_page(client, last).content.decode()
    assert 'id="quiz-retry"' not in page and 'id="no-attempts-left"' in page
    _refused(client, last, form_answers(ready.answers()), "already submitted")


# --- the happy path: fail once, pass, certificate, PDF ----------------------------------------------
def test_fail_once_then_pass_completes_the_course_and_awards_the_certificate(
    me: Actor, client: Client, built: f.Built
) -> None:
    cert = f.certification("Certified Firewall Associate", courses=[built], validity=24)
    first, second = built.lessons
    response = client.post(reverse("training:lesson_complete", args=[first.pk]))
    assert response["Location"] == reverse("training:lesson", args=[second.pk])
    response = client.post(reverse("training:lesson_complete", args=[second.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("training:course", args=[built.course.pk])
    assert "You finished the lessons. Take the quiz to complete the course." in messages_of(response)
    assert 'id="quiz-start"' in response.content.decode()

    failed = start_quiz(client, built)
    response = submit(client, failed, form_answers(built.answers(1)))
    assert "You scored 33.33%; the pass mark is 80%." in messages_of(response)
    assert 'id="quiz-retry"' in response.content.decode()
    assert Enrollment.objects.get(user=me.user).completed_at is None

    passed = start_quiz(client, built)
    assert (passed.number, passed.pk != failed.pk) == (2, True)
    response = submit(client, passed, form_answers(built.answers()))
    award = CertificationAward.objects.get(user=me.user)
    assert response.redirect_chain == [(reverse("training:certificate", args=[award.pk]), 302)]
    assert messages_of(response) == [
        "Passed with 100%: you completed “Firewall Basics”.",
        "Congratulations, you are now certified: Certified Firewall Associate.",
    ]
    assert Enrollment.objects.get(user=me.user).completed_at is not None
    assert (award.certification_id, award.partner_id, award.status) == (cert.pk, me.partner_id, "active")
    page = response.content.decode()
    assert "Lena Learner" in page and award.verification_code in page
    pdf_url = reverse("training:certificate_pdf", args=[award.pk])
    assert pdf_url in page

    pdf = client.get(pdf_url)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="certificate-{award.verification_code}.pdf"'
    assert pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content)
    assert award.verification_code in text.replace(" ", "")
    assert "Lena Learner" in text and "Certified Firewall Associate" in text
    assert "lena@acme.example" not in text

    # The passed attempt's page reveals the right answers now and links the certificate.
    result = _quiz_page(client, passed).content.decode()
    assert 'id="result-certificate"' in result and "choice-correct" in result
    # My certifications lists it.
    mine = client.get(reverse("training:certifications"))
    assert [row["award"].pk for row in mine.context["awards"]] == [award.pk]


# --- public verification -------------------------------------------------------------------------
@pytest.fixture
def award(me: Actor, built: f.Built) -> CertificationAward:
    f.certification("Certified Firewall Associate", courses=[built], validity=24)
    f.pass_course(me, built)
    return CertificationAward.objects.get(user=me.user)


def _verify(client: Client, code: str) -> Any:
    return client.get(reverse("training:verify", args=[code]))


def test_verify_a_valid_code_shows_only_name_certification_partner_and_validity(
    award: CertificationAward, built: f.Built
) -> None:
    response = _verify(Client(), award.verification_code.lower())
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["status"] == "valid"
    status = re.search(r'id="verify-status">([^<]+)<', html)
    assert status and status.group(1) == "Valid"
    for shown in ("Lena Learner", "Certified Firewall Associate", "Acme Networks", award.verification_code):
        assert shown in html, shown
    for hidden in ("lena@acme.example", "acme.example", built.course.title, "Lesson 1"):
        assert hidden not in html, hidden
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_verify_an_unknown_code(award: CertificationAward) -> None:
    for code in ("ABCDEF123456", "x" * 40, "%20"):
        response = _verify(Client(), code)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Unknown code" in html
        assert "Lena Learner" not in html and "Acme Networks" not in html
    # The echoed code is escaped.
    html = _verify(Client(), "<b>x").content.decode()
    assert "<B>X" not in html and "&lt;B&gt;X" in html


@pytest.mark.parametrize("how", ["status", "date"])
def test_verify_an_expired_certificate(award: CertificationAward, how: str) -> None:
    if how == "status":
        CertificationAward.objects.filter(pk=award.pk).update(status=AwardStatus.EXPIRED)
    else:
        CertificationAward.objects.filter(pk=award.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response = _verify(Client(), award.verification_code)
    html = response.content.decode()
    assert response.context["status"] == "expired"
    status = re.search(r'id="verify-status">([^<]+)<', html)
    assert status and status.group(1) == "Expired"
    assert "Lena Learner" in html and "lena@acme.example" not in html


def test_verify_never_shows_the_email_of_a_holder_without_a_name(partner: Any, built: f.Built) -> None:
    f.certification(courses=[built])
    nameless = f.learner(partner, full_name="", email="nameless.person@acme.example")
    f.pass_course(nameless, built)
    award = CertificationAward.objects.get(user=nameless.user)
    html = _verify(Client(), award.verification_code).content.decode()
    assert "nameless" not in html.lower()
    assert "acme.example" not in html


def test_verify_is_rate_limited(award: CertificationAward) -> None:
    with override_settings(PRM={**settings.PRM, "VERIFY_RATE_LIMIT": "3/m"}):
        for _try in range(2):  # a fixed one-minute window: retry once if it rolled over meanwhile
            from django.core.cache import cache

            cache.clear()
            window = int(time.time() // 60)
            client = Client()
            statuses = [_verify(client, award.verification_code).status_code for _ in range(3)]
            limited = _verify(client, award.verification_code)
            if int(time.time() // 60) == window:
                break
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429
        html = limited.content.decode()
        assert "Too many checks" in html
        assert "Lena Learner" not in html and award.verification_code not in html
        # Another address has its own budget.
        other = Client(REMOTE_ADDR="203.0.113.9").get(
            reverse("training:verify", args=[award.verification_code])
        )
        assert other.status_code == 200


# --- lessons ------------------------------------------------------------------------------------
def test_lesson_html_is_sanitised_on_the_page(client: Client, built: f.Built) -> None:
    lesson = Lesson.objects.create(
        course=built.course,
        position=3,
        title="Dirty lesson",
        body=(
            '<p onclick="steal()">Hello <strong>learner</strong></p>'
            "<script>alert('owned')</script>"
            '<a href="javascript:alert(2)" onmouseover="x()">link</a>'
            '<img src="https://media.vendor.example/a.png" onerror="boom()">'
        ),
        video_url="javascript:alert(3)",
    )
    response = client.get(reverse("training:lesson", args=[lesson.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<p>Hello <strong>learner</strong></p>" in html
    assert "alert(" not in html and "steal()" not in html
    lowered = html.lower()
    for attribute in ("onclick", "onmouseover", "onerror", "javascript:"):
        assert attribute not in lowered, attribute
    assert "media.vendor.example" not in html  # lessons load no remote images
    assert 'id="lesson-video-link"' not in html


def test_a_course_not_meant_for_the_role_or_a_draft_is_a_404(client: Client) -> None:
    courses = [f.course(roles=[PartnerRole.SALES]), f.course(published=False)]
    for built in courses:
        assert client.get(reverse("training:course", args=[built.course.pk])).status_code == 404
        assert client.get(reverse("training:lesson", args=[built.lessons[0].pk])).status_code == 404
        assert client.post(reverse("training:quiz_start", args=[built.course.pk])).status_code == 404
    assert not Enrollment.objects.filter(course__in=[built.course for built in courses]).exists()


@pytest.mark.parametrize("role", [VendorRole.CONTENT_MANAGER, VendorRole.PROGRAM_ADMIN])
def test_authors_preview_a_draft_course_and_its_lessons_without_enrolling(role: str) -> None:
    built = f.course("Unreleased Course", published=False)
    client = login(factories.vendor_user(role))
    course_page = client.get(reverse("training:course", args=[built.course.pk]))
    assert course_page.status_code == 200
    assert (course_page.context["preview"], course_page.context["enrollment"]) == (True, None)
    assert course_page.context["quiz"].question_count == len(built.questions)
    lesson_page = client.get(reverse("training:lesson", args=[built.lessons[1].pk]))
    assert lesson_page.status_code == 200
    assert lesson_page.context["preview"] is True
    assert lesson_page.context["number"] == 2
    assert not Enrollment.objects.filter(course=built.course).exists()


@pytest.mark.parametrize("role", [VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE])
def test_other_vendor_staff_get_a_404_for_course_and_lesson_pages(role: str) -> None:
    client = login(factories.vendor_user(role))
    for built in (f.course(), f.course(published=False)):
        assert client.get(reverse("training:course", args=[built.course.pk])).status_code == 404
        assert client.get(reverse("training:lesson", args=[built.lessons[0].pk])).status_code == 404


def test_the_quiz_cannot_be_started_before_the_lessons_are_done(client: Client, built: f.Built) -> None:
    response = client.post(reverse("training:quiz_start", args=[built.course.pk]), follow=True)
    assert response.redirect_chain == [(reverse("training:course", args=[built.course.pk]), 302)]
    assert "Finish the lessons before taking the quiz." in messages_of(response)
    assert not QuizAttempt.objects.filter(quiz=built.quiz).exists()


# --- vendor report ------------------------------------------------------------------------------
def test_vendor_report_lists_each_partner_with_its_certified_people(
    partner: Any, other_partner: Any, built: f.Built
) -> None:
    f.certification(courses=[built])
    f.pass_course(f.learner(partner), built)
    f.complete_lessons(f.learner(partner), built)
    f.complete_lessons(f.learner(other_partner), built)
    response = login(factories.vendor_user()).get(reverse("training:vendor_report"))
    assert response.status_code == 200
    rows = [(r["partner"], r["enrolled"], r["completed"], r["certified"]) for r in response.context["rows"]]
    assert rows == [("Acme Networks", 2, 1, 1), ("Globex Systems", 1, 0, 0)]
    export = exported(login(factories.vendor_user()), reverse("training:vendor_report_export"))
    assert export.status_code == 200
    assert "Acme Networks,Registered,2,1,50,1" in export.content.decode().replace("\r", "")
