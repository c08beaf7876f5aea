"""A run folder is never lost and no output is written through a link.

Failed and concurrent resumes keep the interrupted run; checkpoints survive a full disk while the
next one is written; the data a run started on is checked when it resumes; outputs are made under
private temporary names and never replace an existing target unless asked to.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from faults_helpers import MAF, checkpoint_epoch, interrupted_run, listing

from tfp_arch.cli.main import main


def _csv(path, rows=120, shift=0.0):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, 2)) + shift
    path.write_text("a,b\n" + "".join(f"{a:.6f},{b:.6f}\n" for a, b in values))
    return path


def _one_error_line(result):
    lines = result.output.strip().splitlines()
    assert lines and lines[-1].startswith("Error:"), result.output
    assert "Traceback" not in result.output
    return lines[-1]


@pytest.fixture
def csv_run(tmp_path, monkeypatch):
    """An interrupted maf run on a CSV file, with a checkpoint of epoch 1."""
    monkeypatch.chdir(tmp_path)
    data = _csv(tmp_path / "data.csv")
    staging = interrupted_run(monkeypatch, tmp_path / "run", f"csv:{data}")
    return tmp_path, data, staging


@pytest.mark.slow
def test_resume_refuses_changed_contents_and_keeps_the_run(csv_run):
    root, data, staging = csv_run
    text = data.read_text()
    data.write_text(text.replace("0", "1", 1))
    assert len(data.read_text()) == len(text)
    before = listing(root)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "changed contents" in line and "--allow-changed-data" in line
    assert listing(root) == before and checkpoint_epoch(staging) == 1


@pytest.mark.slow
def test_resume_refuses_moved_data_and_keeps_the_run(csv_run):
    root, data, staging = csv_run
    data.rename(root / "elsewhere.csv")
    before = listing(root)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert result.exit_code == 1 and "is gone" in _one_error_line(result)
    assert listing(root) == before


@pytest.mark.slow
def test_resume_on_data_with_other_columns_keeps_the_run_when_allowed_to_try(csv_run):
    root, data, staging = csv_run
    data.write_text("a,b,c\n" + "".join(f"{i},{i},{i}\n" for i in range(50)))
    before = listing(root)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging), "--allow-changed-data"])
    assert result.exit_code == 1, result.output
    _one_error_line(result)
    assert listing(root) == before and checkpoint_epoch(staging) == 1


@pytest.mark.slow
def test_allow_changed_data_resumes_on_new_rows(csv_run):
    root, data, staging = csv_run
    _csv(data, rows=130)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging), "--allow-changed-data"])
    assert result.exit_code == 0, result.output
    assert (root / "run" / "model.keras").is_file() and not staging.exists()


@pytest.mark.slow
def test_touching_the_data_is_not_a_change(csv_run):
    root, data, staging = csv_run
    os.utime(data, (1, 1))
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_plugin_allow_list_that_drops_the_architecture_keeps_the_run(csv_run, monkeypatch):
    root, _, staging = csv_run
    before = listing(root)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)], env={"TFP_ARCH_PLUGINS": "none"})
    assert result.exit_code == 1, result.output
    _one_error_line(result)
    assert listing(root) == before


@pytest.mark.slow
def test_a_second_resume_of_a_busy_run_gets_one_line_and_changes_nothing(csv_run):
    root, _, staging = csv_run
    holder = os.open(staging / ".lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        before = listing(root)
        result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
        assert result.exit_code == 1
        assert "busy" in _one_error_line(result)
        argv = ["train", "maf", "--data", "synthetic:two_moons#n=100", "--output", str(root / "run")]
        again = CliRunner().invoke(main, argv)
        assert again.exit_code == 1 and "busy" in _one_error_line(again)
        assert listing(root) == before
    finally:
        os.close(holder)


def test_ctrl_c_while_a_resume_starts_keeps_the_run(csv_run, monkeypatch):
    root, _, staging = csv_run
    import tfp_arch.runs.training

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt()

    before = listing(root)
    monkeypatch.setattr(tfp_arch.runs.training, "make_strategy", interrupted)
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert result.exit_code == 130
    assert listing(root) == before and checkpoint_epoch(staging) == 1


@pytest.mark.slow
def test_a_full_disk_at_the_second_checkpoint_keeps_the_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from tfp_arch.plugins.maf import MaskedAutoregressiveFlowModel as MafModel

    calls = {"n": 0}
    original = MafModel.save_weights

    def full(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            with open(path, "wb") as handle:
                handle.write(b"half a file")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(MafModel, "save_weights", full)
    result = CliRunner().invoke(main, ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "3", *MAF,
                                       "--checkpoint-every", "1", "--output", "run"])
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "No space left on device" in line and "--resume" in line
    staging = tmp_path / "run.partial"
    assert checkpoint_epoch(staging) == 1
    assert sorted(p.name for p in staging.iterdir()) == [".lock", "checkpoint", "request.json"]
    monkeypatch.setattr(MafModel, "save_weights", original)
    resumed = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["resumed_from_epoch"] == 1


@pytest.mark.slow
def test_a_full_disk_at_the_final_save_keeps_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import tfp_arch.runs.training

    def full(model, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(tfp_arch.runs.training, "save_model", full)
    result = CliRunner().invoke(main, ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "2", *MAF,
                                       "--checkpoint-every", "1", "--output", "run"])
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "No space left" in line and "train --resume" in line
    assert checkpoint_epoch(tmp_path / "run.partial") == 2
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_an_interrupted_checkpoint_swap_is_completed_on_resume(csv_run):
    root, _, staging = csv_run
    old = staging / ".checkpoint.old.abc123"
    old.mkdir()
    os.replace(staging / "checkpoint", old / "item")
    result = CliRunner().invoke(main, ["train", "--resume", str(staging)])
    assert result.exit_code == 0, result.output
    assert json.loads((root / "run" / "config.json").read_text())["resumed_from_epoch"] == 1


def test_checkpoint_files_are_swapped_in_as_one_folder(tmp_path):
    from tfp_arch.safe_files import publish_folder

    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "a").write_text("old")
    fresh = tmp_path / ".checkpoint.new.1"
    fresh.mkdir()
    (fresh / "a").write_text("new")
    publish_folder(fresh, tmp_path / "checkpoint", overwrite=True)
    assert (tmp_path / "checkpoint" / "a").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


@pytest.fixture(scope="module")
def maf_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("maf")
    result = CliRunner().invoke(main, ["train", "maf", "--data", "synthetic:two_moons#n=200", "--epochs", "1", *MAF,
                                       "--output", str(root / "run")])
    assert result.exit_code == 0, result.output
    return root / "run"


@pytest.mark.slow
def test_sample_never_writes_through_a_link_planted_at_the_old_temporary_name(maf_run, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".s.npy.partial.npy").symlink_to(victim)
    argv = ["sample", str(maf_run), "-n", "5", "--seed", "1", "--output", str(tmp_path / "s.npy")]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert np.load(tmp_path / "s.npy").shape == (5, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".s.npy.partial.npy", "s.npy", "victim.txt"]


@pytest.mark.slow
def test_sample_refuses_an_existing_output_unless_asked_to_overwrite(maf_run, tmp_path):
    target = tmp_path / "s.npy"
    target.write_text("mine")
    refused = CliRunner().invoke(main, ["sample", str(maf_run), "-n", "3", "--output", str(target)])
    assert refused.exit_code == 2 and "--overwrite" in _one_error_line(refused)
    assert target.read_text() == "mine"
    done = CliRunner().invoke(main, ["sample", str(maf_run), "-n", "3", "--output", str(target), "--overwrite"])
    assert done.exit_code == 0 and np.load(target).shape == (3, 2)


def test_sample_overwrite_replaces_a_link_not_its_target(maf_run, tmp_path):
    victim = tmp_path / "victim.npy"
    victim.write_text("precious")
    (tmp_path / "s.npy").symlink_to(victim)
    refused = CliRunner().invoke(main, ["sample", str(maf_run), "-n", "3", "--output", str(tmp_path / "s.npy")])
    assert refused.exit_code == 2 and "symbolic link" in _one_error_line(refused)
    argv = ["sample", str(maf_run), "-n", "3", "--output", str(tmp_path / "s.npy"), "--overwrite"]
    done = CliRunner().invoke(main, argv)
    assert done.exit_code == 0
    assert victim.read_text() == "precious" and not (tmp_path / "s.npy").is_symlink()


@pytest.mark.slow
def test_train_overwrite_replaces_a_finished_run_only_at_the_end(maf_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("old")
    argv = ["train", "maf", "--data", "synthetic:two_moons#n=100", "--epochs", "1", *MAF, "--output", "run"]
    refused = CliRunner().invoke(main, argv)
    assert refused.exit_code == 2 and "--overwrite" in _one_error_line(refused)
    done = CliRunner().invoke(main, [*argv, "--overwrite"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "run" / "model.keras").is_file() and not (tmp_path / "run" / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


@pytest.mark.slow
def test_write_file_does_not_follow_a_link_at_the_target(tmp_path):
    from tfp_arch.safe_files import write_file

    victim = tmp_path / "victim"
    victim.write_text("precious")
    (tmp_path / "out").symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_file(tmp_path / "out", "new")
    write_file(tmp_path / "out", "new", overwrite=True)
    assert victim.read_text() == "precious" and (tmp_path / "out").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "victim"]
