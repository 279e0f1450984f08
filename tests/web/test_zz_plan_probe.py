from sqlalchemy import event, text
from tests.web.conftest import ENGINEER, Site, make_site

SEEN: list[str] = []


async def test_probe(sqlite_url: str) -> None:
    async for site in make_site(sqlite_url):
        await site.open_case("x")
        sync_engine = site.app.db.sync_engine if hasattr(site.app, "db") else None
        eng = None
        for name in ("engine", "db_engine", "_engine"):
            pass
        from sqlalchemy.ext.asyncio import AsyncEngine
        bind = site.app.sessions.kw["bind"]
        assert isinstance(bind, AsyncEngine)

        @event.listens_for(bind.sync_engine, "before_cursor_execute")
        def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) or " WHERE " in statement.upper():
                SEEN.append(statement)

        h = site.api_headers(ENGINEER)
        await site.client.post("/api/v1/incidents", json={"title": "x"}, headers=h)
        await site.client.post("/api/v1/incidents/1/updates", json={"text": "y"}, headers=h)
        await site.client.post("/api/v1/incidents/1/resolve", json={"text": "z"}, headers=h)
        event.remove(bind.sync_engine, "before_cursor_execute", grab)
        out = []
        async with bind.connect() as conn:
            for s in dict.fromkeys(SEEN):
                try:
                    plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + s.replace("?", "1"))).all()
                except Exception as exc:  # noqa: BLE001
                    plan = [("err", str(exc)[:80])]
                out.append(s.replace("\n", " ")[:400] + "\n   " + "\n   ".join(str(p[-1]) for p in plan))
        open("/tmp/audit-inc/plans.txt", "w").write("\n\n".join(out))
