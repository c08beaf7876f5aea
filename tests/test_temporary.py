"""Temporary folders: named after host and process, and removed by a later process once their process is gone."""

from __future__ import annotations

import os
import subprocess
import sys

from tfp_arch import temporary


def test_a_killed_process_folder_is_removed_and_a_running_one_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(temporary.tempfile, "tempdir", None)
    code = "from tfp_arch.temporary import make_folder; import os, sys; print(make_folder('stream')); sys.stdout.flush(); os._exit(0)"
    orphan = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    (open(os.path.join(orphan, "train.f32"), "wb")).close()  # what a killed process leaves behind
    mine = temporary.make_folder("worker1")
    foreign = tmp_path / f"tfp-arch-stream-pid{os.getpid() + 10**7}@another.host-abcdefgh"
    unrelated = tmp_path / "tfp-arch-stream-notours"
    foreign.mkdir()
    unrelated.mkdir()
    assert os.path.dirname(mine) == str(tmp_path) and os.path.basename(mine).startswith(f"tfp-arch-worker1-pid{os.getpid()}@")
    assert not os.path.exists(orphan), "the folder of a process that no longer runs is removed"
    assert os.path.isdir(mine) and foreign.is_dir() and unrelated.is_dir()
    assert temporary.remove_orphans(str(tmp_path)) == []
