"""codistill.utils.distributed in one process, and the `accelerate launch --cpu` trap."""

import numpy as np
import pytest

from codistill.errors import ConfigError
from codistill.utils import distributed


def test_single_process_is_a_world_of_one(tmp_path):
    distributed.init()
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert distributed.my_share([3, 1, 2]) == [3, 1, 2]
    assert distributed.all_gather({"a": 1}) == [{"a": 1}]
    with distributed.main_directory(tmp_path / "out") as tmp:
        (tmp / "f").write_text("x")
    assert (tmp_path / "out" / "f").read_text() == "x"


def test_a_cpu_launch_that_started_one_process_is_refused(monkeypatch):
    # what `accelerate launch --cpu --num_processes 2` leaves without mpirun: one process, no WORLD_SIZE
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(ConfigError, match="--multi_gpu --num_processes"):
        distributed.init()


def test_sharded_prediction_in_one_process_is_the_plain_one(tiny_models):
    from codistill.evaluation import predict_logits
    from codistill.models import load_classifier, load_tokenizer

    path = tiny_models("bert", num_layers=1)
    model, tok = load_classifier(path, num_labels=2), load_tokenizer(path)
    texts = ["good film", "a very bad and dull plot", "it was fine", "worst"]
    np.testing.assert_array_equal(
        predict_logits(model, tok, texts, batch_size=2, sharded=True), predict_logits(model, tok, texts, batch_size=2)
    )


def join_world_of_one(tmp_path) -> None:
    """A gloo process group of one, as a launcher would leave it."""
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)


@pytest.fixture
def world_of_one(tmp_path):
    """The group of one, torn down even if a test fails before its own shutdown, so no group leaks
    into the next test."""
    import torch.distributed as dist

    join_world_of_one(tmp_path)
    yield dist
    if dist.is_initialized():
        dist.destroy_process_group()


def test_shutdown_leaves_the_process_group(world_of_one):
    # shutdown() must tear the group down (an undestroyed gloo group can abort a rank at
    # interpreter exit), and is a no-op afterwards
    assert distributed.world_size() == 1 and world_of_one.is_initialized()
    distributed.shutdown()
    assert not world_of_one.is_initialized()
    distributed.shutdown()  # nothing left to leave
    assert distributed.world_size() == 1


def test_the_cli_leaves_the_process_group_it_joined(world_of_one):
    from codistill.cli import main

    assert main(["--help"]) == 0
    assert not world_of_one.is_initialized()


def test_joining_a_launched_group_leaves_it_at_exit(monkeypatch, tmp_path):
    # a user's own script calling distill() under `accelerate launch` has no CLI around it: the
    # group init() joins must still be left before interpreter teardown
    import atexit

    import accelerate
    import torch.distributed as dist

    hooks = []
    monkeypatch.setattr(atexit, "register", lambda fn, *a, **kw: hooks.append((fn, a, kw)))
    monkeypatch.setenv("WORLD_SIZE", "2")  # as a launcher sets it; the group below is a world of one
    monkeypatch.setattr(accelerate, "PartialState", lambda cpu: join_world_of_one(tmp_path))
    try:
        distributed.init()
        assert dist.is_initialized() and len(hooks) == 1
        fn, args, kwargs = hooks[0]
        fn(*args, **kwargs)  # what the interpreter runs at exit
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
