"""`da-train -m hydra/launcher=slurm` for real: tiny CPU jobs submitted with sbatch to the local
one-node cluster that scripts/slurm_local.sh starts (skipped, with the reason, without one).

A 2 x 2 sweep, a failing job beside a good one, a job cancelled with scancel then resumed with
resume=true, and DDP over 2 srun tasks (gloo). The jobs run on this machine with this Python
(submitit runs ``sys.executable``) and the environment that sbatch exports by default.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import torch

from da.results import compare
from tests.helpers import (SWEEP_PAIR, job_dirs, multirun, slurm, slurm_unavailable,
                           start_da_train, sweep_dir, sweep_job_names)

UNAVAILABLE = slurm_unavailable()
pytestmark = [pytest.mark.slurm, pytest.mark.slow,
              pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))]
pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                    reason='needs the sweep extra: pip install -e ".[sweep]"')

#: One CPU (SLURM binds the task to it: torch runs one thread), 1 GB, 10 minutes per job.
CPU_JOB = ["hydra/launcher=slurm", "trainer=cpu", "hydra.launcher.gpus_per_node=0",
           "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
           "hydra.launcher.timeout_min=10"]


@pytest.fixture
def cpu_job():
    """CPU_JOB with a job name of this test's own; its jobs are cancelled when the test ends."""
    name = f"da-test-{uuid.uuid4().hex[:8]}"
    yield [*CPU_JOB, f"hydra.launcher.name={name}"], name
    slurm("scancel", "--name", name)


def states(job_id: str, timeout: float = 60) -> list[str]:
    """sacct's final states of a job (one per array task), e.g. ``["COMPLETED", "CANCELLED"]``.

    submitit hands back a job's result as soon as the job wrote it, while SLURM may still show
    the task RUNNING (or COMPLETING) for a moment as the process exits: wait for the end states.
    """
    deadline = time.monotonic() + timeout
    while True:
        out = slurm("sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State")
        found = [line.split()[0] for line in out.splitlines() if line]
        if not set(found) & {"PENDING", "RUNNING", "COMPLETING"} or time.monotonic() > deadline:
            return found
        time.sleep(1)


def submitit_job_ids(sweep: Path) -> set[str]:
    """The SLURM job ids of a sweep's jobs (array tasks ``<id>_<i>``): .submitit/ folder names."""
    return {p.name.split("_")[0] for p in (sweep / ".submitit").iterdir()
            if not p.name.startswith(".")}


def test_two_by_two_sweep_runs_as_a_slurm_job_array(data_dir, tmp_path, cpu_job):
    args, _ = cpu_job
    result = multirun([*args, "method=source_only,dann", "seed=0,1"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    jobs = job_dirs(sweep)
    assert [p.name for p in jobs] == sweep_job_names(("source_only", "dann"), (0, 1))
    assert len(list(sweep.rglob("metrics.json"))) == 4
    assert all(0 <= json.loads((j / "metrics.json").read_text())["test/target_acc"] <= 1
               for j in jobs)
    (job_id,) = submitit_job_ids(sweep)  # one sbatch: an array of 4 tasks
    script = (sweep / ".submitit" / job_id / f"{job_id}_submission.sh").read_text()
    assert "#SBATCH --array=0-3" in script and "#SBATCH --cpus-per-task=1" in script
    assert states(job_id) == ["COMPLETED"] * 4
    for i in range(4):  # submitit's logs: each task ran under SLURM as <id>_<i>
        log = (sweep / ".submitit" / f"{job_id}_{i}" / f"{job_id}_{i}_0_log.out").read_text()
        assert f"JobEnvironment(job_id={job_id}_{i}" in log, log[-2000:]


def test_failing_job_is_reported_by_name_and_the_other_finishes(
        data_dir, tmp_path, cpu_job, capsys):
    args, _ = cpu_job
    result = multirun([*args, "method=source_only", "data.batch_size=0,64"], tmp_path)
    assert result.returncode != 0  # Hydra re-raises the failed job's error after all jobs ran
    assert "Error executing job with overrides" in result.stderr
    assert "'data.batch_size=0'" in result.stderr  # the failed job, by its overrides
    assert "data.batch_size must be >= 1" in result.stderr
    failed, good = job_dirs(sweep_dir(tmp_path))
    assert not (failed / "metrics.json").exists() and (good / "metrics.json").is_file()
    assert states(submitit_job_ids(sweep_dir(tmp_path)).pop()) == ["COMPLETED"] * 2
    assert compare.main([str(sweep_dir(tmp_path)), "--no-plot"]) == 0
    assert f"FAILED runs (1, no metrics.json / not finished): {failed.name}" in \
        capsys.readouterr().out


def test_cancelled_job_is_reported_and_resume_true_completes_it(
        data_dir, tmp_path, cpu_job, capsys):
    args, name = cpu_job
    epochs = 20
    sweep = tmp_path / "sweep"
    sweep_args = [*args, "method=source_only", f"trainer.max_epochs={epochs}",
                  f"hydra.sweep.dir={sweep}"]
    run = start_da_train(["-m", *SWEEP_PAIR, *sweep_args], tmp_path, cwd=tmp_path)
    try:
        ckpt = wait_for_file(sweep, "last.ckpt", run, timeout=240)
        (job_id,) = slurm("squeue", "-h", "--name", name, "-o", "%i").split()
        slurm("scancel", job_id)
        _, stderr = run.communicate(timeout=180)  # submitit sees CANCELLED through sacct
    finally:
        run.kill()
    assert run.returncode != 0
    assert f"Job {job_id} " in stderr and "state: CANCELLED" in stderr, stderr[-3000:]
    assert states(job_id) == ["CANCELLED"]
    (job,) = job_dirs(sweep)
    assert not (job / "metrics.json").exists()
    stopped_at = torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)["epoch"]
    assert stopped_at < epochs - 1  # cancelled mid-run
    assert compare.main([str(sweep), "--no-plot"]) == 1  # 1: no run to put in a table
    assert f"FAILED runs (1, no metrics.json / not finished): {job.name}" in \
        capsys.readouterr().out

    result = multirun([*sweep_args, "resume=true"], tmp_path)  # the same sweep dir
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming from {ckpt}" in (job / "train.log").read_text()
    assert json.loads((job / "metrics.json").read_text())["train/epochs"] == epochs


def wait_for_file(root: Path, name: str, run, timeout: float) -> Path:
    """The first file ``name`` under ``root``, polled every 0.1 s while ``run`` is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next(root.rglob(name), None) if root.is_dir() else None
        if found:
            return found
        if run.poll() is not None:
            pytest.fail(f"da-train ended before {name} was written: {run.stderr.read()[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"no {name} under {root} after {timeout} s")


def test_ddp_over_two_srun_tasks_with_gloo(data_dir, tmp_path, cpu_job):
    # SLURM starts the 2 ranks (tasks_per_node=2, one CPU each); Lightning reads SLURM_PROCID
    args, _ = cpu_job
    result = multirun([*args, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                       "hydra.launcher.tasks_per_node=2", "trainer.max_epochs=2",
                       "method=mmd", "method.gather=true", "data.batch_size=16"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    (job,) = job_dirs(sweep)
    assert list(sweep.rglob("metrics.json")) == [job / "metrics.json"]  # rank 0 writes it
    # 360 / 400 training examples, 16 per rank and step: 13 steps per epoch on both ranks
    assert json.loads((job / "metrics.json").read_text())["train/steps"] == 26
    log = (job / "train.log").read_text()
    for rank in (0, 1):
        assert f"rank {rank}/2: 26 training batches, global step 26" in log, log[-2000:]
    (job_id,) = submitit_job_ids(sweep)
    task_logs = "".join(p.read_text() for p in (sweep / ".submitit" / job_id).glob("*_log.err"))
    assert len(list((sweep / ".submitit" / job_id).glob("*_log.err"))) == 2  # one per task
    assert "distributed_backend=gloo" in task_logs
