"""Processors that misbehave on purpose, wrapping the sandbox: slow, or losing answers."""

import asyncio
from collections.abc import Mapping

from ticketing.payments.providers import (
    ChargeResult,
    ProviderUnavailable,
    SandboxProvider,
    TransferRejected,
)


class GatedProvider:
    """Each charge waits at a gate the test opens: a processor slow to answer."""

    def __init__(self) -> None:
        self.sandbox = SandboxProvider()
        self.gate = asyncio.Event()
        self.waiting = 0

    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        self.waiting += 1
        try:
            await self.gate.wait()
        finally:
            self.waiting -= 1
        return await self.sandbox.charge(amount_cents, currency, token, idempotency_key)

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        await self.sandbox.refund(charge_id, idempotency_key)

    async def aclose(self) -> None:
        self.gate.set()


class FlakyProvider:
    """The first `lost_charges` charges land but their answers are lost on the way back;
    the first `failed_refunds` refunds fail before reaching the processor."""

    def __init__(self, lost_charges: int = 0, failed_refunds: int = 0) -> None:
        self.sandbox = SandboxProvider()
        self.lost_charges = lost_charges
        self.failed_refunds = failed_refunds
        self.keys: list[str] = []

    async def charge(
        self,
        amount_cents: int,
        currency: str,
        token: str,
        idempotency_key: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        self.keys.append(idempotency_key)
        charged = await self.sandbox.charge(amount_cents, currency, token, idempotency_key)
        if self.lost_charges:
            self.lost_charges -= 1
            raise ProviderUnavailable("connection reset while reading the answer")
        return charged

    async def refund(self, charge_id: str, idempotency_key: str) -> None:
        if self.failed_refunds:
            self.failed_refunds -= 1
            raise ProviderUnavailable("processor unreachable")
        await self.sandbox.refund(charge_id, idempotency_key)

    async def aclose(self) -> None:
        return None


class FlakyTransfers(SandboxProvider):
    """Transfers: the first `lost` land but their answers are lost; with a `refusal`,
    every one is refused with it. Records each key it is sent."""

    def __init__(self, lost: int = 0, refusal: str | None = None) -> None:
        super().__init__()
        self.lost = lost
        self.refusal = refusal
        self.transfer_keys: list[str] = []

    async def transfer(
        self, amount_cents: int, currency: str, *, destination: str, idempotency_key: str
    ) -> str:
        self.transfer_keys.append(idempotency_key)
        if self.refusal:
            raise TransferRejected(self.refusal)
        transfer_id = await super().transfer(
            amount_cents, currency, destination=destination, idempotency_key=idempotency_key
        )
        if self.lost:
            self.lost -= 1
            raise ProviderUnavailable("connection reset while reading the answer")
        return transfer_id
