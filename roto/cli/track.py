"""`roto track`: prompt objects on a clip, propagate them through a frame range and export the mattes in one go.

The masks go into a Roto project as they are produced, where each is compressed at once (roto.project's
MaskStore), so RAM holds compressed masks and never a shot of pixels; export then streams them back frame by
frame, and `--save-project` saves that same project for the editor.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roto.cli.common import (
    add_command,
    add_runtime_options,
    describe_range,
    emit,
    parse_box,
    parse_point,
    progress_bar,
    resolve_model,
    runtime_options,
    split_frame,
)
from roto.cli.export import (
    add_export_options,
    check_export,
    export_spec,
    export_summary,
    refine_objects,
    run_export,
)
from roto.errors import RotoError

if TYPE_CHECKING:
    import numpy as np

    from roto.engine.propagator import VideoPropagator
    from roto.media import MediaSource
    from roto.project import Project, ProjectLock, Shot

MASK_CACHE_BYTES = 64 * 1024 * 1024  # decoded masks kept by the project while tracking and exporting
FRAME_CACHE_BYTES = 128 * 1024 * 1024  # decoded frames: propagation reads each frame about once


@dataclass(frozen=True)
class FramePoint:
    frame: int
    x: float
    y: float
    label: int


@dataclass(frozen=True)
class FrameBox:
    frame: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class ObjectPrompts:
    """One `--object NAME` and the --point/--box options that follow it."""

    name: str
    points: tuple[FramePoint, ...] = field(default=())
    boxes: tuple[FrameBox, ...] = field(default=())

    def frames(self) -> list[int]:
        return sorted({p.frame for p in self.points} | {b.frame for b in self.boxes})


def parse_frame_point(text: str) -> FramePoint:
    """FRAME:X,Y[:LABEL]."""
    form = "FRAME:X,Y or FRAME:X,Y:LABEL"
    frame, rest = split_frame(text, "point", form)
    try:
        x, y, label = parse_point(rest)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"point {text!r} is not {form}") from None
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(f"point {text!r}: LABEL is 1 (object) or 0 (background)")
    return FramePoint(frame, x, y, label)


def parse_frame_box(text: str) -> FrameBox:
    """FRAME:X0,Y0,X1,Y1."""
    form = "FRAME:X0,Y0,X1,Y1"
    frame, rest = split_frame(text, "box", form)
    try:
        return FrameBox(frame, *parse_box(rest))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"box {text!r} is not {form}") from None


class ObjectAction(argparse.Action):
    """`--object NAME` starts a new object; the --point and --box options after it belong to it."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), ObjectPrompts(str(values))])


class PromptAction(argparse.Action):
    """Adds a --point or --box to the object named last."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: Any = None
    ) -> None:
        objects: list[ObjectPrompts] = list(getattr(namespace, self.dest) or [])
        if not objects:
            parser.error(
                f"{option} {values_text(values)} comes before any --object NAME; name the object first"
            )
        last = objects[-1]
        if isinstance(values, FramePoint):
            objects[-1] = replace(last, points=(*last.points, values))
        else:
            objects[-1] = replace(last, boxes=(*last.boxes, values))
        setattr(namespace, self.dest, objects)


def values_text(value: FramePoint | FrameBox) -> str:
    if isinstance(value, FramePoint):
        return f"{value.frame}:{value.x:g},{value.y:g}:{value.label}"
    return f"{value.frame}:{value.x0:g},{value.y0:g},{value.x1:g},{value.y1:g}"


def check_prompts(objects: list[ObjectPrompts], frames: range, frame_count: int) -> None:
    """Every object named once, prompted at least once, on frames inside the range; one box per frame."""
    if not objects:
        raise RotoError(
            "give at least one --object NAME followed by its --point FRAME:X,Y or --box FRAME:X0,Y0,X1,Y1"
        )
    names = [obj.name for obj in objects]
    for obj in objects:
        if not obj.name.strip():
            raise RotoError("--object needs a name that is not empty")
        if names.count(obj.name) > 1:
            raise RotoError(
                f"object {obj.name!r} is given twice; give each --object once, with all its prompts"
            )
        if not obj.frames():
            raise RotoError(
                f"object {obj.name!r} has no prompts: add --point FRAME:X,Y or --box FRAME:X0,Y0,X1,Y1 after it"
            )
        box_frames = [box.frame for box in obj.boxes]
        twice = sorted({f for f in box_frames if box_frames.count(f) > 1})
        if twice:
            raise RotoError(
                f"object {obj.name!r} has two boxes on frame {twice[0]}; the model takes one box per frame"
            )
        for frame in obj.frames():
            if frame >= frame_count:
                raise RotoError(
                    f"object {obj.name!r}: frame {frame} is outside the clip (frames 0-{frame_count - 1})"
                )
            if frame not in frames:
                raise RotoError(
                    f"object {obj.name!r}: frame {frame} is outside --range {describe_range(frames)}; "
                    "prompt frames inside the range"
                )


def new_project(media: MediaSource, objects: list[ObjectPrompts]) -> tuple[Project, Shot, dict[str, int]]:
    """A one-shot project over the whole clip (as the editor makes one) holding the objects and their prompts."""

    from roto.project import AddObject, AddPrompt, Box, MaskStore, Point, Project, Shot, object_colour

    shot = Shot.for_media(media)
    project = Project(name=media.path.stem, shots=[shot], masks=MaskStore(MASK_CACHE_BYTES))
    ids: dict[str, int] = {}
    for index, obj in enumerate(objects):
        add = AddObject(shot.id, obj.name, object_colour(index))
        add.do(project)
        assert add.object_id is not None
        ids[obj.name] = add.object_id
        for point in obj.points:
            AddPrompt(shot.id, add.object_id, point.frame, Point(point.x, point.y, point.label)).do(project)
        for box in obj.boxes:
            AddPrompt(shot.id, add.object_id, box.frame, Box(box.x0, box.y0, box.x1, box.y1)).do(project)
    return project, shot, ids


def track(
    project: Project,
    shot: Shot,
    propagator: VideoPropagator,
    frames: range,
    on_frame: Callable[[], object],
    object_ids: Collection[int] | None = None,
) -> dict[int, int]:
    """Prompt every object (or those of `object_ids`), then propagate as the editor's Propagate Both Ways does
    with the playhead on the range's first frame (docs/ui.md, "Propagation"): each object forward from its first
    prompted frame to the range's end and backward from there to its start. Every mask lands in the project as
    it comes; returns the number of frames on which each object has a non-empty mask. SAM2 keeps each object's
    memory apart, so objects tracked in separate calls get the masks they would get together."""
    from roto.editor.propagation import Direction, add_prompts, plan_legs, prompt_sets, track_legs
    from roto.editor.requests import PropagateRequest
    from roto.project import MaskOrigin, Propagate, SetMask

    chosen = [obj for obj in shot.objects if object_ids is None or obj.id in object_ids]
    objects = prompt_sets(chosen, shot, project.masks)
    present = {obj.object_id: 0 for obj in objects}
    for obj_id, index, mask in add_prompts(propagator, objects):
        present[obj_id] += bool(mask.any())
        SetMask(shot.id, obj_id, shot.shot_frame(index), mask, MaskOrigin.PROMPTED, "Prompt").do(project)
    first, last = shot.media_index(frames.start), shot.media_index(frames.stop - 1)
    request = PropagateRequest(0, objects, plan_legs(Direction.BOTH, first, first, last, objects))

    def results() -> Iterator[tuple[int, int, np.ndarray]]:
        for index, masks in track_legs(propagator, request, lambda: False):
            for obj_id, mask in masks.items():
                present[obj_id] += bool(mask.any())
                yield obj_id, shot.shot_frame(index), mask
            on_frame()

    Propagate(shot.id, results()).do(project)
    return present


def planned_frames(
    project: Project, shot: Shot, frames: range, object_ids: Collection[int] | None = None
) -> int:
    """How many frames `track` will track (its progress bar's length)."""
    from roto.editor.propagation import Direction, plan_legs, prompt_sets

    chosen = [obj for obj in shot.objects if object_ids is None or obj.id in object_ids]
    objects = prompt_sets(chosen, shot, project.masks)
    first, last = shot.media_index(frames.start), shot.media_index(frames.stop - 1)
    return sum(leg.length for leg in plan_legs(Direction.BOTH, first, first, last, objects))


def check_save_path(path: Path, overwrite: bool) -> ProjectLock | None:
    """Refuse a --save-project that cannot work before any tracking; the lock of a project being overwritten,
    held until the save, so that another program (the editor) cannot be writing it meanwhile."""
    from roto.project import ProjectLock
    from roto.project.store import PROJECT_SUFFIX

    if path.suffix != PROJECT_SUFFIX:
        raise RotoError(f"--save-project {path}: a project folder's name must end in {PROJECT_SUFFIX}")
    if path.exists() and not overwrite:
        raise RotoError(f"--save-project {path} already exists; add --overwrite to replace it")
    place = path if path.exists() else path.parent.absolute()
    if not place.is_dir() or not os.access(place, os.W_OK):
        raise RotoError(f"--save-project {path}: {place} is not a folder this user can write")
    return ProjectLock.acquire(path, "roto track --save-project") if path.exists() else None


def cmd_track(args: argparse.Namespace) -> int:
    objects: list[ObjectPrompts] = args.objects or []
    save_path = Path(args.save_project) if args.save_project else None
    lock = check_save_path(save_path, args.overwrite) if save_path is not None else None
    with contextlib.ExitStack() as held:
        if lock is not None:
            held.enter_context(lock)
        return _track_and_export(args, objects, save_path, lock)


def _track_and_export(
    args: argparse.Namespace, objects: list[ObjectPrompts], save_path: Path | None, lock: ProjectLock | None
) -> int:
    from roto.engine.bundle import load_bundle
    from roto.engine.embeddings import EmbeddingCache
    from roto.engine.service import EngineService
    from roto.export.project_source import ProjectMatteSource
    from roto.media import open_media
    from roto.project import save_project

    save_error: RotoError | None = None
    with open_media(args.video, cache_bytes=FRAME_CACHE_BYTES) as media:
        frames = args.range or range(media.frame_count)
        if frames.stop > media.frame_count:
            raise RotoError(
                f"--range {describe_range(frames)} is outside {args.video} (frames 0-{media.frame_count - 1})"
            )
        check_prompts(objects, frames, media.frame_count)
        project, shot, ids = new_project(media, objects)
        refine_objects(args, project, shot)
        source = ProjectMatteSource(project, shot, media)
        spec = export_spec(args, frames, None)
        check_export(source, spec)  # a bad --out or format fails now, not after the tracking
        bundle = load_bundle(resolve_model(args.model))
        # embeddings persist in the user cache folder (RAM tier off: tracking reads each frame in turn), so
        # tracking the same media again with the same model re-encodes nothing the disk tier still holds
        engine = EngineService.open(bundle, runtime_options(args), EmbeddingCache.user(max_bytes=0))
        propagator = engine.video(media)
        try:
            with progress_bar(args, planned_frames(project, shot, frames), "track") as bar:
                present = track(project, shot, propagator, frames, lambda: bar.update(1))
        finally:
            propagator.close()
        if save_path is not None:
            try:
                save_project(project, save_path, lock=lock)
            except RotoError as exc:
                save_error = exc  # the tracking is not thrown away: export it, then say the save failed
        # The source built before tracking froze the document then (no masks): export the tracked one.
        result = run_export(args, ProjectMatteSource(project, shot, media), spec)
    if save_error is not None:
        raise RotoError(
            f"tracked and exported {len(result.files)} file(s) to {spec.output_dir}, "
            f"but the project was not saved: {save_error}"
        )
    summary: dict[str, Any] = {
        "video": str(args.video),
        "range": [frames.start, frames.stop - 1],
        "provider": propagator.report.provider,
        "objects": [
            {
                "name": obj.name,
                "id": ids[obj.name],
                "prompted_frames": obj.frames(),
                "frames_with_mask": present[ids[obj.name]],
            }
            for obj in objects
        ],
        "project": str(save_path) if save_path is not None else None,
        **export_summary(result, spec),
    }
    text = f"tracked {len(objects)} object(s) over frames {describe_range(frames)}; wrote {len(result.files)} file(s) to {spec.output_dir}"
    if save_path is not None:
        text += f"; saved {save_path}"
    emit(args, summary, text)
    return 0


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "track",
        "prompt objects on a video or image sequence, propagate them through the shot and export the mattes",
        cmd_track,
    )
    parser.epilog = (
        "Each --point/--box belongs to the --object named before it; FRAME is a 0-based frame index. "
        "Example: roto track clip.mp4 --object dog --point 0:320,200 --object ball --box 5:10,10,60,60 "
        "--out mattes --format png8"
    )
    parser.add_argument("video", help="a video file, an image of a numbered sequence, or a folder of images")
    parser.add_argument(
        "--object",
        dest="objects",
        action=ObjectAction,
        metavar="NAME",
        help="start a new object (repeatable)",
    )
    parser.add_argument(
        "--point",
        dest="objects",
        action=PromptAction,
        type=parse_frame_point,
        metavar="FRAME:X,Y[:LABEL]",
        help="a click on the current object: LABEL 1 marks it (default), 0 marks background",
    )
    parser.add_argument(
        "--box",
        dest="objects",
        action=PromptAction,
        type=parse_frame_box,
        metavar="FRAME:X0,Y0,X1,Y1",
        help="a box around the current object (one per frame)",
    )
    parser.add_argument("--save-project", metavar="PATH.roto", help="also save the result as a Roto project")
    add_export_options(parser)
    add_runtime_options(parser)
