"""`roto farm template --openjd`: an Open Job Description job template with one step per project.

Open Job Description (https://github.com/OpenJobDescription/openjd-specifications) is the job format of AWS
Deadline Cloud, and `openjd run` runs a template locally. Each step runs `roto render` on one project; the unit is
the project, not a frame range, because SAM2 propagates through the range in order (docs/farm.md). The template
is written as JSON, which OpenJD reads as well as YAML, so no YAML library is needed.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from roto.cli.common import add_command, emit
from roto.cli.export import FORMATS
from roto.errors import RotoError

OPENJD_VERSION = "jobtemplate-2023-09"


def step_name(folder: Path, taken: set[str]) -> str:
    """The project's name as an OpenJD step name (unique, at most 64 characters, no control characters)."""
    base = re.sub(r"[^\w.-]", "_", folder.stem)[:56] or "project"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}-{number}", number + 1
    taken.add(name)
    return name


def openjd_template(projects: list[Path], model: str, fmt: str, roto: str) -> dict[str, Any]:
    """The job: parameters Roto (the executable), Model, Format and OutputDir; one step per project that renders
    it into OutputDir/<project name>."""
    taken: set[str] = set()
    steps = []
    for folder in projects:
        name = step_name(folder, taken)
        args = ["render", str(folder.absolute()), "--out", "{{Param.OutputDir}}/" + name]
        args += ["--format", "{{Param.Format}}", "--model", "{{Param.Model}}"]
        steps.append(
            {"name": name, "script": {"actions": {"onRun": {"command": "{{Param.Roto}}", "args": args}}}}
        )
    return {
        "specificationVersion": OPENJD_VERSION,
        "name": "Roto render",
        "parameterDefinitions": [
            {"name": "Roto", "type": "STRING", "default": roto, "description": "the roto executable"},
            {
                "name": "Model",
                "type": "STRING",
                "default": model,
                "minLength": 0,
                "description": "installed bundle name or folder (empty: the first installed)",
            },
            {"name": "Format", "type": "STRING", "default": fmt, "allowedValues": list(FORMATS)},
            {"name": "OutputDir", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT"},
        ],
        "steps": steps,
    }


def cmd_farm_template(args: argparse.Namespace) -> int:
    if not args.openjd:
        raise RotoError("name the template format: --openjd (the only one so far)")
    projects = [Path(p) for p in args.projects]
    for folder in projects:
        if not (folder / "project.json").is_file():
            raise RotoError(f"{folder}: not a Roto project folder (no project.json in it)")
    template = openjd_template(projects, args.model or "", args.format, args.roto)
    out = Path(args.output)
    try:
        out.write_text(json.dumps(template, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RotoError(f"{out}: cannot write the template ({exc.strerror or exc})") from None
    emit(args, {"template": str(out), "steps": len(projects)}, f"wrote {out}: {len(projects)} step(s)")
    return 0


def register(sub: Any) -> None:
    farm = sub.add_parser("farm", help="render-farm job templates", description="render-farm job templates")
    farm_sub = farm.add_subparsers(dest="farm_command", metavar="COMMAND", required=True)
    parser = add_command(
        farm_sub,
        "template",
        "write a job template with one `roto render` step per project",
        cmd_farm_template,
    )
    parser.add_argument("projects", nargs="+", metavar="PROJECT.roto", help="project folders")
    parser.add_argument("--openjd", action="store_true", help="Open Job Description (AWS Deadline Cloud)")
    parser.add_argument(
        "-o", "--output", default="roto-job.json", metavar="FILE", help="default: roto-job.json"
    )
    parser.add_argument("--model", default="", help="the Model parameter's default (empty: first installed)")
    parser.add_argument(
        "--format", default="exr", choices=tuple(FORMATS), help="the Format parameter's default"
    )
    parser.add_argument("--roto", default="roto", metavar="PATH", help="the Roto parameter's default")
