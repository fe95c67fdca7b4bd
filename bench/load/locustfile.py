"""People using the portal, for locust: partner sales and admins registering and browsing deals,
marketing users requesting funds, everyone taking the course, and vendor staff reviewing deals and
approving fund requests in the admin. Run by ``bench/load/run.py``; reads the run's
``accounts.json`` (``bench/load/seed.py``) from ``PRM_LOAD_DIR`` and the web ports from
``PRM_LOAD_PORTS``.

How a simulated user talks to the portal, and why:

* **as a browser behind the TLS proxy**: the URLs are ``https://127.0.0.1:<port>/...``, so the
  cookie jar keeps and sends the production settings' ``Secure`` cookies (session, CSRF) exactly as a
  browser does; the adapter below speaks plain HTTP on the wire and adds ``X-Forwarded-Proto:
  https``, as the proxy would (production trusts that header: ``SECURE_PROXY_SSL_HEADER``), plus a
  per-user ``X-Forwarded-For`` (``PRM_TRUSTED_PROXY_COUNT=1``), so allauth's per-address login
  limit sees 200 people rather than one address. Every POST carries the ``Referer`` of its page:
  Django's CSRF check requires one over https.
* **real sign-in**: allauth's login form with its CSRF token; vendor staff then enter the current
  TOTP code of their authenticator (the secret comes from the seed), as MFA requires.
* **one user, one web process**: user *n* talks to port ``PORTS[n % 2]``.
* **failures**: any answer outside 2xx/3xx, a redirect to the sign-in or MFA page once signed in,
  or an error page. Redirects are followed by hand, so each request is timed (and named) on its own.
  Refusals the portal explains on the page (a conflict to resolve, a deal someone else decided
  first) are not failures: they are counted as outcomes.
* each user pauses ``between(5, 15)`` seconds between steps, and again while "filling in" a form.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.clients import LocustHttpAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.load.web import DUPLICATE_REGISTRATION, Form, form_posting_to, form_with_field, links, totp
from bench.names import CompanyPool

RUN_DIR = Path(os.environ.get("PRM_LOAD_DIR", "var/load"))
PORTS = [int(port) for port in os.environ.get("PRM_LOAD_PORTS", "18601,18602").split(",")]
ACCOUNTS: dict[str, Any] = json.loads((RUN_DIR / "accounts.json").read_text())
PASSWORD = ACCOUNTS["password"]
TRAINING = ACCOUNTS["training"]
ANSWERS = {int(question): choices for question, choices in TRAINING["answers"].items()}

# Customers the partners register, shared by all: popular ones are registered by several
# partners, so the conflict check finds real conflicts (Zipf-like, as bench.names draws them).
_rng = random.Random(2026)
CUSTOMERS = CompanyPool(_rng, 3000, lambda name: re.sub(r"[^a-z0-9 ]", "", name.lower()).strip())

_user_numbers = itertools.count()
_pools: dict[str, itertools.cycle] = {}

# What the portal answered that is not an HTTP failure: refusals it explains, decisions raced.
OUTCOMES: Counter[str] = Counter()
TIMINGS: dict[str, list[float]] = defaultdict(list)
FAILURES: Counter[str] = Counter()
TIMELINE: list[tuple[float, float]] = []  # (when it started, milliseconds) of every request

ERROR_PAGE_MARKERS = ("Server Error (500)", "CSRF verification failed", "<title>Page not found")


def _pool(role: str) -> itertools.cycle:
    if role not in _pools:
        if role in ("program_admin", "cam"):
            accounts = [a for a in ACCOUNTS["vendor"] if a["role"] == role]
        else:
            accounts = [a for a in ACCOUNTS["partner"] if a["role"] == role]
        _pools[role] = itertools.cycle(accounts)
    return _pools[role]


def route_name(path: str) -> str:
    """Statistics per page, not per object: /deals/123/ and /deals/456/ are one entry."""
    path = path.split("?", 1)[0]
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


@events.request.add_listener
def _record(
    request_type: str, name: str, response_time: float, exception: Any = None, start_time: float = 0, **_: Any
) -> None:
    TIMINGS[f"{request_type} {name}"].append(response_time)
    TIMELINE.append((round(start_time, 2), round(response_time, 1)))
    if exception is not None:
        FAILURES[f"{request_type} {name}: {str(exception)[:160]}"] += 1


@events.quitting.add_listener
def _write_results(environment: Any, **_: Any) -> None:
    (RUN_DIR / "locust-results.json").write_text(
        json.dumps(
            {"timings": TIMINGS, "failures": FAILURES, "outcomes": OUTCOMES, "timeline": TIMELINE}, indent=0
        )
    )


class TlsTerminatedAdapter(LocustHttpAdapter):
    """Sends an https:// request as plain HTTP to the same host and port, as the TLS proxy in front
    of the portal does; the session (cookie jar, redirects) still sees the https:// URL."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        wire = request.copy()
        wire.url = "http://" + request.url.removeprefix("https://")
        response = super().send(wire, **kwargs)
        response.request = request
        response.url = request.url
        return response


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(5, 15)
    host = f"https://127.0.0.1:{PORTS[0]}"
    role = ""

    # --- plumbing ----------------------------------------------------------------------------
    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.account = next(_pool(self.role))
        self.rng = random.Random(self.number)
        self.client.base_url = f"https://127.0.0.1:{PORTS[self.number % len(PORTS)]}"
        self.client.mount("https://", TlsTerminatedAdapter(pool_manager=None))
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                # One address per person, as the proxy would report it.
                "X-Forwarded-For": f"10.{self.number // 250 % 250}.{self.number % 250}.7",
                "User-Agent": f"prm-load/{self.role}-{self.number}",
                "Accept-Language": "en",
            }
        )
        self.signed_in = False
        self.sign_in()

    def _url(self, path: str) -> str:
        return path if path.startswith("https://") else self.client.base_url + path

    def _check(
        self, response: Any, *, expect_signed_in: bool, refusal: re.Pattern[str] | None = None
    ) -> None:
        location = response.headers.get("Location", "")
        if not response.status_code:  # no answer at all (connection refused, reset, timed out)
            response.failure(f"no response: {response.error}")
        elif response.status_code == 400 and refusal and refusal.search(response.text):
            # The form again with the portal's own explanation, nothing saved: what a person who
            # tried something the portal refuses gets (counted by the caller as an outcome).
            response.success()
        elif response.status_code >= 400:
            response.failure(f"HTTP {response.status_code}")
        elif expect_signed_in and re.match(r"(https://[^/]+)?/accounts/(login|2fa)/", location):
            response.failure(f"signed out: redirected to {location}")
            self.signed_in = False
        elif response.status_code == 200 and any(m in response.text for m in ERROR_PAGE_MARKERS):
            response.failure("error page")
        else:
            response.success()

    def request(
        self,
        method: str,
        path: str,
        *,
        data: Any = None,
        referer: str | None = None,
        follow: int = 3,
        expect_signed_in: bool = True,
        refusal: re.Pattern[str] | None = None,
    ) -> Any:
        """One request, then its redirects by hand (each timed under its own name). Returns the last
        response, with ``.final_path`` set."""
        if expect_signed_in and not self.signed_in:
            # Signed out (the failure is counted where it showed): a person signs in again.
            self.sign_in()
        headers = {"Referer": self._url(referer)} if referer else {}
        current = path
        with self.client.request(
            method,
            current,
            name=route_name(current),
            data=data,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            self._check(response, expect_signed_in=expect_signed_in, refusal=refusal)
        while follow and response.status_code in (301, 302, 303) and response.headers.get("Location"):
            current = response.headers["Location"].removeprefix(self.client.base_url)
            with self.client.request(
                "GET", current, name=route_name(current), allow_redirects=False, catch_response=True
            ) as response:
                self._check(response, expect_signed_in=expect_signed_in)
            follow -= 1
        response.final_path = current
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def submit(
        self,
        form: Form,
        page: str,
        overrides: dict[str, Any] | None = None,
        *,
        button: str | None = None,
        **kwargs: Any,
    ) -> Any:
        action = form.action or page
        return self.request("POST", action, data=form.data(overrides, button=button), referer=page, **kwargs)

    def think(self) -> None:
        """A person reading a page or filling in a form before the next click."""
        time.sleep(self.rng.uniform(5, 15))

    @staticmethod
    def alert(html: str, kind: str) -> bool:
        return f"alert-{kind}" in html

    # --- signing in --------------------------------------------------------------------------
    def sign_in(self) -> None:
        self.client.cookies.clear()  # from the start, as after closing the browser
        page = "/accounts/login/"
        response = self.get(page, expect_signed_in=False)
        form = form_with_field(response.text, "login")
        if form is None:
            OUTCOMES["no login form"] += 1
            return
        response = self.submit(
            form,
            page,
            {"login": self.account["email"], "password": PASSWORD},
            follow=0,
            expect_signed_in=False,
        )
        if response.status_code != 302:
            OUTCOMES["sign-in refused"] += 1
            return
        location = response.headers["Location"]
        if "/accounts/2fa/authenticate" in location:
            page = location.removeprefix(self.client.base_url)
            form = form_with_field(self.get(page, expect_signed_in=False).text, "code")
            if form is None:
                OUTCOMES["no MFA form"] += 1
                return
            for _attempt in range(3):
                response = self.submit(
                    form, page, {"code": totp(self.account["totp"])}, follow=0, expect_signed_in=False
                )
                if response.status_code == 302:
                    break
                # A code is good for its 30-second step and the neighbouring ones: one that waited
                # longer than that for a busy server is refused. A person types the next one.
                OUTCOMES["MFA code refused, typed the next one"] += 1
                form = form_with_field(response.text, "code") or form
                time.sleep(30 - time.time() % 30 + 1)
            else:
                OUTCOMES["MFA code refused three times"] += 1
                return
            location = response.headers["Location"]
        self.signed_in = True
        # Production's cookies are Secure: the jar keeps and sends them because the URLs are https.
        secure = any(cookie.name == "sessionid" and cookie.secure for cookie in self.client.cookies)
        OUTCOMES[
            "signed in, Secure session cookie" if secure else "signed in, session cookie NOT Secure"
        ] += 1
        self.get(location.removeprefix(self.client.base_url))

    # --- shared steps ------------------------------------------------------------------------
    def home(self) -> None:
        self.get("/")

    def notifications(self) -> None:
        self.get("/notifications/")


class PartnerUser(PortalUser):
    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.lessons_done = 0
        self.quiz_attempts = 0
        self.certified = False

    @task(2)
    def home_page(self) -> None:
        self.home()

    @task(1)
    def notification_list(self) -> None:
        self.notifications()

    @task(2)
    def training(self) -> None:
        """One step through the course: the next lesson, or the quiz, or (once certified) the
        catalogue and the certificate list."""
        course = f"/training/courses/{TRAINING['course']}/"
        if self.certified:
            self.get(self.rng.choice(["/training/", "/training/certifications/"]))
            return
        if self.lessons_done < len(TRAINING["lessons"]):
            page = f"/training/lessons/{TRAINING['lessons'][self.lessons_done]}/"
            html = self.get(page).text
            form = form_posting_to(html, r"/complete/$")
            if form is None:
                OUTCOMES["lesson without a complete button"] += 1
                return
            self.think()
            self.submit(form, page)
            self.lessons_done += 1
            return
        if self.quiz_attempts >= 3:
            self.get(course)
            return
        html = self.get(course).text
        start = form_posting_to(html, r"/quiz/start/$")
        if start is None:  # passed already (a seeded certificate), or no attempts left
            OUTCOMES["quiz not offered"] += 1
            self.quiz_attempts = 3
            return
        response = self.submit(start, course)
        page = response.final_path
        quiz = form_posting_to(response.text, r"/attempts/\d+/submit/$")
        if quiz is None:
            OUTCOMES["no quiz form (attempts used up?)"] += 1
            self.quiz_attempts = 3
            return
        answers: dict[str, Any] = {}
        wrong = self.rng.random() < 0.3  # three in ten attempts get one question wrong
        for name, values in quiz.options.items():
            if not name.startswith("q-"):
                continue
            question = int(name.removeprefix("q-"))
            right = [str(choice) for choice in ANSWERS.get(question, [])]
            if wrong:
                answers[name] = [value for value in values if value not in right][:1] or right
                wrong = False
            else:
                answers[name] = right
        self.think()
        response = self.submit(quiz, page, answers)
        self.quiz_attempts += 1
        if "/certifications/" in response.final_path or "/courses/" in response.final_path:
            self.certified = True
            OUTCOMES["quiz passed"] += 1
        else:
            OUTCOMES["quiz failed"] += 1


class DealUser(PartnerUser):
    """Partner sales and admins: the deal list, a deal, registering one, the pipeline, leads."""

    abstract = True

    @task(4)
    def browse_deals(self) -> None:
        path = self.rng.choice(["/deals/", "/deals/", "/deals/?status=submitted", "/deals/?status=approved"])
        html = self.get(path).text
        deals = links(html, r"^/deals/\d+/$")
        if deals:
            self.think()
            self.get(self.rng.choice(deals))

    @task(3)
    def register_deal(self) -> None:
        page = "/deals/new/"
        html = self.get(page).text
        form = form_posting_to(html, r"/deals/new/$")
        if form is None:
            OUTCOMES["no deal form"] += 1
            return
        index = CUSTOMERS.pick(self.rng)
        name, domain = CUSTOMERS.names[index], CUSTOMERS.domains[index]
        products = [value for value in form.options.get("lines-0-product", []) if value]
        data: dict[str, Any] = {
            "customer_name": name,
            "customer_domain": domain,
            "contact_name": "Alex Morgan",
            "contact_email": f"alex.morgan@{domain}",
            "title": f"{self.rng.choice(['Refresh', 'Expansion', 'New site', 'Renewal'])} for {name}"[:200],
            "stage": self.rng.choice(["qualification", "proposal", "negotiation"]),
            "expected_close_date": (date.today() + timedelta(days=self.rng.randint(30, 150))).isoformat(),
            "notes": "Registered during the load run.",
        }
        for line in range(self.rng.randint(1, 3)):
            data[f"lines-{line}-product"] = self.rng.choice(products)
            data[f"lines-{line}-quantity"] = self.rng.randint(1, 20)
            data[f"lines-{line}-unit_price"] = f"{self.rng.randint(100, 9000)}.00"
        data["action"] = "submit"  # the "Save and submit for review" button
        self.think()
        # Popular customers are picked again and again: now and then a partner's admin and sales
        # user register the same one, and the portal refuses the second registration (400, the
        # form with "…already … a registration for this customer", nothing saved). That is the
        # portal doing its job, so it is an outcome, not a failed request.
        response = self.submit(form, page, data, refusal=DUPLICATE_REGISTRATION)
        if response.status_code == 400:
            OUTCOMES["registration refused: the partner already registered this customer"] += 1
        elif re.fullmatch(r"/deals/\d+/", response.final_path):
            OUTCOMES[
                "deal submitted" + (" (conflict under review)" if self.alert(response.text, "info") else "")
            ] += 1
        else:  # saved as a draft, with what stops the submission listed on the edit page
            OUTCOMES["deal saved, submission refused"] += 1

    @task(1)
    def pipeline(self) -> None:
        self.get("/deals/pipeline/")

    @task(1)
    def lead_list(self) -> None:
        page = "/leads/"
        html = self.get(page).text
        accept = form_posting_to(html, r"/leads/\d+/accept/$")
        if accept is not None and self.rng.random() < 0.5:
            self.think()
            response = self.submit(accept, page)
            OUTCOMES["lead accepted" if "/deals/" in response.final_path else "lead accept refused"] += 1


# Weights 15/15/15/4/1: 200 users are 60 sales, 60 partner admins, 60 marketing users, 16 channel
# account managers and 4 program admins, one per seeded account (seed.py's defaults).
class PartnerSales(DealUser):
    weight = 15
    role = "sales"


class PartnerAdmin(DealUser):
    weight = 15
    role = "admin"

    @task(1)
    def company_pages(self) -> None:
        self.get(self.rng.choice(["/team/", "/company/", "/integrations/webhooks/"]))


class PartnerMarketing(PartnerUser):
    """Marketing users: the funds page, their requests, and new fund requests (MDF)."""

    weight = 15
    role = "marketing"

    @task(3)
    def funds(self) -> None:
        html = self.get(self.rng.choice(["/funds/", "/funds/requests/"])).text
        requests = links(html, r"^/funds/requests/\d+/$")
        if requests:
            self.think()
            self.get(self.rng.choice(requests))

    @task(3)
    def request_funds(self) -> None:
        page = "/funds/requests/new/"
        html = self.get(page).text
        form = form_posting_to(html, r"/funds/requests/new/$")
        if form is None:
            OUTCOMES["no fund request form"] += 1
            return
        kinds = [value for value in form.options.get("activity_type", []) if value]
        starts = date.today() + timedelta(days=self.rng.randint(35, 60))
        asked = self.rng.randint(10, 80) * 100
        data = {
            "activity_type": self.rng.choice(kinds),
            "title": f"{self.rng.choice(['Webinar', 'Roadshow', 'Lunch & learn', 'Campaign'])} {self.number}",
            "description": "Audience: IT managers at mid-market customers. The money pays for the venue.",
            "start_date": starts.isoformat(),
            "end_date": (starts + timedelta(days=self.rng.randint(0, 3))).isoformat(),
            "total_cost": f"{asked * 2}.00",
            "requested_amount": f"{asked}.00",
            "currency": "USD",
            "expected_leads": self.rng.randint(5, 60),
            "action": "submit",
        }
        self.think()
        response = self.submit(form, page, data)
        OUTCOMES[
            "fund request submitted" if self.alert(response.text, "success") else "fund request not submitted"
        ] += 1


class VendorReviewer(PortalUser):
    """Vendor staff: channel account managers (their portfolio) and program admins (everyone's),
    so two reviewers sometimes decide the same deal at once."""

    abstract = True

    @task(5)
    def review_deal(self) -> None:
        queue = "/vendor/deals/review/"
        html = self.get(queue).text
        deals = links(html, r"^/vendor/deals/\d+/$")
        if not deals:
            return
        page = self.rng.choice(deals[:10])
        html = self.get(page).text
        approve = form_posting_to(html, r"/approve/$")
        reject = form_posting_to(html, r"/reject/$")
        if approve is None and reject is None:
            OUTCOMES["deal already decided"] += 1
            return
        self.think()
        has_conflict = form_posting_to(html, r"/conflicts/\d+/resolve/$") is not None
        if approve is not None and not has_conflict and self.rng.random() < 0.85:
            response = self.submit(approve, page)
            decided = "approved"
        elif reject is not None:
            reason = (
                "Another partner registered this customer first."
                if has_conflict
                else "Not a new opportunity."
            )
            response = self.submit(reject, page, {"reason": reason})
            decided = "rejected"
        else:
            return
        OUTCOMES[
            f"deal {decided}" if self.alert(response.text, "success") else f"deal {decided}: refused"
        ] += 1

    @task(3)
    def review_fund_request(self) -> None:
        queue = "/admin/mdf/fundrequest/?status__exact=submitted"
        html = self.get(queue).text
        requests = links(html, r"^/admin/mdf/fundrequest/\d+/change/")
        if not requests:
            return
        page = self.rng.choice(requests[:10])
        html = self.get(page).text
        decide = links(html, r"/decide/approve_selected/$")
        if not decide:
            OUTCOMES["fund request already decided"] += 1
            return
        page = decide[0]
        html = self.get(page).text
        form = form_with_field(html, "post")  # the action's page posts back with post=yes
        if form is None:
            OUTCOMES["no approval form"] += 1
            return
        self.think()
        response = self.submit(form, page, {"comment": "Approved during the load run."})
        # The admin's messages: <li class="success">… approved: …</li>, or a warning / an error.
        approved = 'class="success"' in response.text
        OUTCOMES["fund request approved" if approved else "fund request: not approved"] += 1

    @task(2)
    def dashboard(self) -> None:
        self.get(self.rng.choice(["/vendor/", "/vendor/deals/", "/notifications/"]))


class ChannelAccountManager(VendorReviewer):
    weight = 4
    role = "cam"


class ProgramAdmin(VendorReviewer):
    weight = 1
    role = "program_admin"
