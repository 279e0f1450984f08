"""The side-by-side peer for bench/latency.py: a minimal python-telegram-bot `Application`
that only replies to each message, against the same fake Bot API, chats and offered load.

    python bench/peer_ptb.py [--rates 50,200,1000] [--seconds 5] [--chats 100]

It takes latency.py's flags and prints its lines in latency.py's format (the last one
`latency_ms rate=.. p50=.. ... throughput=..;`), so bench/run_all.py can set casebot's
figures beside it. The peer keeps nothing and sends one reply per update; casebot stores
each message, opens a case and sends three calls (acknowledgement, triage card, board
edit). The peer is the floor that python-telegram-bot and the fake set on this machine.

`--serve BASE_URL` is the peer process itself, which the benchmark starts; it polls with
python-telegram-bot's defaults (updates handled one at a time) and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.latency import TOKEN, arguments, last_line, overrides, run  # noqa: E402
from bench.procs import ROOT, FakeApiProcess  # noqa: E402


def serve(base_url: str) -> None:
    # imported here: the driver half of this file runs without python-telegram-bot
    from telegram import ReplyParameters, Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        await context.bot.send_message(
            message.chat_id, "ok", reply_parameters=ReplyParameters(message.message_id)
        )

    app = Application.builder().token(TOKEN).base_url(base_url).build()
    app.add_handler(MessageHandler(filters.ALL, reply))
    app.run_polling(allowed_updates=["message"], timeout=10)


async def launch_peer(
    _config: Path, log: Path, fake: FakeApiProcess
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), "--serve", fake.base_url,
        cwd=ROOT, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve(argv[1])
        return
    args = arguments(__doc__.split("\n")[0], argv)
    rates = [int(r) for r in args.rates.split(",")]
    results = asyncio.run(
        run(
            rates, args.seconds, args.chats, args.drain, overrides(args.set), args.workdir,
            launch=launch_peer,
        )
    )  # fmt: skip
    print(last_line(results))


if __name__ == "__main__":
    main()
