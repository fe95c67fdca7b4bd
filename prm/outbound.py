"""HTTP requests to URLs a partner chose (webhooks), made so they cannot reach into our network.

A partner controls both the URL and the DNS of its host, so for every request:

* every address the host resolves to must be globally routable. One forbidden address refuses the
  host: which of several addresses a client ends up using is not ours to predict;
* the host is resolved once and the socket is opened to the address that was checked. A second
  lookup (as ``urllib.request`` makes) may answer differently the second time (DNS rebinding), so
  only TLS (SNI and certificate check) and the ``Host`` header carry the name;
* redirects are not followed: a 3xx may point anywhere, so it is just a failed answer.

``ipaddress``'s ``is_global`` is not enough on its own: in Python 3.11 it calls multicast global
and judges IPv6 forms that carry an IPv4 address (``::ffff:127.0.0.1``, ``2002:7f00:1::``) by the
IPv6 prefix, not by the IPv4 address inside, which is where the packets end up. Hence the explicit
tables below, which do not depend on the interpreter's version.
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from urllib.parse import urlsplit

import urllib3

IPAddress = IPv4Address | IPv6Address

# Special-purpose IPv4 blocks (IANA's registry, RFC 6890 and later): nothing a partner's server
# may live on.
FORBIDDEN_IPV4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # shared (carrier-grade NAT); 100.100.100.200 is a cloud metadata service
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local; 169.254.169.254 is the usual cloud metadata service
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address 255.255.255.255
    )
)
# IPv6 servers live in global unicast (2000::/3); everything outside it (loopback, unspecified,
# unique local, link-local, site-local, multicast, discard, the IPv4-compatible and -translated
# forms, NAT64's local-use prefix) is refused by that alone. Inside it, these blocks are not global.
GLOBAL_UNICAST_IPV6 = ipaddress.IPv6Network("2000::/3")
FORBIDDEN_IPV6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments (Teredo, 2001::/32, is judged by what it carries)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # segment routing identifiers (RFC 9602)
    )
)
NAT64_IPV6 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits


class RefusedDestination(Exception):
    """The host does not resolve, or resolves to an address we do not connect to. Deliberately one
    error for both: telling them apart would say which internal names exist."""


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...] | None:
    """The IPv4 address(es) an IPv6 address carries, for the forms that deliver to them: mapped
    (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::), Teredo (2001:0::, server
    and client). None for an ordinary IPv6 address."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address in NAT64_IPV6:
        return (IPv4Address(int(address) & 0xFFFF_FFFF),)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    if address.teredo is not None:
        return address.teredo
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether a partner-supplied URL may lead us to ``address``."""
    if isinstance(address, IPv6Address):
        carried = embedded_ipv4(address)
        if carried is not None:
            return all(is_public_address(inner) for inner in carried)
        if address not in GLOBAL_UNICAST_IPV6 or any(address in block for block in FORBIDDEN_IPV6):
            return False
    elif any(address in block for block in FORBIDDEN_IPV4):
        return False
    # The standard library's view too, should its tables ever know of a block ours do not.
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def resolve(*, host: str, port: int, allow_private: bool) -> list[IPAddress]:
    """The addresses of ``host``, in the resolver's order of preference, each checked; one lookup.
    ``allow_private`` (local development and tests) skips the check, never the single lookup."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # gaierror is an OSError; IDNA encoding may fail
        raise RefusedDestination(host) from exc
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canonname, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise RefusedDestination(host)
    if not allow_private and not all(is_public_address(address) for address in addresses):
        raise RefusedDestination(host)
    return addresses


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool) -> int:
    """POST ``body`` to ``url`` over a connection pinned to the first checked address of its host;
    the answer's status (3xx included: not followed). Raises :class:`RefusedDestination` before
    anything is sent, or one of urllib3's errors when the connection or the answer fails."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("an absolute http(s) URL is required")
    https = parts.scheme == "https"
    default_port = 443 if https else 80
    port = parts.port or default_port
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise RefusedDestination(parts.hostname) from exc
    address = resolve(host=host, port=port, allow_private=allow_private)[0]

    # The Host header and TLS name the host; the socket goes to ``address`` and nowhere else.
    named_host = f"[{host}]" if ":" in host else host
    host_header = named_host if port == default_port else f"{named_host}:{port}"
    options: dict[str, Any] = {
        "host": str(address),
        "port": port,
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if https:
        options.update(server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED")
    pool_class = urllib3.HTTPSConnectionPool if https else urllib3.HTTPConnectionPool
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with pool_class(**options) as pool:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            assert_same_host=False,
            # The body is not read: a receiver cannot make us download anything.
            preload_content=False,
        )
        try:
            return response.status
        finally:
            response.close()
