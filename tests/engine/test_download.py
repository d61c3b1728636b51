"""Resumable, verified downloads: against a fake opener, and once against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import http.server
import io
import re
import threading
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from roto.engine.download import download
from roto.errors import ModelError

URL = "https://example.invalid/models/sam2.1_hiera_tiny.pt"
PAYLOAD = bytes(range(256)) * 40 + b"tail"  # 10244 bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _range_start(header: str | None) -> int:
    if header is None:
        return 0
    match = re.fullmatch(r"bytes=(\d+)-", header)
    assert match, f"malformed Range header {header!r}"
    return int(match.group(1))


class FakeResponse(io.BytesIO):
    """What urlopen returns, as far as download() uses it: status, headers, read(), a context manager."""

    def __init__(self, body: bytes, status: int, fail_after: int | None = None) -> None:
        super().__init__(body)
        self.status = status
        self.headers = {"Content-Length": str(len(body))}
        self.fail_after = fail_after

    def read(self, size: int | None = -1) -> bytes:
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        if self.fail_after is not None and size is not None and size > 0:
            size = min(size, self.fail_after - self.tell())
        return super().read(size)


class FakeServer:
    """A callable standing in for urllib.request.urlopen; records each request's Range header."""

    def __init__(
        self, payload: bytes = PAYLOAD, honour_range: bool = True, fail_after: int | None = None
    ) -> None:
        self.payload = payload
        self.honour_range = honour_range
        self.fail_after = fail_after
        self.ranges: list[str | None] = []
        self.served = 0

    def __call__(self, request: Any, timeout: float) -> FakeResponse:
        assert timeout > 0
        header = request.get_header("Range")
        self.ranges.append(header)
        start = _range_start(header) if self.honour_range else 0
        if start >= len(self.payload) and header is not None:
            raise urllib.error.HTTPError(request.full_url, 416, "Range Not Satisfiable", {}, None)  # type: ignore[arg-type]
        body = self.payload[start:]
        self.served += len(body)
        status = 206 if header is not None and self.honour_range else 200
        return FakeResponse(body, status, self.fail_after)


def test_fresh_download(tmp_path: Path) -> None:
    server = FakeServer()
    dest = tmp_path / "ckpt" / "model.pt"
    assert download(URL, dest, PAYLOAD_SHA, progress=False, opener=server) == dest
    assert dest.read_bytes() == PAYLOAD
    assert server.ranges == [None]
    assert not dest.with_name("model.pt.part").exists()


def test_resume_from_part_file(tmp_path: Path) -> None:
    server = FakeServer()
    dest = tmp_path / "model.pt"
    dest.with_name("model.pt.part").write_bytes(PAYLOAD[:4000])
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == ["bytes=4000-"]
    assert server.served == len(PAYLOAD) - 4000
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("model.pt.part").exists()


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path) -> None:
    server = FakeServer(honour_range=False)
    dest = tmp_path / "model.pt"
    stale = b"stale bytes that must not survive"
    dest.with_name("model.pt.part").write_bytes(stale)
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == [f"bytes={len(stale)}-"]
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_file_answered_416_is_used(tmp_path: Path) -> None:
    server = FakeServer()
    dest = tmp_path / "model.pt"
    dest.with_name("model.pt.part").write_bytes(PAYLOAD)
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == [f"bytes={len(PAYLOAD)}-"]
    assert dest.read_bytes() == PAYLOAD


def test_interrupted_download_keeps_part_and_resumes(tmp_path: Path) -> None:
    dest = tmp_path / "model.pt"
    with pytest.raises(ModelError, match=r"was interrupted .* run the same command again to resume"):
        download(URL, dest, PAYLOAD_SHA, progress=False, opener=FakeServer(fail_after=6000))
    assert dest.with_name("model.pt.part").read_bytes() == PAYLOAD[:6000]
    assert not dest.exists()
    server = FakeServer()
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == ["bytes=6000-"]
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_moves_file_aside(tmp_path: Path) -> None:
    dest = tmp_path / "model.pt"
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ModelError, match=f"does not match {wrong}") as error:
        download(URL, dest, wrong, progress=False, opener=FakeServer())
    corrupt = tmp_path / "model.pt.corrupt"
    assert str(corrupt) in str(error.value)
    assert URL in str(error.value)
    assert corrupt.read_bytes() == PAYLOAD
    assert not dest.exists()
    assert not dest.with_name("model.pt.part").exists()


@pytest.mark.parametrize("sha", [PAYLOAD_SHA, None])
def test_complete_destination_is_not_downloaded_again(tmp_path: Path, sha: str | None) -> None:
    server = FakeServer()
    dest = tmp_path / "model.pt"
    dest.write_bytes(PAYLOAD)
    assert download(URL, dest, sha, progress=False, opener=server) == dest
    assert server.ranges == []


def test_stale_destination_with_wrong_checksum_is_replaced(tmp_path: Path) -> None:
    server = FakeServer()
    dest = tmp_path / "model.pt"
    dest.write_bytes(b"an older, different file")
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == [None]
    assert dest.read_bytes() == PAYLOAD


def test_offline_fails_with_manual_hint(tmp_path: Path) -> None:
    def offline(request: Any, timeout: float) -> Any:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(ModelError, match=r"cannot reach .* \(offline\?\).*Fetch it by hand"):
        download(URL, tmp_path / "model.pt", None, "Fetch it by hand", progress=False, opener=offline)


def test_http_error_is_reported(tmp_path: Path) -> None:
    def not_found(request: Any, timeout: float) -> Any:
        raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)  # type: ignore[arg-type]

    with pytest.raises(ModelError, match=f"cannot download {URL}: HTTP 404 Not Found. Fetch it by hand"):
        download(URL, tmp_path / "model.pt", None, "Fetch it by hand", progress=False, opener=not_found)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at every path, honouring `Range: bytes=N-` as a real file server does."""

    ranges: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        start = _range_start(header)
        body = PAYLOAD[start:]
        self.send_response(206 if header else 200)
        self.send_header("Content-Length", str(len(body)))
        if header:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    _RangeHandler.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sam2.1_hiera_tiny.pt"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_real_http_server_resume(tmp_path: Path, http_url: str) -> None:
    dest = tmp_path / "model.pt"
    dest.with_name("model.pt.part").write_bytes(PAYLOAD[:1234])
    download(http_url, dest, PAYLOAD_SHA, progress=False)
    assert _RangeHandler.ranges == ["bytes=1234-"]
    assert dest.read_bytes() == PAYLOAD


def test_progress_is_reported_and_a_cancel_keeps_the_part_file_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from roto.engine import download as module
    from roto.engine.install import InstallCancelled

    monkeypatch.setattr(module, "CHUNK", 1000)
    dest = tmp_path / "model.pt"
    seen: list[tuple[int, int | None]] = []

    def stop_at_3000(done: int, total: int | None) -> None:
        seen.append((done, total))
        if done >= 3000:
            raise InstallCancelled("stopped by the user")

    with pytest.raises(InstallCancelled):
        download(URL, dest, PAYLOAD_SHA, progress=False, opener=FakeServer(), on_block=stop_at_3000)
    assert seen == [(1000, len(PAYLOAD)), (2000, len(PAYLOAD)), (3000, len(PAYLOAD))]
    assert dest.with_name("model.pt.part").read_bytes() == PAYLOAD[:3000] and not dest.exists()
    server = FakeServer()
    download(URL, dest, PAYLOAD_SHA, progress=False, opener=server)
    assert server.ranges == ["bytes=3000-"] and dest.read_bytes() == PAYLOAD
