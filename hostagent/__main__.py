"""python -m hostagent --backend sim|libvirt ... (see --help)."""
import asyncio
import logging
import signal
import sys

from . import __version__, config as config_module


def main(argv=None):
    config = config_module.load(argv)
    logging.basicConfig(stream=sys.stderr, level=str(config["log_level"]).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hostagent").info("hostagent %s starting with %s", __version__, config_module.redacted(config))
    from .backends import make_backend
    from .server import serve

    backend = make_backend(config)

    async def run():
        runner = await serve(backend, config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logging.getLogger("hostagent").info("stopping")
        await runner.cleanup()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
