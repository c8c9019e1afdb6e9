"""The bus connection warns when the server goes, not when the service closes it."""

import logging

from tests.support import eventually
from ticketing.common.bus.connection import connect
from ticketing.runtime.nats import EmbeddedNats

WARNING = "nats: disconnected, reconnecting"


async def test_a_lost_server_is_warned_about_and_closing_at_shutdown_is_not(tmp_path, caplog):
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    caplog.set_level(logging.INFO, logger="ticketing.common.bus.connection")
    try:
        closed_by_us = await connect(server.admin_url, name="closing")
        await closed_by_us.close()
        assert WARNING not in caplog.text
        lost = await connect(server.admin_url, name="losing")
        server.stop(grace_seconds=0)
        await eventually(lambda: WARNING in caplog.text, timeout=10)
        await lost.close()
    finally:
        server.stop(grace_seconds=0)
