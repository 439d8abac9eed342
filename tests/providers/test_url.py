"""Store URLs: sqlite relative, absolute and in-memory forms, ?synchronous=; PostgreSQL; anything else refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from postgres_support import PG_CONNECT_URL, drop_schema, new_schema_name, require_postgres, schema_exists, schema_url

from duroxide_cli.errors import ConfigError, StoreNotFoundError
from duroxide_cli.providers.sqlite import SqliteProvider
from duroxide_cli.providers.url import open_provider, parse_sqlite_url, split_schema, sqlite_path, without_password

from .builders import create


def test_three_slashes_are_relative_to_the_base_dir(tmp_path):
    assert sqlite_path("sqlite:///data/app.db", tmp_path) == tmp_path / "data" / "app.db"


def test_three_slashes_without_a_base_dir_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sqlite_path("sqlite:///.duroxide/duroxide.db") == tmp_path / ".duroxide" / "duroxide.db"


def test_four_slashes_are_absolute(tmp_path):
    assert sqlite_path(f"sqlite:///{tmp_path}/app.db", Path("/elsewhere")) == tmp_path / "app.db"


def test_percent_escapes_are_decoded(tmp_path):
    assert sqlite_path("sqlite:///my%20data/app.db", tmp_path) == tmp_path / "my data" / "app.db"


async def test_open_relative_file_creates_it_under_the_base_dir(tmp_path):
    provider = await open_provider("sqlite:///nested/app.db", base_dir=tmp_path)
    try:
        assert isinstance(provider, SqliteProvider)
        await create(provider, "a")
    finally:
        await provider.close()
    assert (tmp_path / "nested" / "app.db").exists()


async def test_open_absolute_file(tmp_path):
    provider = await open_provider(f"sqlite:///{tmp_path}/abs.db", base_dir=Path("/nonexistent"))
    await provider.close()
    assert (tmp_path / "abs.db").exists()


async def test_open_in_memory():
    provider = await open_provider("sqlite://:memory:")
    try:
        assert isinstance(provider, SqliteProvider)
        await create(provider, "a")
        assert await provider.get_instance("a") is not None
    finally:
        await provider.close()


@pytest.mark.parametrize(
    "url",
    ["mysql://host/db", "sqlite://relative.db", "sqlite:///", "sqlite:////", "app.db", "", "sqlite:///app.db?mode=ro"],
)
async def test_other_urls_are_refused_with_the_accepted_forms(url):
    with pytest.raises(ConfigError) as raised:
        await open_provider(url)
    message = str(raised.value)
    assert "\n" not in message
    assert "sqlite:///" in message and "sqlite://:memory:" in message and "postgresql://" in message


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
async def test_a_postgres_url_opens_its_schema_creating_it(scheme):
    from duroxide_cli.providers.postgres import PostgresProvider

    await require_postgres()
    schema = new_schema_name()
    url = schema_url(schema).replace("postgresql://", f"{scheme}://", 1)
    try:
        provider = await open_provider(url)
        try:
            assert isinstance(provider, PostgresProvider)
            assert schema in repr(provider)
            await create(provider, "a")
            assert await provider.get_instance("a") is not None
        finally:
            await provider.close()
    finally:
        await drop_schema(schema)


async def test_without_create_a_missing_store_is_not_created_but_an_existing_one_opens(tmp_path):
    await require_postgres()
    schema = new_schema_name()
    missing = tmp_path / "missing.db"
    try:
        for url, where in ((f"sqlite:///{missing}", str(missing)), (schema_url(schema), f"(schema {schema})")):
            with pytest.raises(StoreNotFoundError, match="no store at") as raised:
                await open_provider(url, create=False)
            assert where in raised.value.where
        assert not missing.exists() and not await schema_exists(schema)
        for url in (f"sqlite:///{missing}", schema_url(schema)):
            await (await open_provider(url)).close()
            await (await open_provider(url, create=False)).close()
    finally:
        await drop_schema(schema)


@pytest.mark.parametrize("schema", ["Orders", "1st", "a-b", "x" * 49, ""])
async def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(schema):
    with pytest.raises(ConfigError, match="schema"):
        await open_provider(f"{PG_CONNECT_URL}?schema={schema}" if schema else f"{PG_CONNECT_URL}?schema=")


def test_schema_parameter_is_ours_and_removed():
    assert split_schema("postgresql://u@h:5432/db?schema=app&sslmode=require") == (
        "postgresql://u@h:5432/db?sslmode=require",
        "app",
    )
    assert split_schema("postgres://u@h/db") == ("postgres://u@h/db", None)


async def _synchronous_in_force(url: str) -> str | None:
    provider = await open_provider(url)
    try:
        assert isinstance(provider, SqliteProvider)
        return provider.synchronous
    finally:
        await provider.close()


async def test_a_sqlite_file_is_fully_synchronous_by_default(tmp_path):
    assert await _synchronous_in_force(f"sqlite:///{tmp_path}/app.db") == "full"


@pytest.mark.parametrize(("query", "expected"), [("normal", "normal"), ("NORMAL", "normal"), ("full", "full")])
async def test_the_url_chooses_the_synchronous_level_in_force(tmp_path, query, expected):
    assert await _synchronous_in_force(f"sqlite:///{tmp_path}/app.db?synchronous={query}") == expected


def test_the_synchronous_parameter_does_not_change_the_file(tmp_path):
    target = parse_sqlite_url("sqlite:///data/app.db?synchronous=normal", tmp_path)
    assert (target.path, target.synchronous) == (tmp_path / "data" / "app.db", "normal")
    assert sqlite_path("sqlite:///data/app.db?synchronous=normal", tmp_path) == tmp_path / "data" / "app.db"


@pytest.mark.parametrize("value", ["off", "extra", "", "2"])
async def test_another_synchronous_level_is_refused_naming_the_allowed_ones(tmp_path, value):
    with pytest.raises(ConfigError) as raised:
        await open_provider(f"sqlite:///{tmp_path}/app.db?synchronous={value}")
    assert "full or normal" in str(raised.value) and "\n" not in str(raised.value)
    assert not (tmp_path / "app.db").exists()


def test_a_password_is_never_shown():
    assert without_password("postgresql://app:s3cret@db:5432/prod?schema=orders") == (
        "postgresql://app:***@db:5432/prod?schema=orders"
    )
    assert without_password("postgresql://app@db/prod") == "postgresql://app@db/prod"
    assert without_password("sqlite:///state.db") == "sqlite:///state.db"
