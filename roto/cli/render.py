"""`roto render`: track a saved project's objects from the prompts it holds, save the masks into it and export.

This is the per-project unit of work for batches and render farms (docs/farm.md). The project is locked for the
whole render. Objects are tracked one after another (the editor's rule, through `roto.cli.track.track`), and
the project is saved after each; `render.json` (roto.cli.render_record) then records what that object's masks
were made from. So a rerun with nothing changed does no model work, and a killed render resumes: objects
already recorded are not tracked again, the object that was in progress is tracked again from its prompts
(SAM2's memory of a half-done leg is not stored, so its masks could not continue identically), and the frames
it had encoded come back from the embedding disk cache instead of the encoder.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roto.cli.common import (
    add_command,
    add_runtime_options,
    describe_range,
    emit,
    progress_bar,
    resolve_model,
    runtime_options,
)
from roto.cli.export import (
    add_export_options,
    check_export,
    export_spec,
    export_summary,
    refine_objects,
    require_media,
    run_export,
)
from roto.cli.render_record import RenderRecord, digest
from roto.cli.track import FRAME_CACHE_BYTES, MASK_CACHE_BYTES, planned_frames, track
from roto.errors import RotoError

if TYPE_CHECKING:
    from roto.export import ExportSpec
    from roto.project import Project, ProjectLock, RotoObject, Shot

RENDER_KEY_VERSION = 1  # bump when the tracking rule changes, so older renders are redone


def object_key(obj: RotoObject, frames: range, model_key: str) -> str:
    """What an object's tracked masks depend on: its clicks and boxes, its painted masks, the range, the model."""
    from roto.project import MaskOrigin

    return digest(
        {
            "version": RENDER_KEY_VERSION,
            "prompts": {str(f): repr(p) for f, p in sorted(obj.prompts.items()) if not p.is_empty()},
            "painted": {
                str(f): e.digest for f, e in sorted(obj.masks.items()) if e.origin == MaskOrigin.EDITED
            },
            "range": [frames.start, frames.stop - 1],
            "model": model_key,
        }
    )


def export_key(objects: list[RotoObject], frames: range, spec: ExportSpec) -> str:
    """What the exported files depend on: each object's masks in the range as they are in the project (tracked
    here, or edited, cleared or tracked in the editor since), its matte settings and the export options."""
    return digest(
        {
            "objects": [
                {
                    "name": obj.name,
                    "matte": repr(obj.matte),
                    "masks": {str(f): e.digest for f, e in sorted(obj.masks.items()) if f in frames},
                }
                for obj in objects
            ],
            "out": str(spec.output_dir.absolute()),
            "spec": repr(replace(spec, overwrite=False)),
        }
    )


def render_range(args: argparse.Namespace, shot: Shot) -> range:
    """--range in shot frames, else the shot's in/out range (what the editor's runs keep to), else the shot."""
    if args.range is None:
        return range(shot.in_out[0], shot.in_out[1] + 1) if shot.in_out else shot.frames
    if args.range.start not in shot.frames or args.range.stop - 1 not in shot.frames:
        raise RotoError(
            f"--range {describe_range(args.range)} is outside shot {shot.id!r} "
            f"(frames {shot.frames.start}-{shot.frames.stop - 1})"
        )
    return args.range


def chosen_objects(args: argparse.Namespace, folder: Path, shot: Shot) -> list[RotoObject]:
    if not args.objects:
        return list(shot.objects)
    by_name = {obj.name: obj for obj in shot.objects}
    names = [name.strip() for name in args.objects.split(",")]
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise RotoError(
            f"{folder}: no object {unknown[0]!r} in shot {shot.id!r} (objects: {', '.join(by_name) or 'none'})"
        )
    return [by_name[name] for name in dict.fromkeys(names)]


def cmd_render(args: argparse.Namespace) -> int:
    from roto.project import ProjectLock

    folder = Path(args.project)
    if not (folder / "project.json").is_file():
        raise RotoError(f"{folder}: not a Roto project folder (no project.json in it)")
    with ProjectLock.acquire(folder, "roto render") as lock:
        return _render(args, folder, lock)


def _render(args: argparse.Namespace, folder: Path, lock: ProjectLock) -> int:
    from roto.editor.propagation import prompt_sets
    from roto.engine.bundle import load_bundle
    from roto.engine.embeddings import EmbeddingCache
    from roto.engine.service import EngineService
    from roto.export.project_source import ProjectMatteSource
    from roto.media import open_media
    from roto.project import check_media_match, load_project, save_project

    project: Project = load_project(folder, cache_bytes=MASK_CACHE_BYTES)
    if not project.shots:
        raise RotoError(f"{folder}: the project has no shot to render")
    shot = project.shot(args.shot) if args.shot else project.shots[0]
    frames = render_range(args, shot)
    objects = chosen_objects(args, folder, shot)
    refine_objects(args, project, shot)
    require_media(folder, project, shot)
    record = RenderRecord.load(folder)
    bundle = load_bundle(resolve_model(args.model))
    keys = {obj.id: object_key(obj, frames, bundle.model_key()) for obj in objects}
    # objects with clicks or painted frames; the others are left as they are
    prompted = {prompts.object_id for prompts in prompt_sets(objects, shot, project.masks)}
    todo = [obj for obj in objects if obj.id in prompted and record.objects.get(str(obj.id)) != keys[obj.id]]
    media_frames = range(shot.media_index(frames.start), shot.media_index(frames.stop - 1) + 1)
    spec = export_spec(args, media_frames, [obj.name for obj in objects])
    tracked: list[str] = []
    written: dict[str, Any] = {}
    cache: EmbeddingCache | None = None
    with open_media(shot.media, cache_bytes=FRAME_CACHE_BYTES) as media:
        check_media_match(shot, media)
        if todo or not record.export_done(
            export_key(objects, frames, spec)
        ):  # bad --out fails before tracking
            check_export(ProjectMatteSource(project, shot, media), spec)
        if todo:
            # the disk tier of the user's embedding cache is shared by every process on this machine, so a
            # resumed render, or another object of the same shot, encodes no frame twice
            cache = EmbeddingCache.user(max_bytes=0)
            engine = EngineService.open(bundle, runtime_options(args), cache)
            propagator = engine.video(media)
            ids = [obj.id for obj in todo]
            try:
                with progress_bar(args, planned_frames(project, shot, frames, ids), "render") as bar:
                    for obj in todo:
                        track(project, shot, propagator, frames, lambda: bar.update(1), [obj.id])
                        save_project(project, folder, lock=lock)
                        record.objects[str(obj.id)] = keys[obj.id]
                        record.save(folder)
                        tracked.append(obj.name)
            finally:
                propagator.close()
        key = export_key(objects, frames, spec)  # after tracking: of the masks now in the project
        if not record.export_done(key):
            result = run_export(args, ProjectMatteSource(project, shot, media), spec)
            record.export, record.files = key, [str(path) for path in result.files]
            record.save(folder)
            written = export_summary(result, spec)
    summary: dict[str, Any] = {
        "project": str(folder),
        "shot": shot.id,
        "range": [frames.start, frames.stop - 1],
        "tracked": tracked,
        "up_to_date": [obj.name for obj in objects if obj.id in prompted and obj.name not in tracked],
        "not_prompted": [obj.name for obj in objects if obj.id not in prompted],
        "exported": bool(written),
        # frames run through the image encoder, and those read back from the embedding disk cache instead
        "frames_encoded": cache.stats.misses if cache else 0,
        "frames_from_cache": cache.stats.disk_hits if cache else 0,
        "output_dir": str(spec.output_dir),
        "files": record.files,
    }
    summary.update(written)
    if not tracked and not written:
        text = f"{folder}: nothing to do, the masks and {len(record.files)} file(s) in {spec.output_dir} are up to date"
    else:
        text = (
            f"{folder}: tracked {len(tracked)} object(s) over frames {describe_range(frames)} "
            f"({len(summary['up_to_date'])} up to date); "
            + (f"wrote {len(record.files)} file(s) to {spec.output_dir}" if written else "export up to date")
        )
    emit(args, summary, text)
    return 0


def register(sub: Any) -> None:
    parser = add_command(
        sub,
        "render",
        "track a saved project's objects from its prompts, save the masks into it and export (idempotent, resumable)",
        cmd_render,
    )
    parser.add_argument("project", help="a NAME.roto project folder")
    add_export_options(parser)
    parser.add_argument("--objects", metavar="A,B", help="comma-separated object names (default: all)")
    parser.add_argument("--shot", help="shot id, for a project with several shots (default: the first)")
    add_runtime_options(parser)
