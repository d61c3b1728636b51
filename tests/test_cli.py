"""Top-level dispatch of the `roto` command (the GUI itself is not started here)."""

from __future__ import annotations

import pytest

from roto import cli, launcher


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The launcher's editor replaced by a recorder: what the `roto` executable would have opened."""
    calls: list[str | None] = []

    def fake_editor(media: str | None) -> int:
        calls.append(media)
        return 0

    monkeypatch.setattr(launcher, "open_editor", fake_editor)
    return calls


def test_bare_roto_opens_the_editor(opened: list[str | None]) -> None:
    assert launcher.main([]) == 0
    assert opened == [None]


def test_roto_with_a_path_opens_it_in_the_editor(opened: list[str | None]) -> None:
    assert launcher.main(["shot.mov"]) == 0
    assert launcher.main(["gui", "other.mov"]) == 0
    assert opened == ["shot.mov", "other.mov"]


def test_the_cli_alone_has_no_editor(capsys: pytest.CaptureFixture[str]) -> None:
    """roto.cli never imports the UI: without the launcher, asking for the editor is a clear error."""
    assert cli.main(["gui"]) == 1
    assert "run the `roto` executable" in capsys.readouterr().err


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as stop:
            cli.main([command, "--help"])
        assert stop.value.code == 0
        assert "usage: roto" in capsys.readouterr().out
