"""python -m alibaba_emulator --host 127.0.0.1 --port 0 --state-dir DIR

Prints one line `alibaba_emulator listening on http://HOST:PORT` to stdout once it accepts
connections, then logs to stderr. SIGTERM/SIGINT save the state and stop it."""
import argparse
import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from . import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, __version__


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m alibaba_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", required=True, help="where state.json (and OSS objects) live")
    parser.add_argument("--access-key-id",
                        default=os.environ.get("ALIBABA_EMULATOR_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID))
    parser.add_argument("--access-key-secret",
                        default=os.environ.get("ALIBABA_EMULATOR_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET))
    parser.add_argument("--log-level", default=os.environ.get("ALIBABA_EMULATOR_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiohttp's access log would print every call; the emulator logs what matters itself
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from .emulator import Emulator
    from .server import make_app

    emulator = Emulator(args.state_dir, args.access_key_id, args.access_key_secret)

    async def run():
        runner = web.AppRunner(make_app(emulator), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, args.host, args.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"alibaba_emulator listening on http://{shown}:{port}", flush=True)
        logging.getLogger("alibaba_emulator").info("alibaba_emulator %s, state in %s", __version__, emulator.state_dir)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
        emulator.flush()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
