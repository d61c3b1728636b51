"""Throughput of `roto batch` on 1 and 2 local Ray workers against sequential `roto render` runs. Prints JSON.

N projects, each on the tests' generated 12-frame clip with two objects, are rendered from their prompts
(png8 export) four ways, each on fresh copies of the projects and a fresh embedding cache (so no way reuses
another's embeddings): `sequential` runs `roto render` once per project as a separate process (what a shell
loop or a farm without Ray does); `in_process` renders them one after another in this process (the work itself,
no start-up); `ray_1` and `ray_2` run `roto batch --workers 1|2`. `ray_init_s` is a local Ray's start up to its first
task, `overhead_per_task_s` the round trip of an empty task on a warm worker, and `ray_total_overhead_s`
ray_1 - in_process: start-up, worker imports and per-task costs together. `unit_of_work` counts the frames one project runs through the image encoder
when rendered as one task, and when its objects are rendered as separate tasks on separate machines.

    .venv/bin/python benchmarks/batch_throughput.py [--projects 6] [--model PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from roto.cli import main  # noqa: E402
from roto.cli.track import FrameBox, FramePoint, ObjectPrompts, new_project  # noqa: E402
from roto.media import open_media  # noqa: E402
from roto.project import save_project  # noqa: E402
from tests.test_cli_track import write_square_clip  # noqa: E402

TEST_BUNDLE = ROOT / "tests" / "data" / "bundles" / "sam2.1-test"
OBJECTS = [
    ObjectPrompts("square", points=(FramePoint(3, 120, 120, 1),)),
    ObjectPrompts("corner", boxes=(FrameBox(0, 0, 0, 50, 50),)),
]


def make_projects(folder: Path, count: int) -> list[Path]:
    """`count` projects over one clip, prompted and not rendered; a new embedding cache for what runs next."""
    os.environ["ROTO_CACHE_DIR"] = str(folder / "cache")
    folder.mkdir(parents=True)
    clip = write_square_clip(folder / "square.mp4")
    projects = []
    for number in range(count):
        with open_media(clip) as media:
            project, _, _ = new_project(media, OBJECTS)
        path = folder / "projects" / f"shot{number}.roto"
        save_project(project, path)
        projects.append(path)
    return projects


def render_json(*argv: str) -> dict[str, Any]:
    """`roto render ARGV --json` in this process; its summary."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["render", *argv, "--json"]) == 0
    summary: dict[str, Any] = json.loads(out.getvalue())
    return summary


def encoder_runs(folder: Path, render: list[str]) -> dict[str, int]:
    """Frames run through the image encoder for one project: rendered as one task, against one task per object
    on separate machines (a fresh embedding cache each, as a machine without the others' disk cache)."""
    [project] = make_projects(folder / "project", 1)
    whole = render_json(str(project), "--out", str(folder / "out"), *render)["frames_encoded"]
    apart = 0
    for obj in OBJECTS:
        [project] = make_projects(folder / obj.name, 1)
        out = str(folder / obj.name / "out")
        apart += render_json(str(project), "--objects", obj.name, "--out", out, *render)["frames_encoded"]
    return {"project_task": whole, "object_tasks_on_separate_machines": apart}


def ray_costs(tasks: int = 20) -> tuple[float, float]:
    """A local Ray's start (one worker), and the mean round trip of an empty task on it once warm."""
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    noop = ray.remote(lambda: None)
    ray.get(noop.remote())  # the worker process starts
    started = time.perf_counter() - start
    trips = timed(lambda: [ray.get(noop.remote()) for _ in range(tasks)])
    ray.shutdown()
    return started, trips / tasks


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main_benchmark() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=6)
    parser.add_argument("--model", default=str(TEST_BUNDLE))
    options = parser.parse_args()
    render = ["--format", "png8", "--model", options.model, "--threads", "1"]
    with tempfile.TemporaryDirectory() as temp:
        base = Path(temp)
        times: dict[str, float] = {}

        def sequential(copies: list[Path], out: Path) -> None:
            for p in copies:
                cmd = [sys.executable, "-m", "roto", "render", str(p), "--out", str(out / p.stem), *render]
                subprocess.run(cmd, check=True, capture_output=True)

        def in_process(copies: list[Path], out: Path) -> None:
            for p in copies:
                render_json(str(p), "--out", str(out / p.stem), *render)

        def ray(workers: int) -> Callable[[list[Path], Path], None]:
            def run(copies: list[Path], out: Path) -> None:
                cmd = [sys.executable, "-m", "roto", "batch", *map(str, copies), "--workers", str(workers)]
                cmd += ["--out", str(out), "--logs", str(out / "logs"), "--json", *render]
                subprocess.run(cmd, check=True, capture_output=True)

            return run

        for name, run in (
            ("sequential", sequential),
            ("in_process", in_process),
            ("ray_1", ray(1)),
            ("ray_2", ray(2)),
        ):
            folder = base / name
            copies = make_projects(folder, options.projects)
            times[name] = timed(partial(run, copies, folder / "out"))

        unit_of_work = encoder_runs(base / "unit", render)
        ray_init, task_s = ray_costs()
    count = options.projects
    emit(
        {
            "projects": count,
            "frames_per_project": 12,  # the tests' generated clip
            "objects_per_project": len(OBJECTS),
            "cpus": os.cpu_count(),
            "seconds": {k: round(v, 2) for k, v in times.items()},
            "projects_per_minute": {k: round(60 * count / v, 1) for k, v in times.items()},
            "ray_init_s": round(ray_init, 2),
            "overhead_per_task_s": round(task_s, 4),
            "ray_total_overhead_s": round(times["ray_1"] - times["in_process"], 2),
            "unit_of_work": unit_of_work,
        }
    )


if __name__ == "__main__":
    main_benchmark()
