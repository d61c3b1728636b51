"""`roto batch` on a local Ray of a head and two worker processes: three small projects cut from the shared
bedroom clip render as a sequential `roto render` of each does, even with a worker killed in the middle of a
task. One batch run covers both, to keep CI time small."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from roto.cli import main
from roto.cli.track import FrameBox, FramePoint, ObjectPrompts, new_project
from roto.media import open_media
from roto.project import load_project, save_project
from tests.conftest import ROOT, TEST_BUNDLE

pytest.importorskip("ray")

FRAMES, SIZE = 10, (320, 180)
OBJECTS = (
    ObjectPrompts("bed", points=(FramePoint(2, 160, 120, 1),)),
    ObjectPrompts("lamp", boxes=(FrameBox(5, 10, 10, 80, 90),)),
    ObjectPrompts("door", points=(FramePoint(0, 280, 60, 1), FramePoint(0, 250, 150, 0))),
)


def cut_clip(source: Path, start: int, path: Path) -> Path:
    """FRAMES frames of `source` from `start` on, scaled down (small tasks, real footage)."""
    with av.open(str(source)) as clip, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for index, frame in enumerate(clip.decode(video=0)):
            if index >= start + FRAMES:
                break
            if index >= start:
                out.mux(stream.encode(frame.reformat(*SIZE, format="yuv420p")))
        out.mux(stream.encode())
    return path


def make_project(clip: Path, folder: Path) -> Path:
    """A project as the editor saves one after prompting: objects and prompts, no masks yet."""
    with open_media(clip) as media:
        project, _, _ = new_project(media, list(OBJECTS))
    save_project(project, folder)
    return folder


def mattes(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.iterdir())}


def roto(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "roto", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_a_worker_mid_task(projects: list[Path], logs: Path, batch: subprocess.Popen[str]) -> Path | None:
    """SIGKILL the Ray worker rendering a project once it has saved its first object (so mid-task)."""
    deadline = time.monotonic() + 120
    while batch.poll() is None and time.monotonic() < deadline:
        for folder in projects:
            record, log = folder / "render.json", logs / f"{folder.stem}.log"
            if not (record.exists() and log.exists()):
                continue
            data = json.loads(record.read_text())
            if data["objects"] and data["export"] is None:
                pid = int(log.read_text().split(": pid ")[-1].split()[0])
                os.kill(pid, signal.SIGKILL)
                return folder
        time.sleep(0.02)
    return None


def test_batch_on_two_workers_equals_sequential_renders_even_with_a_worker_killed(
    shared_media: Path, tmp_path: Path
) -> None:
    projects, twins = [], []
    for number in range(3):
        clip = cut_clip(shared_media / "bedroom.mp4", 60 * number, tmp_path / f"clip{number}.mp4")
        projects.append(make_project(clip, tmp_path / "batch" / f"shot{number}.roto"))
        twins.append(make_project(clip, tmp_path / "sequential" / f"shot{number}.roto"))
    options = ("--format", "png8", "--model", str(TEST_BUNDLE))
    logs = tmp_path / "logs"
    batch = roto(
        "batch", *map(str, projects), "--workers", "2", "--out", str(tmp_path / "out"),
        "--logs", str(logs), "--json", *options,
    )  # fmt: skip
    killed = kill_a_worker_mid_task(projects, logs, batch)
    out, err = batch.communicate(timeout=300)
    assert batch.returncode == 0, err
    assert killed is not None, "every task ended before a worker could be killed mid-task"
    report = json.loads(out)
    assert report["failed"] == 0 and all(p["ok"] for p in report["projects"])
    assert (logs / f"{killed.stem}.log").read_text().count("--- ") == 2  # the killed attempt and its retry

    for twin in twins:
        assert main(["render", str(twin), "--out", str(tmp_path / "seq" / twin.stem), *options]) == 0
    for project, twin in zip(projects, twins, strict=True):
        expected, got = mattes(tmp_path / "seq" / twin.stem), mattes(tmp_path / "out" / project.stem)
        assert got.keys() == expected.keys() and len(got) == FRAMES * len(OBJECTS)
        assert all(np.array_equal(got[name], expected[name]) for name in expected)
        loaded = load_project(project)
        assert all(len(obj.masks) == FRAMES for obj in loaded.shots[0].objects)
