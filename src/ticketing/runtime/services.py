"""The services `ticketing up` runs, and where the gateway sends each path. One line each."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    routes: tuple[str, ...]  # gateway path prefixes; none for a service with no public HTTP
    database: bool = True
    # Work nobody waits on as it happens (mail): on a busy machine it yields the CPU to
    # the services people and timers do wait on (`ticketing up` runs it at a lower priority).
    background: bool = False

    @property
    def app(self) -> str:
        return f"ticketing.{self.name}.app:create_app"

    @property
    def migrations(self) -> str:
        return f"ticketing.{self.name}:migrations"


SERVICES: list[ServiceSpec] = [
    ServiceSpec("auth", ("/api/users",)),
    ServiceSpec("tickets", ("/api/tickets",)),
    ServiceSpec("orders", ("/api/orders",)),
    ServiceSpec("expiration", ()),
    ServiceSpec("payments", ("/api/payments", "/api/payouts")),
    ServiceSpec("passes", ("/api/passes", "/api/checkins")),
    ServiceSpec("notifications", (), background=True),
    ServiceSpec("web", ("/",), database=False),
]


def by_name(name: str) -> ServiceSpec:
    for spec in SERVICES:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in SERVICES)
    raise SystemExit(f"unknown service {name!r}; known: {known}")
