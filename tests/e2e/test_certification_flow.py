"""End to end in headless Chromium: a partner learner opens a course from the Training menu, reads
both lessons, takes the quiz and fails, tries again and passes, is certified, downloads the PDF
certificate, and an anonymous visitor's verification page confirms it. Answers are picked by their
text: the choice order is shuffled per attempt. The database is checked after each step."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from partners.models import PartnerRole
from tests import factories
from training.models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    Enrollment,
    Lesson,
    LessonCompletion,
    PublishStatus,
    Question,
    Quiz,
    QuizAttempt,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

COURSE = "Zero Trust Essentials"
CERTIFICATION = "Certified Zero Trust Associate"
LEARNER = "Grace Hopperton"
# question text -> (right answer, wrong answers)
QUESTIONS = {
    "Which principle sums up zero trust?": ("Never trust, always verify", ["Trust the internal network"]),
    "What does zero trust check on every request?": (
        "Identity and device posture",
        ["Only the source IP address", "Nothing after the first login"],
    ),
}


def _sign_in(page: Page, site_url: str, email: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def _course() -> tuple[Course, list[Lesson]]:
    course = Course.objects.create(
        title=COURSE,
        slug="zero-trust-essentials",
        summary="What zero trust means and how to sell it.",
        status=PublishStatus.PUBLISHED,
        published_at=timezone.now(),
    )
    lessons = [
        Lesson.objects.create(
            course=course,
            position=1,
            title="Why zero trust",
            body="<p>The perimeter is gone: <strong>never trust, always verify</strong>.</p>",
        ),
        Lesson.objects.create(
            course=course,
            position=2,
            title="Checking every request",
            body="<p>Every request is checked for identity and device posture.</p>",
        ),
    ]
    quiz = Quiz.objects.create(course=course, pass_mark_percent=80, max_attempts=3)
    for position, (text, (right, wrong)) in enumerate(QUESTIONS.items(), 1):
        question = Question.objects.create(quiz=quiz, position=position, text=text)
        Choice.objects.create(question=question, text=right, is_correct=True)
        for answer in wrong:
            Choice.objects.create(question=question, text=answer)
    certification = Certification.objects.create(
        name=CERTIFICATION, validity_months=24, status=PublishStatus.PUBLISHED
    )
    certification.courses.set([course])
    return course, lessons


def _answer(page: Page, *, right: bool) -> None:
    expect(page.locator("#quiz-form")).to_be_visible()
    for text, (right_answer, wrong) in QUESTIONS.items():
        question = page.locator("fieldset.quiz-question", has_text=text)
        question.get_by_label(right_answer if right else wrong[0], exact=True).check()
    page.click("#quiz-submit")


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() or "" for p in reader.pages))


def test_learner_fails_then_passes_is_certified_and_the_certificate_verifies(
    page: Page, browser: Browser, site_url: str
) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    partner = factories.PartnerFactory(legal_name="Northwind Resellers")
    learner = factories.partner_user(
        partner, role=PartnerRole.LEARNER, full_name=LEARNER, email="grace@northwind.example"
    )
    course, lessons = _course()

    # 1. The learner signs in, opens Training and the course.
    _sign_in(page, site_url, learner.email)
    page.locator("nav").get_by_role("link", name="Training").click()
    expect(page).to_have_url(re.compile(r"/training/$"))
    page.locator(f"#course-{course.pk}").get_by_role("link", name=COURSE).click()
    expect(page).to_have_url(re.compile(rf"/training/courses/{course.pk}/$"))
    expect(page.locator("#quiz-locked")).to_be_visible()
    expect(page.locator("#course-certifications")).to_contain_text(CERTIFICATION)

    # 2. Reads both lessons.
    page.click("#course-continue")
    expect(page).to_have_url(re.compile(rf"/training/lessons/{lessons[0].pk}/$"))
    expect(page.locator("#lesson h1")).to_have_text("Why zero trust")
    expect(page.locator(".lesson-body")).to_contain_text("never trust, always verify")
    page.get_by_role("button", name="Mark complete and continue").click()
    expect(page).to_have_url(re.compile(rf"/training/lessons/{lessons[1].pk}/$"))
    expect(page.locator("#lesson h1")).to_have_text("Checking every request")
    expect(page.locator(".lesson-body")).to_contain_text("identity and device posture")
    page.click("#lesson-complete")
    expect(page).to_have_url(re.compile(rf"/training/courses/{course.pk}/$"))
    expect(
        page.get_by_text("You finished the lessons. Take the quiz to complete the course.")
    ).to_be_visible()
    enrollment = Enrollment.objects.get(user=learner)
    assert sorted(
        LessonCompletion.objects.filter(enrollment=enrollment).values_list("lesson_id", flat=True)
    ) == [lesson.pk for lesson in lessons]
    assert enrollment.completed_at is None

    # 3. Takes the quiz and answers wrong: not passed, with a way to try again.
    page.click("#quiz-start")
    expect(page).to_have_url(re.compile(r"/training/attempts/\d+/$"))
    html = page.content().lower()
    assert "correct" not in html and "right answer" not in html  # no hint before submitting
    _answer(page, right=False)
    expect(page.locator("#quiz-result")).to_contain_text("Not passed")
    expect(page.get_by_text("You scored 0%; the pass mark is 80%.").first).to_be_visible()
    expect(page.locator("#quiz-retry")).to_have_text(re.compile("Try again"))
    first = QuizAttempt.objects.get(enrollment=enrollment)
    assert (first.number, first.score_percent, first.passed) == (1, Decimal("0.00"), False)

    # 4. Tries again and answers right: passed, certified.
    page.click("#quiz-retry")
    expect(page).to_have_url(re.compile(r"/training/attempts/\d+/$"))
    second = QuizAttempt.objects.get(enrollment=enrollment, number=2)
    assert page.url.endswith(f"/training/attempts/{second.pk}/")
    _answer(page, right=True)
    award = CertificationAward.objects.get(user=learner)
    expect(page).to_have_url(re.compile(rf"/training/certifications/{award.pk}/$"))
    expect(page.get_by_text(f"Passed with 100%: you completed “{COURSE}”.")).to_be_visible()
    expect(page.get_by_text(f"Congratulations, you are now certified: {CERTIFICATION}.")).to_be_visible()
    expect(page.locator("#certificate")).to_contain_text(LEARNER)
    expect(page.locator("#certificate")).to_contain_text(CERTIFICATION)
    code = page.locator("#verification-code").inner_text().strip()
    assert code == award.verification_code
    second.refresh_from_db()
    assert (second.score_percent, second.passed) == (Decimal("100.00"), True)
    enrollment.refresh_from_db()
    assert enrollment.completed_at is not None
    assert (award.user_id, award.partner_id, award.certification.name, award.status) == (
        learner.pk,
        partner.pk,
        CERTIFICATION,
        "active",
    )
    assert 729 <= (award.expires_at - award.awarded_at).days <= 731  # 24 months

    # 5. Downloads the PDF.
    with page.expect_download() as download_info:
        page.click("#certificate-download")
    download = download_info.value
    assert download.suggested_filename == f"certificate-{code}.pdf"
    with open(download.path(), "rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert LEARNER in text and CERTIFICATION in text and "Northwind Resellers" in text
    assert code in text.replace(" ", "")

    # 6. Anyone with the link verifies it, signed out, in a fresh browser context.
    verification_url = page.locator("#verification-url").get_attribute("href")
    assert verification_url == f"{site_url}/verify/{code}/"
    anonymous = browser.new_context()
    try:
        visitor = anonymous.new_page()
        visitor.goto(verification_url)
        expect(visitor.locator("#verify-status")).to_have_text("Valid")
        facts = visitor.locator("#verify-facts")
        expect(facts).to_contain_text(LEARNER)
        expect(facts).to_contain_text(CERTIFICATION)
        expect(facts).to_contain_text("Northwind Resellers")
        assert "grace@northwind.example" not in visitor.content()
    finally:
        anonymous.close()
