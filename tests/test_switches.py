"""losskit.checks(...) and losskit.impl(...): a with-block or a plain call holds in its own thread only,
blocks may exit in any order, and torch.compile re-traces when a switch changes."""

import threading

import pytest
import torch

import losskit
import losskit.functional as LF

SWITCHES = [
    (losskit.checks, losskit.check_level, ("off", "auto", "full")),
    (losskit.impl, losskit.current_impl, ("torch", "auto", "triton")),
]


@pytest.mark.parametrize("switch, current, values", SWITCHES, ids=["checks", "impl"])
def test_a_with_block_is_seen_by_its_own_thread_only(switch, current, values):
    inside, outside = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with switch(values[0]):
            seen["worker"] = current()
            inside.set()
            outside.wait(5)
        seen["worker_after"] = current()

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    seen["main"] = current()  # while the worker is inside its block
    outside.set()
    t.join(5)
    assert seen == {"worker": values[0], "main": values[1], "worker_after": values[1]}


@pytest.mark.parametrize("switch, current, values", SWITCHES, ids=["checks", "impl"])
def test_blocks_left_out_of_order_restore_the_default(switch, current, values):
    a = switch(values[0])
    a.__enter__()
    b = switch(values[2])
    b.__enter__()
    assert current() == values[2]
    a.__exit__(None, None, None)  # the outer block leaves first
    assert current() == values[2]  # the inner one still holds
    b.__exit__(None, None, None)
    assert current() == values[1]


def test_two_threads_leaving_out_of_order_do_not_leave_checks_off():
    """The race that left the process at "off" when the level was a module global."""
    barrier = threading.Barrier(2, timeout=5)
    order = threading.Event()

    def first():
        with losskit.checks("off"):
            barrier.wait()
            order.wait(5)  # leaves after the second thread

    def second():
        with losskit.checks("full"):
            barrier.wait()
        order.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert losskit.check_level() == "auto"


def test_checks_off_in_one_thread_does_not_disable_validation_in_another():
    inside, done = threading.Event(), threading.Event()

    def relaxed():
        with losskit.checks("off"):
            inside.set()
            done.wait(5)

    t = threading.Thread(target=relaxed)
    t.start()
    assert inside.wait(5)
    try:
        with pytest.raises(ValueError, match="class index 7 outside"):
            LF.dice_loss(torch.randn(2, 3, 4), torch.tensor([[0, 1, 2, 7], [0, 0, 1, 1]]))
    finally:
        done.set()
        t.join(5)


def test_plain_call_sets_the_level_of_its_own_thread():
    seen = {}

    def worker():
        losskit.checks("off")
        seen["worker"] = losskit.check_level()
        with losskit.checks("full"):
            seen["worker_block"] = losskit.check_level()
        seen["worker_after"] = losskit.check_level()

    t = threading.Thread(target=worker)
    t.start()
    t.join(5)
    assert seen == {"worker": "off", "worker_block": "full", "worker_after": "off"}
    assert losskit.check_level() == "auto"  # the main thread never saw it


def test_invalid_values_are_refused():
    with pytest.raises(ValueError, match="checks level 'strict' is not valid"):
        losskit.checks("strict")
    with pytest.raises(ValueError, match="impl 'cuda' is not valid"):
        losskit.impl("cuda")


def test_compiled_function_re_traces_when_impl_changes():
    import torch._dynamo.testing

    torch._dynamo.reset()
    counter = torch._dynamo.testing.CompileCounter()
    fn = torch.compile(lambda x, y: LF.cross_entropy(x, y), backend=counter, fullgraph=True)
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    fn(x, y)
    fn(x, y)
    assert counter.frame_count == 1
    with losskit.impl("torch"):
        fn(x, y)
    assert counter.frame_count == 2  # guarded: the choice of implementation is part of the trace
    torch._dynamo.reset()
