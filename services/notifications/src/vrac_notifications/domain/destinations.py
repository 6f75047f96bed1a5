"""Where an agency's webhook may point: public addresses only, and HTTPS outside development.

A webhook is a request this service makes on an agency's word, so an agency must not be able
to aim it at the service's own neighbourhood: the host itself (loopback), the cloud metadata
service (link-local), the private networks the cluster lives in, or ranges an operator names.
The rules are checked on every address a destination resolves to, at registration and again
just before each connection.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``10.0.0.0/8, 2001:db8::/32``; ValueError naming the entry that is not a network."""
    networks = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not a CIDR network: {part}") from None
    return tuple(networks)


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (``::ffff:127.0.0.1``, 6to4), else itself: the
    connection reaches that IPv4 host, so the rules apply to it."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


@dataclass(frozen=True)
class DestinationRules:
    """``development``: plain http and loopback allowed (a local stack's receiver);
    ``cluster_networks``: refused even when public."""

    development: bool = False
    cluster_networks: tuple[IPNetwork, ...] = ()

    def url_refusal(self, url: str) -> str | None:
        """Why the URL itself may not be used, or None."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            return "must be an http(s) URL with a host"
        if parts.scheme != "https" and not self.development:
            return "must be an https URL"
        return None

    def address_refusal(self, address: IPAddress) -> str | None:
        """Why a connection to this address is refused, or None when it is a public one."""
        ip = _embedded_ipv4(address)
        if any(
            a.version == net.version and a in net
            for a in (address, ip)
            for net in self.cluster_networks
        ):
            return "must not resolve to an address of the cluster"
        if ip.is_loopback:
            return None if self.development else "must not resolve to a loopback address"
        if ip.is_link_local:
            return "must not resolve to a link-local address"
        if ip.is_multicast:
            return "must not resolve to a multicast address"
        if ip.is_unspecified:
            return "must not resolve to an unspecified address"
        if ip.is_private:
            return "must not resolve to a private address"
        if ip.is_reserved or not ip.is_global:
            return "must resolve to a public address"
        return None
