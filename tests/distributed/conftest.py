"""Process groups for the distributed tests: gloo on 127.0.0.1, one pool of ranks per world size,
shared by every test of the session (see ``_ranks.py``)."""

import pytest
import torch.distributed as dist

from ._ranks import Pools

if not dist.is_available():  # pragma: no cover - torch builds without torch.distributed
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def ranks():
    """``ranks(world)``: the session's pool of ``world`` ranks (2 and 3 start together, on first use)."""
    pools = Pools(start=(2, 3))
    yield pools
    pools.close()
