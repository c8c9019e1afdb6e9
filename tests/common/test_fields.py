"""Query models read by QueryModel: the same answers and the same document as FastAPI's own."""

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ticketing.common.errors import install_error_handlers
from ticketing.common.fields import QueryModel


class Filters(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    search_words: str | None = Field(None, max_length=5)
    limit: int = Field(20, ge=1, le=100)
    mine: bool = False
    page_size: int  # required


FILTERS = QueryModel(Filters)


def an_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fast", openapi_extra=FILTERS.openapi)
    async def fast(filters: Annotated[Filters, Depends(FILTERS)]) -> dict:
        return filters.model_dump()

    @app.get("/framework")
    async def framework(filters: Annotated[Filters, Query()]) -> dict:
        return filters.model_dump()

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize(
    "query",
    [
        "",
        "pageSize=1&searchWords=abc&limit=5&mine=true",
        "pageSize=1&limit=0",
        "pageSize=1&limit=ten",
        "pageSize=1&searchWords=toolong",
        "pageSize=1&mine=perhaps&limit=101",
        "pageSize=1&limit=3&limit=4",  # the last one counts
        "pageSize=1&unknown=1",
    ],
)
async def test_a_query_is_answered_as_fastapis_query_model_answers_it(client, query):
    fast = await client.get(f"/fast?{query}")
    framework = await client.get(f"/framework?{query}")
    assert (fast.status_code, fast.json()) == (framework.status_code, framework.json())


async def test_a_bad_value_is_a_400_naming_the_field(client):
    response = await client.get("/fast?pageSize=1&limit=0")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["limit"]


def test_the_parameters_are_documented_as_fastapi_documents_them():
    paths = an_app().openapi()["paths"]
    assert paths["/fast"]["get"]["parameters"] == paths["/framework"]["get"]["parameters"]
