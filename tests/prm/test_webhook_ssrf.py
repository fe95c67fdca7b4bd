"""A partner's webhook URL must not become a way into our network (server-side request forgery):
every address its host resolves to is public, the host is resolved once and the connection goes to
the address that was checked (DNS rebinding), and the delivery log tells nothing about refused
targets. Redirects: tests/deals/test_webhooks.py. Production forcing the switch off:
tests/test_docker_compose.py."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3.exceptions
import urllib3.util.connection

from prm import outbound, tasks, webhooks
from prm.errors import ApplicationError
from prm.models import WebhookDelivery, WebhookEndpoint
from tests.deals import factories as f
from tests.webhook_receiver import receiver

HOST = "hooks.partner.example"
REAL_GETADDRINFO = socket.getaddrinfo
PUBLIC_V4 = "93.184.216.34"

# (address, may a webhook reach it?) — each special-purpose range, and the IPv6 forms that carry an
# IPv4 address, judged by the address inside.
ADDRESSES = [
    ("93.184.216.34", True),
    ("8.8.8.8", True),
    ("1.1.1.1", True),
    ("2606:4700:4700::1111", True),
    ("2001:4860:4860::8888", True),
    ("2a00:1450:4001:82b::200e", True),
    # IPv4
    ("10.0.0.5", False),  # private
    ("172.16.0.1", False),
    ("172.31.255.254", False),
    ("192.168.1.1", False),
    ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
    ("100.100.100.200", False),  # a cloud metadata service in it
    ("100.127.255.254", False),
    ("127.0.0.1", False),  # loopback
    ("127.1.2.3", False),
    ("169.254.169.254", False),  # link-local, cloud metadata
    ("0.0.0.0", False),  # unspecified
    ("0.1.2.3", False),  # "this network"
    ("224.0.0.1", False),  # multicast (is_global says True in Python 3.11)
    ("239.255.255.250", False),
    ("240.0.0.1", False),  # reserved
    ("255.255.255.255", False),  # broadcast
    ("192.0.0.9", False),  # IETF protocol assignments
    ("192.0.2.1", False),  # documentation
    ("198.51.100.7", False),
    ("203.0.113.9", False),
    ("198.18.0.1", False),  # benchmarking
    ("192.88.99.1", False),  # 6to4 relay anycast
    # IPv6
    ("::1", False),  # loopback
    ("::", False),  # unspecified
    ("fe80::1", False),  # link-local
    ("fe80::1%1", False),  # ... with a zone
    ("fc00::1", False),  # unique local
    ("fd12:3456:789a::1", False),
    ("fec0::1", False),  # site-local (deprecated)
    ("ff02::1", False),  # multicast
    ("ff0e::1", False),
    ("100::1", False),  # discard
    ("2001:db8::1", False),  # documentation
    ("3fff::1", False),
    ("2001:2::1", False),  # benchmarking (IETF protocol assignments)
    ("5f00::1", False),  # segment routing
    ("::7f00:1", False),  # IPv4-compatible ::127.0.0.1 (deprecated)
    ("::ffff:0:7f00:1", False),  # IPv4-translated
    ("64:ff9b:1::a00:1", False),  # NAT64 local-use prefix
    # IPv4-mapped ::ffff:a.b.c.d
    ("::ffff:127.0.0.1", False),
    ("::ffff:10.0.0.1", False),
    ("::ffff:169.254.169.254", False),
    ("::ffff:100.100.100.200", False),
    ("::ffff:8.8.8.8", True),
    # NAT64 64:ff9b::a.b.c.d
    ("64:ff9b::7f00:1", False),
    ("64:ff9b::a9fe:a9fe", False),
    ("64:ff9b::6464:64c8", False),
    ("64:ff9b::c0a8:101", False),
    ("64:ff9b::808:808", True),
    # 6to4 2002:aabb:ccdd:: carries aa.bb.cc.dd (is_global says True for all of these)
    ("2002:7f00:1::1", False),
    ("2002:a00:1::1", False),
    ("2002:a9fe:a9fe::1", False),
    ("2002:6464:64c8::1", False),
    ("2002:808:808::1", True),
    # Teredo 2001:0:<server>:<flags>:<port>:<client, bits inverted>
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # client 192.0.2.45
    ("2001:0:a00:1::f7f7:f7f7", False),  # server 10.0.0.1
    ("2001:0:4136:e378::f7f7:f7f7", True),  # server 65.54.227.120, client 8.8.8.8
]


@pytest.mark.parametrize(("address", "public"), ADDRESSES)
def test_the_address_classifier(address: str, public: bool) -> None:
    assert outbound.is_public_address(ipaddress.ip_address(address)) is public


def test_the_embedded_ipv4_forms_are_read_where_the_packets_go() -> None:
    def inside(address: str) -> list[str]:
        return [str(v4) for v4 in outbound.embedded_ipv4(ipaddress.IPv6Address(address)) or ()]

    assert inside("::ffff:10.1.2.3") == ["10.1.2.3"]
    assert inside("64:ff9b::10.1.2.3") == ["10.1.2.3"]
    assert inside("2002:a01:203::1") == ["10.1.2.3"]
    assert inside("2001:0:4136:e378:8000:63bf:80ff:fffe") == ["65.54.227.120", "127.0.0.1"]
    assert inside("2606:4700:4700::1111") == []


# --- one lookup, pinned connection ---------------------------------------------------------------
class FakeDNS:
    """``socket.getaddrinfo`` for :data:`HOST`: each lookup takes the next answer (the last one
    repeats) and is counted; numeric hosts and every other name go to the real resolver."""

    def __init__(self) -> None:
        self.answers: list[list[str] | None] = []  # None: the name does not resolve
        self.lookups = 0

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != HOST:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        self.lookups += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        port = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
            if ":" in address
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in answer
        ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Where urllib3 opens sockets to; each is refused, so nothing leaves this machine."""
    opened: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return opened


@pytest.fixture
def production_rules(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "WEBHOOK_ALLOW_PRIVATE_URLS": False}


def test_one_forbidden_address_refuses_the_host(dns: FakeDNS) -> None:
    dns.answers = [[PUBLIC_V4, "2606:4700:4700::1111"]]
    found = outbound.resolve(host=HOST, port=443, allow_private=False)
    assert [str(address) for address in found] == [PUBLIC_V4, "2606:4700:4700::1111"]
    for bad in ("10.0.0.5", "::ffff:127.0.0.1", "2002:a9fe:a9fe::1"):
        dns.answers = [[PUBLIC_V4, bad]]
        with pytest.raises(outbound.RefusedDestination):
            outbound.resolve(host=HOST, port=443, allow_private=False)


@pytest.mark.django_db
@pytest.mark.parametrize("answer", [["100.100.100.200"], [PUBLIC_V4, "2002:7f00:1::1"], None])
def test_registration_refuses_a_host_with_a_forbidden_address_in_the_same_words_as_an_unknown_one(
    production_rules: None, dns: FakeDNS, answer: list[str] | None
) -> None:
    team = f.team()
    dns.answers = [answer]
    with f.acting(team.admin_actor), pytest.raises(ApplicationError) as refused:
        webhooks.endpoint_create(actor=team.admin_actor, url=f"https://{HOST}/hooks", events=[])
    # One text whether the name is unknown or internal: no way to probe which names we resolve.
    assert str(refused.value) == str(webhooks.REFUSED_HOST)
    assert not WebhookEndpoint.objects.filter(partner_id=team.partner.pk).exists()


def _endpoint_with_a_due_delivery(url: str) -> WebhookDelivery:
    team = f.team()
    with f.acting(team.admin_actor):
        webhooks.endpoint_create(actor=team.admin_actor, url=url, events=["deal.submitted"])
    f.submitted(team.sales_actor)
    return WebhookDelivery.objects.get()


@pytest.mark.django_db
def test_a_host_that_rebinds_to_loopback_is_connected_at_the_checked_address(
    production_rules: None, dns: FakeDNS, connections: list[tuple[str, int]]
) -> None:
    dns.answers = [[PUBLIC_V4]]
    delivery = _endpoint_with_a_due_delivery(f"https://{HOST}/hooks/prm")
    # The attacker's DNS: public when asked first, loopback for anyone who asks again.
    dns.answers, dns.lookups = [[PUBLIC_V4], ["127.0.0.1"]], 0
    assert tasks.send_due_webhooks() == 1
    assert dns.lookups == 1  # the connection did not look the name up again
    assert connections == [(PUBLIC_V4, 443)]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    # A public target's failure is explained: it tells nothing about our network.
    assert delivery.last_error == "Could not connect: Connection refused"


@pytest.mark.django_db
@pytest.mark.parametrize("answer", [["127.0.0.1"], ["10.0.0.5"], [PUBLIC_V4, "169.254.169.254"], None])
def test_a_delivery_to_a_host_that_now_resolves_inside_is_refused_unsent_and_unexplained(
    production_rules: None, dns: FakeDNS, connections: list[tuple[str, int]], answer: list[str] | None
) -> None:
    dns.answers = [[PUBLIC_V4]]
    delivery = _endpoint_with_a_due_delivery(f"https://{HOST}/hooks/prm")
    dns.answers = [answer]
    tasks.send_due_webhooks()
    assert connections == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == str(webhooks.REFUSED_HOST)


@pytest.mark.django_db
def test_the_pinned_connection_delivers_to_the_first_answer_under_the_host_name(dns: FakeDNS) -> None:
    """A real receiver (test settings allow 127.0.0.1): the request reaches the address the single
    lookup gave, with the name in the Host header, although a second lookup would say otherwise."""
    with receiver() as hook:
        port = int(hook.url.split(":")[2].split("/")[0])
        dns.answers = [["127.0.0.1"]]
        delivery = _endpoint_with_a_due_delivery(f"http://{HOST}:{port}/hooks/prm?source=prm")
        # Nothing listens on 127.0.0.2: a connection made after a second lookup would fail.
        dns.answers, dns.lookups = [["127.0.0.1"], ["127.0.0.2"]], 0
        assert tasks.send_due_webhooks() == 1
        assert dns.lookups == 1
        [request] = hook.received
        assert request["headers"]["Host"] == f"{HOST}:{port}"
        assert request["path"] == "/hooks/prm?source=prm"
        assert request["json"]["event"] == "deal.submitted"
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


@pytest.fixture
def tls_receiver(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str]]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names :data:`HOST`, trusted as a CA for the
    test (SSL_CERT_FILE); yields its port and the server names clients asked for (SNI)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))

    server_names: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda _socket, server_name, _context: server_names.append(server_name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, server_names
    finally:
        server.shutdown()
        server.server_close()


def test_tls_checks_the_host_name_although_the_socket_goes_to_the_address(
    dns: FakeDNS, tls_receiver: tuple[int, list[str]]
) -> None:
    port, server_names = tls_receiver
    dns.answers = [["127.0.0.1"]]
    status = outbound.post(
        url=f"https://{HOST}:{port}/hooks", body=b"{}", headers={}, timeout=5, allow_private=True
    )
    assert status == 200
    assert server_names == [HOST]  # SNI names the host, not the address
    # Another name on the same address: the certificate does not name it, so nothing is sent.
    with pytest.raises(urllib3.exceptions.SSLError, match="match"):
        outbound.post(
            url=f"https://127.0.0.1:{port}/hooks", body=b"{}", headers={}, timeout=5, allow_private=True
        )
