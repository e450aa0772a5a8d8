"""Loopback only for torch.distributed during the test run (the distributed doctests and tests).

Gloo binds its sockets to the interface ``GLOO_SOCKET_IFNAME`` names (else to whatever the host
name resolves to); the test run keeps it on the loopback interface. A doctest that failed half
way leaves no process group behind for the next one.
"""

import os
import socket

import pytest

# The Sphinx configuration and the pages it generates are not test modules (the site has its own test,
# tests/docs/test_site.py); docs/*.md pages still run as doctests.
collect_ignore = ["docs/conf.py"]
collect_ignore_glob = ["docs/_generated/*", "docs/api/*"]


def _loopback() -> str:
    names = [name for _, name in socket.if_nameindex()]
    return next((n for n in ("lo", "lo0") if n in names), names[0] if names else "lo")


os.environ.setdefault("GLOO_SOCKET_IFNAME", _loopback())


@pytest.fixture(autouse=True)
def _no_process_group_left():
    yield
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
