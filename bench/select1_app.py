"""The read path's ceiling: one FastAPI endpoint doing one `SELECT 1`, on the services' stack.

Same framework, server settings, engine, pool and read dependency as a service (common.db,
uvicorn as `ticketing serve` configures it), same PostgreSQL; none of the services'
middleware, auth or ORM mapping. Run as `python -m bench.select1_app DATABASE_URL PORT`.
"""

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from ticketing.common.app import NO_OPENTELEMETRY
from ticketing.common.database_url import asyncpg_url
from ticketing.common.db import AutocommitDb, make_engine


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url)
        app.state.engine = engine
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan, telemetry=NO_OPENTELEMETRY)

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
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
