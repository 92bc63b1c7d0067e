"""The managers of a fleet, found by DNS: ``poolmgr status --dns NAME[:PORT]``.

Decides how a DNS name becomes managers to read (OC-CTL-4028): the name is resolved with the
system resolver (``socket.getaddrinfo``, A and AAAA records alike, so a Kubernetes headless
Service name gives one address per ready pod), the addresses are de-duplicated and put in a
stable order (IPv4 before IPv6, each numerically; DNS answers come in any order, and a table
that reorders itself on every ``--watch`` round is hard to read), and each address is one
manager at ``http://ADDR:PORT`` (IPv6 in brackets). A name that does not resolve, or resolves
to no address, is a :class:`Unresolved` with the reason, reported like a manager that cannot
be read (OC-CTL-4029).

The resolver is one seam, :data:`Resolver`: the command takes it as an argument, so a test may
stand in for the outside world's DNS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Resolver", "Target", "Unresolved", "expand", "manager_urls", "system_resolver"]

Resolver = Callable[[str, int], Sequence[str]]
"""``(name, port) -> addresses``; raises :class:`OSError` (``socket.gaierror``) when it fails."""


@dataclass(frozen=True)
class Target:
    """One ``--dns`` argument: a name and the port its managers listen on."""

    name: str
    port: int

    def __str__(self) -> str:
        return f"{self.name}:{self.port}"


@dataclass(frozen=True)
class Unresolved:
    """A ``--dns`` name that gave no manager, and why."""

    target: Target
    reason: str


def system_resolver(name: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``name`` (TCP), in the order it gives them."""
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _url(address: str, port: int) -> str:
    ip = ipaddress.ip_address(address)
    host = f"[{ip.compressed}]" if ip.version == 6 else ip.compressed
    return f"http://{host}:{port}"


def manager_urls(addresses: Sequence[str], port: int) -> list[str]:
    """One URL per distinct address, IPv4 first, each family in numeric order."""
    distinct = {ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses}
    ordered = sorted(distinct, key=lambda ip: (ip.version, int(ip)))
    return [_url(str(ip), port) for ip in ordered]


def expand(targets: Sequence[Target], resolve: Resolver) -> tuple[list[str], list[Unresolved]]:
    """The managers' URLs of every target, and the targets that gave none."""
    urls: list[str] = []
    failed: list[Unresolved] = []
    for target in targets:
        try:
            addresses = resolve(target.name, target.port)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            failed.append(Unresolved(target, f"cannot resolve the name ({reason})"))
            continue
        found = manager_urls(addresses, target.port)
        if not found:
            failed.append(Unresolved(target, "the name resolves to no address"))
        urls += [u for u in found if u not in urls]
    return urls, failed
