"""`python -m bridges.matrix --config bridge.toml`: run the Matrix bridge until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bridges.matrix.config import BridgeConfig, ConfigError, load_config

if TYPE_CHECKING:
    from bridges.matrix.bridge import MatrixBridge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="casebot-matrix", description="Bridge Matrix rooms to casebot (casebot.chat/v1)."
    )
    parser.add_argument("--config", required=True, help="the bridge's TOML file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"casebot-matrix: {exc}", file=sys.stderr)
        return 2
    try:
        from bridges.matrix.bridge import BridgeError, MatrixBridge
    except ImportError as exc:
        print(
            f"casebot-matrix: {exc.name} is missing; pip install 'casebot[matrix]'",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # matrix-nio logs every request at INFO.
    logging.getLogger("nio").setLevel(logging.WARNING)
    try:
        asyncio.run(_run(MatrixBridge, config))
    except BridgeError as exc:
        print(f"casebot-matrix: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run(make: type[MatrixBridge], config: BridgeConfig) -> None:
    bridge = make(config)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await bridge.run()
    except asyncio.CancelledError:
        logging.getLogger("bridges.matrix").info("stopped")


if __name__ == "__main__":
    sys.exit(main())
