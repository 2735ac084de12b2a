"""What the benchmark scripts share (each runs as ``python bench/<name>.py``, so this directory is
on ``sys.path``)."""
import argparse
import socket


def arg_parser(doc):
    """A parser whose description is the script's docstring's first paragraph and whose epilog is
    the rest (the usage examples and targets)."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=doc.split("\n\n", 1)[1],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def free_port():
    """A TCP port nothing on 127.0.0.1 listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
