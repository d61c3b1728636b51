"""Top-level dispatch of the `roto` command (the GUI itself is not started here)."""

from __future__ import annotations

import argparse

import pytest

from roto import cli


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    calls: list[str | None] = []

    def fake_gui(args: argparse.Namespace) -> int:
        calls.append(args.media)
        return 0

    monkeypatch.setattr(cli, "cmd_gui", fake_gui)
    return calls


def test_bare_roto_opens_the_editor(opened: list[str | None]) -> None:
    assert cli.main([]) == 0
    assert opened == [None]


def test_roto_with_a_path_opens_it_in_the_editor(opened: list[str | None]) -> None:
    assert cli.main(["shot.mov"]) == 0
    assert cli.main(["gui", "other.mov"]) == 0
    assert opened == ["shot.mov", "other.mov"]


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in cli.COMMANDS:
        with pytest.raises(SystemExit) as stop:
            cli.main([command, "--help"])
        assert stop.value.code == 0
        assert "usage: roto" in capsys.readouterr().out
