"""``cockpit engine [--exit-when-idle]``: the internal command a background engine runs
(``cockpit run`` starts one to pick its run up); not listed in the help."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from cockpit.client import open_client
from cockpit.client.local import EngineOptions, Workspace
from engine.domain.redact import RedactingFilter


async def cmd_engine(ws: Workspace, args: argparse.Namespace) -> int:
    """Run the workspace's queue until stopped (or, with ``--exit-when-idle``, empty)."""
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s engine[{os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    async with open_client(ws, EngineOptions(exit_when_idle=args.exit_when_idle)) as client:
        for handler in logging.getLogger().handlers:  # the log file never holds a key
            handler.addFilter(RedactingFilter(client.redact))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, client.stop)  # runs in flight → interrupted
        await client.serve()
    return 0
