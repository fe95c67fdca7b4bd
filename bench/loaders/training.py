"""Training: a catalogue (courses with ordered lessons and a quiz of single- and multiple-choice
questions, certifications that require courses, a learning path per role) and the partner users'
progress through it: enrollments, lesson completions, quiz attempts graded as the server grades
them, and the certification awards the passes earn (expired ones too, with their courses reopened
in a new cycle, as ``training.services.award_expire`` leaves them).

Learners are the partners' active members whose role a course is meant for; learner-role members
take the most courses, the busiest partners train the most people (they have the most). Each
enrollment with a quiz attempt has all its lessons done (``attempt_start`` requires it); an attempt
passes when its score reaches the quiz's pass mark, and at most ``max_attempts`` count (a training
manager reset some learners' failed attempts, who then tried again). Enrollments are generated per
learner until the attempts reach the wanted number, written in batches of learners with their
completions, attempts and awards (each batch one transaction).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bench.loaders.bulk import check_columns, copy_into, load_rows
from bench.loaders.partners import LoadedPartners, channel_account_manager_id
from bench.loaders.people import People
from bench.loaders.timeline import DAY, Timeline
from bench.log import log

COURSE_COLUMNS = (
    "id",
    "title",
    "slug",
    "summary",
    "status",
    "partner_roles",
    "estimated_minutes",
    "published_at",
    "created_at",
)
LESSON_COLUMNS = ("id", "course_id", "position", "title", "body", "video_url", "attachment")
QUIZ_COLUMNS = ("id", "course_id", "pass_mark_percent", "max_attempts", "time_limit_minutes")
QUESTION_COLUMNS = ("id", "quiz_id", "position", "text", "kind")
CHOICE_COLUMNS = ("id", "question_id", "text", "is_correct")
CERTIFICATION_COLUMNS = ("id", "name", "description", "validity_months", "partner_roles", "status")
CERTIFICATION_COURSE_COLUMNS = ("id", "certification_id", "course_id")
PATH_COLUMNS = ("id", "name", "partner_role")
PATH_COURSE_COLUMNS = ("id", "path_id", "course_id", "position")
ENROLLMENT_COLUMNS = (
    "id",
    "user_id",
    "partner_id",
    "course_id",
    "cycle",
    "started_at",
    "completed_at",
    "last_lesson_id",
)
COMPLETION_COLUMNS = ("id", "enrollment_id", "partner_id", "lesson_id", "cycle", "completed_at")
ATTEMPT_COLUMNS = (
    "id",
    "enrollment_id",
    "partner_id",
    "quiz_id",
    "cycle",
    "number",
    "question_order",
    "choice_order",
    "started_at",
    "deadline_at",
    "submitted_at",
    "answers",
    "score_percent",
    "passed",
    "reset_at",
    "reset_by_id",
)
AWARD_COLUMNS = (
    "id",
    "user_id",
    "partner_id",
    "certification_id",
    "cycle",
    "awarded_at",
    "expires_at",
    "status",
    "verification_code",
    "reminders_sent",
)
TABLES = (
    "training_course",
    "training_lesson",
    "training_quiz",
    "training_question",
    "training_choice",
    "training_certification",
    "training_certification_courses",
    "training_learningpath",
    "training_learningpathcourse",
    "training_enrollment",
    "training_lessoncompletion",
    "training_quizattempt",
    "training_certificationaward",
)

ALL_ROLES = ["admin", "sales", "marketing", "learner"]
# (track, roles the courses are meant for, titles); certifications group a track's courses.
TRACKS = [
    (
        "Technical",
        ["learner", "admin", "sales"],
        [
            "Platform fundamentals",
            "Edge Firewall deployment",
            "Secure Access configuration",
            "Threat Analytics operations",
            "Zero trust design",
            "Storage architecture",
            "Cloud connectors",
            "Troubleshooting the platform",
            "High availability clusters",
            "Migrating from legacy firewalls",
            "Identity integrations",
            "Automation with the API",
            "Monitoring and alerting",
            "Data protection policies",
            "Network segmentation",
            "Performance tuning",
        ],
    ),
    (
        "Sales",
        ["sales", "admin"],
        [
            "Selling the platform",
            "Discovery calls that convert",
            "Pricing and licensing",
            "Competitive positioning",
            "Deal registration done right",
            "Renewals and upsell",
            "Selling to the public sector",
            "Building a business case",
            "Negotiating multi-year deals",
            "Selling managed services",
        ],
    ),
    (
        "Marketing",
        ["marketing", "admin"],
        [
            "Co-marketing with MDF",
            "Running webinars that fill",
            "Digital campaigns step by step",
            "Brand guidelines",
            "Content library and co-branding",
            "Measuring campaign ROI",
            "Events on a budget",
            "Social selling",
        ],
    ),
    (
        "Program",
        ALL_ROLES,
        [
            "Partner program essentials",
            "Portal tour",
            "Compliance and export rules",
            "Working with your channel account manager",
            "Support and escalations",
            "Tier benefits explained",
        ],
    ),
]
# Courses per learner role, relatively: learner-role members take the most.
ROLE_APPETITE = {"learner": 4.0, "sales": 1.6, "admin": 1.0, "marketing": 1.3}
NEVER_TRAIN = 0.15
IN_PROGRESS = 0.15  # enrollments whose lessons are not finished (no attempt yet)
PASS_CHANCE = (0.6, 0.55, 0.5)  # per attempt number within a round of max_attempts
RESET_CHANCE = 0.15  # a learner who used every attempt gets them back from a training manager
VARIANTS = 12  # question/choice orders and answer sets prepared per quiz
ROMAN = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]


def check_tables() -> None:
    from training.models import (
        Certification,
        CertificationAward,
        Choice,
        Course,
        Enrollment,
        LearningPath,
        LearningPathCourse,
        Lesson,
        LessonCompletion,
        Question,
        Quiz,
        QuizAttempt,
    )

    for model, columns in (
        (Course, COURSE_COLUMNS),
        (Lesson, LESSON_COLUMNS),
        (Quiz, QUIZ_COLUMNS),
        (Question, QUESTION_COLUMNS),
        (Choice, CHOICE_COLUMNS),
        (Certification, CERTIFICATION_COLUMNS),
        (Certification.courses.through, CERTIFICATION_COURSE_COLUMNS),
        (LearningPath, PATH_COLUMNS),
        (LearningPathCourse, PATH_COURSE_COLUMNS),
        (Enrollment, ENROLLMENT_COLUMNS),
        (LessonCompletion, COMPLETION_COLUMNS),
        (QuizAttempt, ATTEMPT_COLUMNS),
        (CertificationAward, AWARD_COLUMNS),
    ):
        check_columns(model, columns)


def pg_array(values: list[str]) -> str:
    """A text[] in COPY's text format."""
    return "{" + ",".join(values) + "}"


@dataclass
class QuizInfo:
    id: int
    pass_mark: int
    time_limit: int | None
    question_count: int
    orders: list[tuple[str, str]]  # (question_order, choice_order) JSON
    answers: list[list[str]]  # by number of right answers: answer JSON variants
    scores: list[str]  # by number of right answers: score_percent


@dataclass
class CourseInfo:
    id: int
    roles: list[str]
    published: bool
    lessons: list[int]
    quiz: QuizInfo
    popularity: float


@dataclass
class LoadedTraining:
    courses: int
    enrollments: int
    completions: int
    attempts: int
    awards: int


class TrainingLoader:
    def __init__(
        self,
        *,
        rng: random.Random,
        timeline: Timeline,
        partners: LoadedPartners,
        people: People,
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.now = timeline.now_ts
        self.partners = partners
        self.people = people

    # --- catalogue -----------------------------------------------------------------------------
    def load_catalogue(self, *, courses: int) -> list[CourseInfo]:
        from django.conf import settings

        rng = self.rng
        pass_mark = int(settings.PRM["QUIZ_PASS_MARK_PERCENT"])
        max_attempts = int(settings.PRM["QUIZ_MAX_ATTEMPTS"])
        # The tracks' titles interleaved by their place in the track, so a small catalogue still
        # has each track's first courses; past the list, a second edition of each ("... 2").
        ordered = sorted(
            (index / len(titles), order, track, roles, title)
            for order, (track, roles, titles) in enumerate(TRACKS)
            for index, title in enumerate(titles)
        )
        plan: list[tuple[str, list[str], str]] = []
        while len(plan) < courses:
            edition = len(plan) // len(ordered) + 1
            _place, _order, track, roles, title = ordered[len(plan) % len(ordered)]
            plan.append((track, roles, title if edition == 1 else f"{title} {edition}"))
        course_rows, lesson_rows, quiz_rows, question_rows, choice_rows = [], [], [], [], []
        infos: list[CourseInfo] = []
        lesson_id = question_id = choice_id = 0
        for course_id, (track, roles, title) in enumerate(plan, start=1):
            # The last few of a big catalogue are still being written.
            published = course_id <= courses - max(1, courses // 12) or courses < 4
            created = self.timeline.ts(rng.uniform(400, 900) * DAY)
            lessons = []
            for position in range(1, rng.randint(3, 6) + 1):
                lesson_id += 1
                lessons.append(lesson_id)
                lesson_rows.append(
                    (
                        lesson_id,
                        course_id,
                        position,
                        f"{title}: part {position}",
                        f"<h2>{title}, part {position}</h2><p>What a partner needs to know, with "
                        "examples from real customer projects.</p><ul><li>Key ideas</li>"
                        "<li>Common mistakes</li><li>Checklist</li></ul>",
                        f"https://videos.vendor.example/{course_id}/{position}" if rng.random() < 0.4 else "",
                        "",
                    )
                )
            quiz_pass = pass_mark if rng.random() < 0.8 else 70
            time_limit = rng.choice((None, None, 20, 30))
            questions = []
            for position in range(1, rng.randint(5, 10) + 1):
                question_id += 1
                kind = "multiple" if rng.random() < 0.2 else "single"
                question_rows.append(
                    (question_id, course_id, position, f"{title}: question {position}?", kind)
                )
                right_count = 2 if kind == "multiple" else 1
                ids = []
                for index in range(4):
                    choice_id += 1
                    ids.append(choice_id)
                    choice_rows.append(
                        (choice_id, question_id, f"Answer {'ABCD'[index]}", index < right_count)
                    )
                questions.append((question_id, ids, set(ids[:right_count])))
            quiz_rows.append((course_id, course_id, quiz_pass, max_attempts, time_limit))
            course_rows.append(
                (
                    course_id,
                    title,
                    f"{title.lower().replace(' ', '-').replace(':', '')}-{course_id}"[:80],
                    f"{track} track: {title.lower()}.",
                    "published" if published else "draft",
                    pg_array(roles),
                    len(lessons) * rng.choice((8, 10, 12, 15)),
                    created + timedelta(days=rng.randint(1, 20)) if published else None,
                    created,
                )
            )
            infos.append(
                CourseInfo(
                    id=course_id,
                    roles=roles,
                    published=published,
                    lessons=lessons,
                    quiz=self._quiz(course_id, quiz_pass, time_limit, questions),
                    # The first courses of each track (fundamentals) are the most taken.
                    popularity=1.0 / (1 + course_id // len(TRACKS)) ** 0.6,
                )
            )
        # Certifications: consecutive courses of a track, two to four each, never sharing a course
        # (expiring one reopens its courses; a shared course would tie two awards together).
        certification_rows, certification_course_rows = [], []
        by_track: dict[str, list[int]] = {}
        for (track, _roles, _title), info in zip(plan, infos, strict=True):
            if info.published:
                by_track.setdefault(track, []).append(info.id)
        self.certifications: list[tuple[int, list[int], int | None]] = []
        for track, roles, _titles in TRACKS:
            ids = by_track.get(track, [])
            level = 0
            while len(ids) >= 2:
                size = min(len(ids), rng.randint(2, 4))
                required, ids = ids[:size], ids[size:]
                level += 1
                certification_id = len(certification_rows) + 1
                validity = rng.choice((12, 24, 24, 36, None))
                certification_rows.append(
                    (
                        certification_id,
                        f"Certified {track} Professional {ROMAN[level] if level < len(ROMAN) else level}",
                        f"{track} certification level {level}.",
                        validity,
                        pg_array(roles),
                        "published",
                    )
                )
                for course_id in required:
                    certification_course_rows.append(
                        (len(certification_course_rows) + 1, certification_id, course_id)
                    )
                self.certifications.append((certification_id, required, validity))
        path_rows, path_course_rows = [], []
        for role in ALL_ROLES:
            path_id = len(path_rows) + 1
            path_rows.append((path_id, f"{role.capitalize()} essentials", role))
            mine = [info.id for info in infos if info.published and role in info.roles][:6]
            for position, course_id in enumerate(mine, start=1):
                path_course_rows.append((len(path_course_rows) + 1, path_id, course_id, position))
        for table, columns, rows in (
            ("training_course", COURSE_COLUMNS, course_rows),
            ("training_lesson", LESSON_COLUMNS, lesson_rows),
            ("training_quiz", QUIZ_COLUMNS, quiz_rows),
            ("training_question", QUESTION_COLUMNS, question_rows),
            ("training_choice", CHOICE_COLUMNS, choice_rows),
            ("training_certification", CERTIFICATION_COLUMNS, certification_rows),
            ("training_certification_courses", CERTIFICATION_COURSE_COLUMNS, certification_course_rows),
            ("training_learningpath", PATH_COLUMNS, path_rows),
            ("training_learningpathcourse", PATH_COURSE_COLUMNS, path_course_rows),
        ):
            load_rows(table, columns, rows)
        self.courses = infos
        return infos

    def _quiz(self, quiz_id: int, pass_mark: int, time_limit: int | None, questions: list) -> QuizInfo:
        """Prepared question and choice orders, and answer sets for every possible number of right
        answers, so an attempt row costs no JSON encoding."""
        rng = self.rng
        n = len(questions)
        orders = []
        for _ in range(VARIANTS):
            order = list(questions)
            rng.shuffle(order)
            choice_order = {}
            for question_id, ids, _right in order:
                shuffled = list(ids)
                rng.shuffle(shuffled)
                choice_order[str(question_id)] = shuffled
            orders.append((json.dumps([q[0] for q in order]), json.dumps(choice_order)))
        answers = []
        for right in range(n + 1):
            variants = []
            for _ in range(3):
                correct = set(rng.sample(range(n), right))
                answer = {}
                for index, (question_id, ids, right_ids) in enumerate(questions):
                    if index in correct:
                        answer[str(question_id)] = sorted(right_ids)
                    else:
                        wrong = [choice for choice in ids if choice not in right_ids]
                        answer[str(question_id)] = [rng.choice(wrong)]
                variants.append(json.dumps(answer))
            answers.append(variants)
        scores = [
            str((Decimal(right * 100) / Decimal(n)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
            for right in range(n + 1)
        ]
        return QuizInfo(quiz_id, pass_mark, time_limit, n, orders, answers, scores)

    # --- progress ------------------------------------------------------------------------------
    def load_progress(self, *, attempts: int, batch_users: int = 4000) -> LoadedTraining:
        rng, people = self.rng, self.people
        published = [course for course in self.courses if course.published]
        eligible = {role: [course for course in published if role in course.roles] for role in ALL_ROLES}
        learners = []
        for pid in range(1, self.partners.count + 1):
            for user_id in people.active_members(pid):
                if rng.random() >= NEVER_TRAIN:
                    learners.append((user_id, pid))
        rng.shuffle(learners)
        # Enrollments wanted: each with an attempt has ~1.5 of them; some have none yet. A tenth
        # more than the estimate, so the attempts reach the target before the learners run out.
        wanted = attempts / ((1 - IN_PROGRESS) * 1.6) * 1.1
        appetite = [ROLE_APPETITE[people.role_of(user_id)] * rng.uniform(0.5, 1.5) for user_id, _ in learners]
        total_appetite = sum(appetite) or 1.0
        counts = []
        spare = 0.0
        for (user_id, _pid), want in zip(learners, appetite, strict=True):
            room = len(eligible[people.role_of(user_id)])
            exact = wanted * want / total_appetite + spare
            count = min(room, int(exact))
            spare = exact - count  # carried on, so capped learners' share goes to the next
            counts.append(count)

        counters = {"enrollment": 0, "completion": 0, "attempt": 0, "award": 0}
        total_attempts = 0
        batch: dict[str, list] = {name: [] for name in ("enrollment", "completion", "attempt", "award")}
        certifications = self.certifications
        for index, ((user_id, pid), count) in enumerate(zip(learners, counts, strict=True)):
            if total_attempts >= attempts:
                break
            courses = eligible[people.role_of(user_id)]
            if count <= 0 or not courses:
                continue
            chosen = self._pick(courses, count)
            joined_age = max(60 * DAY, self.now - people.joined_at(user_id))
            enrollments = []
            completed: dict[int, float] = {}
            for course in chosen:
                plan = self._enrollment(course, joined_age, attempts - total_attempts)
                total_attempts += len(plan["attempts"])
                enrollments.append((course, plan))
                if plan["completed"] is not None:
                    completed[course.id] = plan["completed"]
                if total_attempts >= attempts:
                    break
            reopened = self._awards(user_id, pid, completed, certifications, batch["award"], counters)
            self._rows(user_id, pid, enrollments, reopened, batch, counters)
            if index % batch_users == batch_users - 1:
                self._flush(batch)
        self._flush(batch)
        if total_attempts < attempts:
            log(f"training: only {total_attempts:,} of {attempts:,} attempts (too few learners or courses)")
        return LoadedTraining(
            courses=len(self.courses),
            enrollments=counters["enrollment"],
            completions=counters["completion"],
            attempts=counters["attempt"],
            awards=counters["award"],
        )

    def _pick(self, courses: list[CourseInfo], count: int) -> list[CourseInfo]:
        """``count`` distinct courses, the popular ones more often."""
        rng = self.rng
        if count >= len(courses):
            return list(courses)
        keyed = sorted(courses, key=lambda course: rng.random() ** (1.0 / course.popularity), reverse=True)
        return keyed[:count]

    def _enrollment(self, course: CourseInfo, joined_age: float, attempts_left: int) -> dict[str, Any]:
        """One learner's way through one course, as offsets from its start, placed in time."""
        rng = self.rng
        quiz = course.quiz
        lessons = course.lessons
        finished = rng.random() >= IN_PROGRESS
        done = len(lessons) if finished else rng.randint(0, len(lessons) - 1)
        offset = 0.0
        lesson_times = []
        for _ in range(done):
            offset += rng.uniform(0.01, 1.5) * DAY
            lesson_times.append(offset)
        attempt_plans = []  # (number, offset, minutes, passed, right answers, reset)
        passed_at = None
        if finished:
            number = 0
            rounds = 0
            while number < 6 and len(attempt_plans) < attempts_left:
                chance = PASS_CHANCE[number % 3]
                number += 1
                offset += rng.uniform(0.05, 3) * DAY
                minutes = rng.uniform(4, (quiz.time_limit or 30) - 0.5)
                passed = rng.random() < chance
                threshold = -(-quiz.pass_mark * quiz.question_count // 100)  # right answers to pass
                if passed:
                    right = rng.randint(threshold, quiz.question_count)
                else:
                    right = rng.randint(max(0, threshold - 3), threshold - 1)
                attempt_plans.append([number, offset, minutes, passed, right, False])
                if passed:
                    passed_at = offset + minutes * 60
                    break
                if number % 3 == 0:
                    rounds += 1
                    if rounds >= 2 or rng.random() >= RESET_CHANCE:
                        break
                    # A training manager gave the attempts back: the round's three are reset.
                    offset += rng.uniform(1, 10) * DAY
                    for plan in attempt_plans[-3:]:
                        plan[5] = offset
        span = offset + DAY
        # Started at most two years ago, and after the learner joined; recent starts are likelier.
        oldest = min(730 * DAY, joined_age)
        age = span + (oldest - span) * rng.random() ** 1.5 if oldest > span else span
        start = self.now - age
        return {
            "start": start,
            "lessons": [start + t for t in lesson_times],
            "attempts": [
                (number, start + at, minutes, passed, right, (start + reset) if reset else None)
                for number, at, minutes, passed, right, reset in attempt_plans
            ],
            "completed": None if passed_at is None else start + passed_at,
        }

    def _awards(
        self,
        user_id: int,
        pid: int,
        completed: dict[int, float],
        certifications: list[tuple[int, list[int], int | None]],
        rows: list,
        counters: dict[str, int],
    ) -> set[int]:
        """Award what the completed courses earn; the courses of expired awards (reopened in cycle
        2, as award_expire leaves them)."""
        from dateutil.relativedelta import relativedelta

        reopened: set[int] = set()
        for certification_id, required, validity in certifications:
            if not all(course_id in completed for course_id in required):
                continue
            awarded = max(completed[course_id] for course_id in required) + 1
            awarded_at = datetime.fromtimestamp(awarded, UTC)
            expires_at = awarded_at + relativedelta(months=validity) if validity else None
            status = "active"
            reminders: list[int] = []
            if expires_at is not None:
                days_left = (expires_at.timestamp() - self.now) / DAY
                if days_left <= 0:
                    status = "expired"
                    reopened.update(required)
                reminders = [days for days in (60, 30, 7) if days_left <= days]
            counters["award"] += 1
            award_id = counters["award"]
            rows.append(
                (
                    award_id,
                    user_id,
                    pid,
                    certification_id,
                    1,
                    awarded_at,
                    expires_at,
                    status,
                    # Unique without a lookup: multiplying by an odd number is a bijection mod 2**48.
                    f"{award_id * 0x9E3779B97F4A7C15 % (1 << 48):012X}",
                    json.dumps(reminders),
                )
            )
        return reopened

    def _rows(
        self,
        user_id: int,
        pid: int,
        enrollments: list[tuple[CourseInfo, dict[str, Any]]],
        reopened: set[int],
        batch: dict[str, list],
        counters: dict[str, int],
    ) -> None:
        rng = self.rng
        content_manager = self.people.content_manager
        reset_by = (content_manager, channel_account_manager_id(pid))
        for course, plan in enrollments:
            counters["enrollment"] += 1
            enrollment_id = counters["enrollment"]
            quiz = course.quiz
            again = course.id in reopened
            last_lesson = course.lessons[len(plan["lessons"]) - 1] if plan["lessons"] else None
            batch["enrollment"].append(
                (
                    enrollment_id,
                    user_id,
                    pid,
                    course.id,
                    2 if again else 1,
                    stamp(plan["start"]),
                    None if again or plan["completed"] is None else stamp(plan["completed"]),
                    None if again else last_lesson,
                )
            )
            for lesson_id, at in zip(course.lessons, plan["lessons"], strict=False):
                counters["completion"] += 1
                batch["completion"].append(
                    (counters["completion"], enrollment_id, pid, lesson_id, 1, stamp(at))
                )
            for number, started, minutes, passed, right, reset in plan["attempts"]:
                counters["attempt"] += 1
                question_order, choice_order = quiz.orders[rng.randrange(VARIANTS)]
                batch["attempt"].append(
                    (
                        counters["attempt"],
                        enrollment_id,
                        pid,
                        quiz.id,
                        1,
                        number,
                        question_order,
                        choice_order,
                        stamp(started),
                        stamp(started + quiz.time_limit * 60) if quiz.time_limit else None,
                        stamp(started + minutes * 60),
                        rng.choice(quiz.answers[right]),
                        quiz.scores[right],
                        passed,
                        stamp(reset),
                        rng.choice(reset_by) if reset else None,
                    )
                )

    def _flush(self, batch: dict[str, list]) -> None:
        from django.db import connection

        from prm.tenancy import system_scope

        with system_scope():
            cursor = connection.connection.cursor()
            for name, table, columns in (
                ("enrollment", "training_enrollment", ENROLLMENT_COLUMNS),
                ("completion", "training_lessoncompletion", COMPLETION_COLUMNS),
                ("attempt", "training_quizattempt", ATTEMPT_COLUMNS),
                ("award", "training_certificationaward", AWARD_COLUMNS),
            ):
                if batch[name]:
                    copy_into(cursor, table, columns, batch[name])
                batch[name].clear()


def stamp(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)
