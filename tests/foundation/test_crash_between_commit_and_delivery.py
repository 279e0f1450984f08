"""Kill the process after the engine committed and before anything was delivered:
on restart every outbox action is sent, and each exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from storage.models import MessageRow, OutboxRow
from tests.fakes.recording_adapter import RecordingAdapter
from tests.foundation.test_dispatcher import dispatcher_for
from tests.harness import Harness

WORKER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from datetime import timedelta
    sys.path.insert(0, {root!r})
    from tests.harness import Harness

    async def main():
        async with Harness({url!r}) as h:
            for i in range(20):
                # past the conversation window, so each question is a new case
                await h.say("alice", f"question {{i}}", advance=timedelta(minutes=15))
                await h.say("evan", "/case", reply_to=h.last_message_id)
                await h.say("evan", f"answer {{i}}")
            print("committed", flush=True)
            # die before any dispatcher ran: nothing was delivered
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_sigkill_after_commit_loses_nothing_and_sends_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    root = str(Path(__file__).resolve().parents[2])
    script.write_text(WORKER.format(root=root, url=sqlite_url))
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert "committed" in proc.stdout

    async with Harness(sqlite_url) as h:
        h.clock.advance(hours=12)  # past the worker's own (frozen) clock
        async with h.sessions() as session:
            messages = (await session.execute(select(func.count(MessageRow.id)))).scalar_one()
            pending = (
                await session.execute(
                    select(func.count(OutboxRow.id)).where(OutboxRow.status == "pending")
                )
            ).scalar_one()
        assert messages == 60
        assert pending > 0
        adapter = RecordingAdapter()
        d = dispatcher_for(h, adapter)
        while await d.run_once():
            pass
        assert await d.run_once() == 0
        async with h.sessions() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(OutboxRow.status, func.count(OutboxRow.id)).group_by(
                            OutboxRow.status
                        )
                    )
                ).all()
            )
        assert statuses.get("pending", 0) == 0 and statuses.get("dead", 0) == 0
        sent_ids = [d.id for d in adapter.delivered]
        assert len(sent_ids) == len(set(sent_ids)) == statuses["sent"]
        acks = [t for t in adapter.texts() if t.startswith("Thanks")]
        assert len(acks) == 20
