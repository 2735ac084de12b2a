"""What the benchmark scripts share (each runs as ``python bench/<name>.py``, so this directory is
on ``sys.path``)."""
import argparse
import socket


def arg_parser(doc):
    """A parser whose description is the script's docstring's first paragraph and whose epilog is
    the rest (the usage examples and targets)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def speed_probe(rounds=3):
    """CPU ms of a fixed pure-Python workload (best of ``rounds``): this machine's speed now. The
    machines these benchmarks run on change speed by a fifth from one run to the next with nothing
    else running; a run's figures are comparable with another's only next to this."""
    import time

    best = None
    for _ in range(rounds):
        started = time.process_time()
        table = {}
        for i in range(300_000):
            table[i % 1000] = table.get(i % 1000, 0) + len(str(i))
        spent = 1000 * (time.process_time() - started)
        best = spent if best is None else min(best, spent)
    return best


def interpreter():
    """This Python's version and the interpreter behind its virtualenv: builds differ in speed
    (a distribution's, compiled with profile-guided optimisation, ran the portal ≈ 10 % faster
    than a default pyenv build on the same machine; docs/benchmarks.md)."""
    import platform
    import sys

    return f"{platform.python_version()} ({getattr(sys, '_base_executable', sys.executable)})"


def free_port():
    """A TCP port nothing on 127.0.0.1 listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
