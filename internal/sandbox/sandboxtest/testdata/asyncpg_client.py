#!/usr/bin/python3
"""A PostgreSQL client that talks as the tutorial's FastAPI backend does: asyncpg pools, one
for writes (HAProxy's primary port) and one for reads (the replica port), every parameterised
query a prepared statement at the protocol level (asyncpg names and caches them per
connection). Usage: asyncpg_client.py WRITE_DSN READ_DSN SECONDS, password in PGPASSWORD.

It runs writers and readers for SECONDS and prints JSON: how many queries succeeded, and each
failure with its Unix time and kind ("protocol": a prepared statement the server does not have;
"connection": the session was cut or could not be opened; "query": anything else). A failed
worker pauses 0.1 s and goes on, as an application retrying a request would."""

import asyncio
import json
import sys
import time

import asyncpg

WORKERS = 8

CONNECTION_ERRORS = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    # SQLSTATE class 08, PgBouncer's "server login has been failing" (08P01) among them.
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,  # 57P03
    asyncpg.exceptions.AdminShutdownError,  # 57P01
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a session on a node being demoted
    asyncpg.exceptions.InterfaceError,
    # asyncpg's own state machine, confused by a connection cut in the middle of an operation.
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


def kind(exc):
    text = str(exc)
    if isinstance(exc, (asyncpg.exceptions.InvalidSQLStatementNameError,
                        asyncpg.exceptions.DuplicatePreparedStatementError)) or "prepared statement" in text:
        return "protocol"
    if isinstance(exc, CONNECTION_ERRORS):
        return "connection"
    return "query"


async def main():
    write_dsn, read_dsn, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    writes = await asyncpg.create_pool(write_dsn, min_size=2, max_size=4, command_timeout=5, timeout=5)
    reads = await asyncpg.create_pool(read_dsn, min_size=2, max_size=4, command_timeout=5, timeout=5)
    await writes.execute(
        "CREATE TABLE IF NOT EXISTS asyncpg_notes (id serial PRIMARY KEY, text text, completed boolean)")
    # The replicas have the table once they have replayed its creation.
    for _ in range(100):
        try:
            await reads.fetchval("SELECT count(*) FROM asyncpg_notes")
            break
        except asyncpg.exceptions.UndefinedTableError:
            await asyncio.sleep(0.1)
    result = {"ok": 0, "errors": []}
    deadline = time.monotonic() + seconds

    async def query(i):
        if i % 2 == 0:
            await writes.fetchval(
                "INSERT INTO asyncpg_notes (text, completed) VALUES ($1, $2) RETURNING id",
                "note from worker %d" % i, i % 4 == 0)
        elif i % 4 == 1:
            await reads.fetch(
                "SELECT id, text, completed FROM asyncpg_notes ORDER BY id LIMIT $2 OFFSET $1", 0, 20)
        else:
            await reads.fetchrow("SELECT id, text, completed FROM asyncpg_notes WHERE id = $1", i)

    async def worker(i):
        while time.monotonic() < deadline:
            try:
                # Bounded, acquiring a connection included: a request that hangs is an error too.
                await asyncio.wait_for(query(i), 10)
                result["ok"] += 1
            except Exception as exc:  # every failure is reported, none ends the run
                result["errors"].append({"at": time.time(), "kind": kind(exc),
                                         "message": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")})
                await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(WORKERS))), seconds + 30)
    except asyncio.TimeoutError:
        result["errors"].append({"at": time.time(), "kind": "hang", "message": "the workers did not stop within 30 s of the end"})
    # terminate, not close: close waits for every connection, a broken one included.
    writes.terminate()
    reads.terminate()
    json.dump(result, sys.stdout)


asyncio.run(main())
