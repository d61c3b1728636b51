"""Resumable, verified downloads of model files.

pooch and similar fetchers restart an interrupted download from zero; a 900 MB checkpoint over a flaky link needs
HTTP Range resume, so this small module does that with the standard library and shows progress with tqdm.
Offline, it fails within seconds with a message that says what to fetch by hand and how to import it.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from roto.engine.bundle import sha256_file
from roto.errors import ModelError

CONNECT_TIMEOUT_S = 10.0
CHUNK = 1 << 20


def download(
    url: str,
    dest: Path,
    sha256: str | None = None,
    manual_hint: str = "",
    progress: bool = True,
    opener: Callable[..., Any] | None = None,
    on_block: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Fetch `url` to `dest`, resuming `dest.part` if present; verify `sha256` when known; return `dest`.

    `on_block(bytes so far, total or None)` is called as blocks arrive; raising from it stops the download with
    the part file kept, so the next attempt resumes.
    """
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    opener = opener or urllib.request.urlopen
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        response = opener(request, timeout=CONNECT_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the part file is already complete
            part.replace(dest)
            return _verified(dest, sha256, url)
        raise ModelError(
            f"cannot download {url}: HTTP {exc.code} {exc.reason}. {manual_hint}".strip()
        ) from exc
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        raise ModelError(f"cannot reach {url} (offline?): {exc}. {manual_hint}".strip()) from exc
    with response as stream:
        status = getattr(stream, "status", 200)
        if offset and status != 206:  # server ignored Range: start over
            offset = 0
        length = stream.headers.get("Content-Length")
        total = offset + int(length) if length else None
        mode = "ab" if offset else "wb"
        try:
            with (
                part.open(mode) as out,
                tqdm(
                    total=total,
                    initial=offset,
                    unit="B",
                    unit_scale=True,
                    desc=dest.name,
                    disable=not progress,
                ) as bar,
            ):
                done = offset
                for block in iter(lambda: stream.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
                    done += len(block)
                    if on_block is not None:
                        on_block(done, total)
        except (TimeoutError, OSError) as exc:
            raise ModelError(
                f"download of {url} was interrupted ({exc}); run the same command again to resume. {manual_hint}".strip()
            ) from exc
    part.replace(dest)
    return _verified(dest, sha256, url)


def _verified(path: Path, sha256: str | None, url: str) -> Path:
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            bad = path.with_name(path.name + ".corrupt")
            path.replace(bad)
            raise ModelError(
                f"{url}: downloaded file's SHA-256 {actual} does not match {sha256}; moved it to {bad}"
            )
    return path
