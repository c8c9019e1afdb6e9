"""/healthz says the process is alive; /readyz that its database and the bus answer, and
that it knows every session signed out so far."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks = {"database": "skipped", "bus": "skipped"}
    if getattr(state, "engine", None) is not None:
        try:
            async with state.engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
            checks["database"] = "ok"
        except Exception:
            checks["database"] = "down"
    if getattr(state, "bus", None) is not None:
        checks["bus"] = "ok" if state.bus.connected else "down"
    if getattr(state, "revoked_sessions", None) is not None:
        checks["revocations"] = "ok" if state.revoked_sessions.caught_up.is_set() else "down"
    ready = all(value != "down" for value in checks.values())
    return JSONResponse(checks, status_code=200 if ready else 503)
