"""The read path's ceilings: a FastAPI endpoint doing one `SELECT 1`, on the services' stack.

`/select1_raw` on plain asyncpg (a pool as big as a service's), `/select1` through the
services' engine and read dependency (common.db); both on the same framework, server
settings and event loop as a service (uvicorn as `ticketing serve` runs it), same
PostgreSQL; none of the services' middleware, auth or mapping. Run as
`python -m bench.select1_app DATABASE_URL PORT`.
"""

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import text

from ticketing.common.app import NO_OPENTELEMETRY
from ticketing.common.database_url import asyncpg_url, libpq_dsn
from ticketing.common.db import AutocommitDb, make_engine
from ticketing.runtime.servers import run_served


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url)
        app.state.engine = engine
        app.state.pool = await asyncpg.create_pool(libpq_dsn(database_url), min_size=1, max_size=20)
        yield
        await app.state.pool.close()
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, telemetry=NO_OPENTELEMETRY)

    @app.get("/select1_raw")
    async def select1_raw(request: Request) -> dict:
        """The same query on plain asyncpg: what the framework and server cost alone."""
        return {"one": await request.app.state.pool.fetchval("SELECT 1")}

    @app.get("/select1")
    async def select1(db: AutocommitDb) -> dict:
        """Through the services' read dependency, as the ticket list is."""
        return {"one": (await db.execute(text("SELECT 1"))).scalar_one()}

    return app


async def serve(database_url: str, port: int) -> None:
    url = asyncpg_url(database_url)
    config = uvicorn.Config(
        create_app(url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=True,
        lifespan="on",
    )
    gc.freeze()  # as `ticketing serve` does before serving
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    run_served(serve(sys.argv[1], int(sys.argv[2])))
