"""Data-parallel training on CPU (gloo, 2 processes): the `trainer=ddp` CLI end to end, global-batch
alignment (`method.gather`) against one process on the concatenated batch, and the config errors.

`strategy=ddp` re-launches the command for each rank, so it runs through the CLI in a subprocess;
the numerical checks use plain `torch.distributed` (gloo) in processes started by
`torch.multiprocessing.spawn`.
"""

from __future__ import annotations

import copy
import json
import math
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from omegaconf import open_dict

from da.run.build import build_trainer, check_gather
from da.errors import ConfigError
from da.losses.base import AlignmentLoss
from da.losses.composite import WeightedSum
from da.losses.coral import CORALLoss
from da.losses.mmd import MMDLoss
from da.methods.alignment import AlignmentModule
from da.methods.distributed import gather_batch, world_size
from da.schedules import Constant
from tests.helpers import METHODS, QUICK, da_train, majority_rate, run_dirs

WORLD = 2
#: One CPU process per rank, small per-device batches (the case method.gather is for).
DDP = ["trainer=ddp", "trainer.accelerator=cpu", f"trainer.devices={WORLD}"]
#: Relative/absolute tolerance of "equal" below: float32 sums in a different order.
TOL = dict(rtol=1e-5, atol=1e-6)


# --- end to end through the CLI ------------------------------------------------------------------

@pytest.mark.slow
def test_ddp_cli_trains_on_two_cpu_processes(data_dir, tmp_path):
    # 360 source / 400 target training examples, 16 per device and step: each rank gets 180 / 200
    # (DistributedSampler), i.e. 12 / 13 batches; max_size_cycle gives 13 steps per epoch on both.
    result = da_train([*QUICK, *DDP, "trainer.max_epochs=2", "method=mmd", "method.gather=true",
                       "data.batch_size=16", "optimizer.lr=3e-3"], tmp_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = run_dirs(tmp_path)  # exactly one metrics.json: rank 0 writes it
    assert [p.parent for p in tmp_path.rglob("config.yaml") if p.parent.name != ".hydra"] == [run]
    metrics = json.loads((run / "metrics.json").read_text())
    steps_per_epoch = max(math.ceil(360 / WORLD / 16), math.ceil(400 / WORLD / 16))
    assert metrics["train/steps"] == 2 * steps_per_epoch
    # bow_electronics' 400 test examples: a constant predictor gets 0.5025 (measured: 0.6975)
    majority = majority_rate(run)
    assert metrics["test/target_acc"] >= majority + 0.1, (metrics["test/target_acc"], majority)
    assert metrics["val/source_acc"] > 0.7
    assert metrics["train/loss_align"] != 0.0
    # both ranks ran in the same run dir (rank 1 logs to train_ddp_process_1.log), same steps
    logs = {p.name: p.read_text() for p in run.glob("train*.log")}
    assert set(logs) == {"train.log", "train_ddp_process_1.log"}
    for rank, name in enumerate(("train.log", "train_ddp_process_1.log")):
        assert (f"rank {rank}/{WORLD}: {2 * steps_per_epoch} training batches, "
                f"global step {2 * steps_per_epoch}") in logs[name], logs[name][-2000:]
    assert result.stdout.count("[da] mmd-bow_dvd_to_bow_electronics-s0") == 1


@pytest.mark.slow
def test_gather_without_alignment_loss_fails_before_any_process_starts(data_dir, tmp_path):
    result = da_train([*QUICK, *DDP, "method=source_only", "method.gather=true"], tmp_path)
    assert result.returncode == 2
    assert "method.gather=true but method 'source_only' has no alignment loss" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("train_ddp_process_*.log"))  # no rank was launched


# --- numerics on 2 gloo processes ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(fn, *args) -> None:
    mp.spawn(fn, args=(_free_port(), *args), nprocs=WORLD, join=True)


def _init(rank: int, port: int) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)


def _rows(sizes: list[int], rank: int) -> slice:
    start = sum(sizes[:rank])
    return slice(start, start + sizes[rank])


def _check_gathered_loss(rank: int) -> None:
    """Gathered MMD / CORAL on 2 ranks == the loss of one process on the concatenated batch."""
    assert world_size() == WORLD
    torch.manual_seed(0)  # same global data and encoder on every rank
    d, k = 6, 3
    # uneven slices (a last, short batch): source 5 + 3 rows, target 4 + 4 rows
    src_sizes, tgt_sizes = [5, 3], [4, 4]
    x_s, x_t = torch.randn(sum(src_sizes), 10), torch.randn(sum(tgt_sizes), 10) + 0.5
    y_s = torch.randint(0, k, (sum(src_sizes),))
    enc, head = torch.nn.Linear(10, d), torch.nn.Linear(d, k)
    for loss_fn in (MMDLoss(), CORALLoss()):
        # reference: one process, whole batch
        ref_enc, ref_head = copy.deepcopy(enc), copy.deepcopy(head)
        f_s, f_t = ref_enc(x_s), ref_enc(x_t)
        f_s.retain_grad()
        ref = loss_fn(f_s=f_s, f_t=f_t, logits_s=ref_head(f_s), logits_t=ref_head(f_t),
                      y_s=y_s, progress=0.0)
        ref.backward()
        # this rank: its slice only, gathered with gradients
        my_enc, my_head = copy.deepcopy(enc), copy.deepcopy(head)
        rs, rt = _rows(src_sizes, rank), _rows(tgt_sizes, rank)
        g_s, g_t = my_enc(x_s[rs]), my_enc(x_t[rt])
        g_s.retain_grad()
        inputs = gather_batch(f_s=g_s, f_t=g_t, logits_s=my_head(g_s),
                              logits_t=my_head(g_t), y_s=y_s[rs])
        assert torch.equal(inputs["y_s"], y_s)
        torch.testing.assert_close(inputs["f_s"], f_s, **TOL)
        loss = loss_fn(**inputs, progress=0.0)
        torch.testing.assert_close(loss, ref, **TOL)  # value: the global-batch loss
        local = loss_fn(f_s=g_s, f_t=g_t, progress=0.0)  # what each rank had without gather
        assert not torch.allclose(local, ref, rtol=1e-3)
        loss.backward()
        # each rank's rows get the sum over ranks of the (identical) losses' gradients
        torch.testing.assert_close(g_s.grad, WORLD * f_s.grad[rs], **TOL)
        # and DDP's averaging of parameter gradients gives the single-process gradient
        for mine, theirs in zip(my_enc.parameters(), ref_enc.parameters()):
            dist.all_reduce(mine.grad)
            torch.testing.assert_close(mine.grad / WORLD, theirs.grad, **TOL)


def _module(alignment, gather: bool) -> AlignmentModule:
    torch.manual_seed(1)
    encoder = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.ReLU())
    encoder.out_dim = 8
    return AlignmentModule(encoder, num_classes=2, alignment=alignment,
                           align_weight=Constant(1.0), gather=gather, method="test")


def _check_training_steps(rank: int, loss_name: str, steps: int, b: int) -> None:
    """Steps of AlignmentModule on 2 ranks × batch b (gather on, gradients averaged as DDP does)
    follow the same trajectory as 1 process with batch 2b."""
    make_loss = {"mmd": MMDLoss, "coral": CORALLoss}[loss_name]
    ddp_model, ref_model = _module(make_loss(), True), _module(make_loss(), False)
    start = [p.detach().clone() for p in ddp_model.parameters()]
    opt = torch.optim.SGD(ddp_model.parameters(), lr=0.5)
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.5)
    gen = torch.Generator().manual_seed(2)
    for step in range(steps):
        x_s = torch.randn(2 * b, 12, generator=gen)
        y_s = (x_s[:, 0] > 0).long()
        x_t = torch.randn(2 * b, 12, generator=gen) * 1.5 + 0.3
        mine = slice(rank * b, (rank + 1) * b)  # this rank's half of the global batch
        opt.zero_grad()
        loss = ddp_model.training_step({"source": (x_s[mine], y_s[mine]),
                                        "target": x_t[mine]}, step)
        loss.backward()
        for p in ddp_model.parameters():  # what DDP does: average gradients over ranks
            dist.all_reduce(p.grad)
            p.grad /= WORLD
        ref_opt.zero_grad()
        ref_loss = ref_model.training_step({"source": (x_s, y_s), "target": x_t}, step)
        ref_loss.backward()
        if step == 0:
            for p, q in zip(ddp_model.parameters(), ref_model.parameters()):
                torch.testing.assert_close(p.grad, q.grad, **TOL)
        opt.step()
        ref_opt.step()
    for p, q in zip(ddp_model.parameters(), ref_model.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert any(not torch.equal(p, q) for p, q in zip(ddp_model.parameters(), start))


def _worker(rank: int, port: int) -> None:
    import warnings
    warnings.filterwarnings("ignore", message=".*self.log.*")  # training_step without a Trainer
    _init(rank, port)
    try:
        _check_gathered_loss(rank)
        for loss_name in ("mmd", "coral"):
            _check_training_steps(rank, loss_name, steps=4, b=8)
    finally:
        dist.destroy_process_group()


def test_gather_on_two_ranks_equals_one_process_on_the_global_batch():
    # One spawn for all checks (starting 2 processes that import torch + Lightning takes seconds):
    # * the gathered MMD and CORAL values equal the single-process loss on the concatenated batch
    #   (uneven slices too), and so do the gradients: rows get world_size x dL/drows, DDP-averaged
    #   parameter gradients equal the single-process ones;
    # * AlignmentModule.training_step on 2 ranks x batch 8 with gather=true, gradients averaged as
    #   DDP does, gives the single-process gradient on the batch of 16 and, over 4 SGD steps, the
    #   same weights (rtol 1e-4, atol 1e-5; float32 sums in another order).
    _spawn(_worker)


# --- bad input: errors before training -----------------------------------------------------------

class _RankLocalLoss(AlignmentLoss):
    supports_gather = False

    def forward(self, *, f_s, f_t, **kwargs):
        return (f_s.mean() - f_t.mean()) ** 2


def test_gather_needs_a_loss_that_supports_it(compose_cfg):
    cfg = compose_cfg(["method=mmd", "method.gather=true"])
    assert check_gather(cfg, MMDLoss()) is True and check_gather(cfg, CORALLoss()) is True
    for loss in (_RankLocalLoss(), WeightedSum({"mmd": MMDLoss(), "local": _RankLocalLoss()})):
        with pytest.raises(ConfigError, match=r"_RankLocalLoss .*supports_gather = False.*"
                                              r"method.gather=false"):
            check_gather(cfg, loss)
    with pytest.raises(ConfigError, match="has no alignment loss"):
        check_gather(compose_cfg(["method=source_only", "method.gather=true"]), None)
    with pytest.raises(ConfigError, match="must be true or false"):
        check_gather(compose_cfg(["method=mmd", "method.gather=sometimes"]), MMDLoss())
    assert check_gather(compose_cfg(["method=mmd"]), _RankLocalLoss()) is False  # default off


def test_every_method_with_a_loss_declares_gather_off(compose_cfg):
    for method in METHODS:
        cfg = compose_cfg([f"method={method}"])
        if cfg.method.loss is not None:
            assert cfg.method.gather is False, method


def test_gather_is_a_no_op_on_one_process():
    f = torch.randn(4, 3, requires_grad=True)
    inputs = gather_batch(f_s=f, f_t=f, logits_s=f, logits_t=f, y_s=torch.zeros(4))
    assert all(v is f for k, v in inputs.items() if k != "y_s")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a GPU-less machine")
@pytest.mark.parametrize("overrides", [["trainer=gpu"],
                                       ["trainer=ddp", "trainer.accelerator=gpu",
                                        "trainer.devices=64"]])
def test_gpu_trainer_without_gpu_is_a_config_error(compose_cfg, tmp_path, overrides):
    cfg = compose_cfg(overrides)
    with pytest.raises(ConfigError, match=r"trainer.accelerator=gpu .*No GPU is visible here"):
        build_trainer(cfg, tmp_path, loggers=[])


def test_more_devices_than_available_is_a_config_error(compose_cfg, tmp_path, monkeypatch):
    # pretend the machine has 1 GPU and ask for 4
    import lightning.fabric.accelerators.cuda as fabric_cuda
    import lightning.pytorch.accelerators.cuda as pl_cuda
    monkeypatch.setattr(fabric_cuda, "num_cuda_devices", lambda: 1)
    monkeypatch.setattr(pl_cuda, "num_cuda_devices", lambda: 1, raising=False)
    monkeypatch.setattr(pl_cuda.CUDAAccelerator, "is_available", staticmethod(lambda: True))
    cfg = compose_cfg(["trainer=ddp", "trainer.accelerator=gpu", "trainer.devices=4"])
    with pytest.raises(ConfigError, match=r"trainer.devices=4 .*machine only has"):
        build_trainer(cfg, tmp_path, loggers=[])


def test_strategy_the_platform_cannot_run_is_a_config_error(compose_cfg, tmp_path, monkeypatch):
    # ddp_fork where processes cannot fork (macOS/Windows): Lightning refuses at Trainer creation
    monkeypatch.setattr(torch.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    cfg = compose_cfg([*DDP, "trainer.strategy=ddp_fork"])
    with pytest.raises(ConfigError, match=r"trainer.strategy=ddp_fork: .*forking is not supported"):
        build_trainer(cfg, tmp_path, loggers=[])
    cfg = compose_cfg([*DDP, "trainer.strategy=no_such_strategy"])
    with pytest.raises(ConfigError, match="invalid strategy name"):
        build_trainer(cfg, tmp_path, loggers=[])


def test_ddp_config_composes(compose_cfg):
    cfg = compose_cfg(["trainer=ddp"])
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.num_nodes == 1
    with open_dict(cfg):
        assert cfg.trainer.devices == "auto"


def test_relaunching_ddp_inside_a_sweep_is_a_config_error(compose_cfg, tmp_path, monkeypatch):
    # strategy=ddp would re-run `da-train -m ...` (the whole sweep) for every extra rank
    import da.run.build
    cfg = compose_cfg(DDP)
    assert build_trainer(cfg, tmp_path, loggers=[]).world_size == WORLD  # fine in a single run
    monkeypatch.setattr(da.run.build, "_in_multirun", lambda: True)
    with pytest.raises(ConfigError, match="does not work inside a sweep"):
        build_trainer(cfg, tmp_path, loggers=[])
    build_trainer(compose_cfg([*DDP, "trainer.strategy=ddp_spawn"]), tmp_path, loggers=[])
    build_trainer(compose_cfg([*DDP, "trainer.devices=1"]), tmp_path, loggers=[])


def test_ddp_in_a_sweep_is_fine_when_slurm_started_the_ranks(compose_cfg, tmp_path, monkeypatch):
    # hydra/launcher=slurm with tasks_per_node=2: srun starts both ranks, Lightning launches none
    import da.run.build
    monkeypatch.setattr(da.run.build, "_in_multirun", lambda: True)
    for key, value in dict(SLURM_NTASKS=WORLD, SLURM_NTASKS_PER_NODE=WORLD, SLURM_PROCID=0,
                           SLURM_LOCALID=0, SLURM_NODEID=0, SLURM_JOB_NAME="train",
                           SLURM_JOB_ID=7, SLURM_NODELIST="vm").items():
        monkeypatch.setenv(key, str(value))
    trainer = build_trainer(compose_cfg(DDP), tmp_path, loggers=[])
    assert trainer.world_size == WORLD
    assert trainer.strategy.cluster_environment.creates_processes_externally
