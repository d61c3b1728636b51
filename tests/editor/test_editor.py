"""The editor's rules without a window: clicks, candidates, edits, runs, on the test bundle through SyncEngine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from roto.cli import main
from roto.editor.documents import Document
from roto.editor.editor import Editor
from roto.editor.engine import EditorEngine, SyncEngine
from roto.editor.propagation import Direction
from roto.editor.requests import EngineInfo
from roto.engine.bundle import load_bundle
from roto.engine.embeddings import EmbeddingCache
from roto.engine.service import EngineService
from roto.media import open_media
from roto.project import Box, MaskOrigin, load_project
from tests.conftest import CLIP_FRAMES, TEST_BUNDLE


@dataclasses.dataclass
class Session:
    editor: Editor
    sync: SyncEngine
    statuses: list[str]
    errors: list[tuple[str, str]]

    @property
    def doc(self) -> Document:
        assert self.editor.state.document is not None
        return self.editor.state.document

    def masks(self) -> dict[int, MaskOrigin]:
        obj = self.doc.shot.object(self.editor.state.object_id or 0)
        return {frame: entry.origin for frame, entry in obj.masks.items()}


@pytest.fixture(scope="module")
def service(test_bundle_path: Path) -> Iterator[EngineService]:
    yield EngineService.open(load_bundle(test_bundle_path), cache=EmbeddingCache(256 << 20))


def _session(service: EngineService, doc: Document) -> Session:
    sync = SyncEngine(EditorEngine(service))
    editor = Editor(sync)
    sync.on_mask, sync.on_propagated, sync.on_done = (
        editor.on_mask,
        editor.on_propagated,
        editor.on_propagation_done,
    )
    statuses: list[str] = []
    errors: list[tuple[str, str]] = []
    editor.state.status.connect(statuses.append)
    editor.state.error.connect(errors.append)
    editor.state.engine = EngineInfo("test", "CPUExecutionProvider", True)
    editor.set_document(doc)
    return Session(editor, sync, statuses, errors)


@pytest.fixture
def session(service: EngineService, small_clip: Path) -> Iterator[Session]:
    made = _session(service, Document.from_media(open_media(small_clip)))
    yield made
    made.editor.set_document(None)


def test_a_click_waits_for_its_mask_and_lands_with_it_as_one_step(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    pending: list[object] = []
    state.pending.connect(pending.append)
    editor.add_point(50, 50, 1)
    assert pending == [state.target] and session.masks() == {}  # drawn as pending, not in the document yet
    session.sync.run_pending()
    assert session.masks() == {0: MaskOrigin.PROMPTED}
    assert session.doc.stack.undo_label == "Add point"
    assert state.candidates is not None and len(state.candidates.masks) == 3  # one click: SAM2's candidates
    editor.undo()
    assert session.masks() == {} and not session.doc.shot.object(1).prompts


def test_candidates_cycle_until_the_click_is_edited(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    assert state.candidates is not None
    first = state.candidates.masks
    editor.next_candidate()
    mask = session.doc.project.get_mask("shot-1", 1, 0)
    assert state.candidates is not None and state.candidates.index == 1
    assert mask is not None and np.array_equal(mask, first[1])
    editor.add_point(80, 40, 0)  # a second prompt: the model answers with one mask, the candidates retire
    session.sync.run_pending()
    assert state.candidates is None


def test_latest_click_wins(session: Session) -> None:
    editor = session.editor
    editor.add_point(50, 50, 1)
    editor.add_point(60, 50, 1)
    session.sync.run_pending()  # only the latest request per target is answered
    assert len(session.sync.asked) == 2 and len(session.doc.shot.object(1).prompts[0].points) == 2
    assert session.doc.stack.undo_label == "Add point" and session.doc.stack.can_undo
    editor.undo()
    assert not session.doc.shot.object(1).prompts  # both clicks waited for one answer: one step


def test_edits_wait_while_a_run_owns_the_document(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    request = editor.propagate(Direction.FORWARD)
    assert request is not None and state.busy
    editor.add_object()
    editor.stroke([(10, 10)], 5, False)
    assert len(session.doc.shot.objects) == 1 and "Propagating" in session.statuses[-1]
    session.sync.run_pending()
    assert not state.busy
    assert session.masks() == {0: MaskOrigin.PROMPTED} | dict.fromkeys(
        range(1, CLIP_FRAMES), MaskOrigin.PROPAGATED
    )
    assert "done: 12 frames" in session.statuses[-1]
    editor.undo()  # the whole run is one step
    assert session.masks() == {0: MaskOrigin.PROMPTED}


def test_a_cancelled_run_keeps_its_frames_and_the_playhead_follows(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    editor.propagate(Direction.FORWARD)
    session.sync.run_pending(stop_after=4)
    assert sorted(session.masks()) == [0, 1, 2, 3] and not state.busy
    assert "cancelled" in session.statuses[-1]
    assert state.frame == 3  # it followed the run


def test_objects_keep_unique_names_and_strokes_are_hand_edits(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    editor.add_object()
    assert [o.name for o in session.doc.shot.objects] == ["Object 1", "Object 2"] and state.object_id == 2
    assert not editor.update_object(2, name="Object 1")
    assert session.errors and "Object 1" in session.errors[-1][1]
    editor.stroke([(20, 20), (60, 20)], 6, erase=False)
    assert session.masks() == {0: MaskOrigin.EDITED}
    editor.stroke([(0, 0), (159, 95)], 500, erase=True)  # erased to nothing: "the object is absent here"
    assert session.masks() == {0: MaskOrigin.EDITED}
    assert not session.doc.project.get_mask("shot-1", 2, 0).any()
    editor.undo()
    editor.delete_object(2)
    assert state.object_id == 1  # the current object stays valid


def test_shot_frames_that_do_not_start_at_zero_read_the_right_media_frames(
    service: EngineService, small_clip: Path
) -> None:
    """A shot whose first frame is 100: timeline position 5 is media frame 5 and shot frame 105."""
    doc = Document.from_media(open_media(small_clip))
    doc.shot.first_frame = 100
    made = _session(service, doc)
    editor, state = made.editor, made.editor.state
    state.frame = 5
    editor.add_point(50, 50, 1)
    made.sync.run_pending()
    asked = made.sync.asked[-1]
    assert asked.target.frame == 105 and asked.prompts.frame == 5
    mask = doc.project.get_mask(doc.shot.id, 1, 105)
    direct = service.predict(doc.media, 5, np.array([[50, 50]], np.float32), np.array([1], np.int32))
    order = np.argsort(-direct.scores)
    assert mask is not None and np.array_equal(mask, direct.mask(int(order[0])))
    editor.propagate(Direction.BOTH)
    made.sync.run_pending()
    assert sorted(doc.shot.object(1).masks) == list(range(100, 100 + CLIP_FRAMES))
    editor.set_document(None)


def test_roto_track_and_the_editor_give_identical_masks(
    service: EngineService, small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same prompts (two objects, first prompted on different frames) tracked by `roto track` and by the
    editor's Propagate Both Ways from the first frame: every tracked mask is the same."""
    project_path = tmp_path / "cli.roto"
    code = main(
        [
            "track", str(small_clip), "--out", str(tmp_path / "out"), "--model", str(TEST_BUNDLE),
            "--object", "square", "--point", "0:50,50", "--point", "0:120,80:0",
            "--object", "late", "--box", "4:40,20,110,80",
            "--format", "png8", "--save-project", str(project_path), "--provider", "cpu",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    cli = load_project(project_path).shots[0]

    made = _session(service, Document.from_media(open_media(small_clip)))
    editor, state = made.editor, made.editor.state
    editor.add_point(50, 50, 1)
    editor.add_point(120, 80, 0)
    made.sync.run_pending()
    editor.add_object()
    state.frame = 4
    editor.add_box(40, 20, 110, 80)
    made.sync.run_pending()
    state.frame = 0
    state.selection = (1, 2)
    editor.propagate(Direction.BOTH)
    made.sync.run_pending()

    doc = made.doc
    for cli_obj, obj in zip(cli.objects, doc.shot.objects, strict=True):
        tracked = sorted(f for f, entry in obj.masks.items() if entry.origin == MaskOrigin.PROPAGATED)
        assert tracked == sorted(f for f, e in cli_obj.masks.items() if e.origin == MaskOrigin.PROPAGATED)
        assert len(tracked) == CLIP_FRAMES - 1
        for frame in tracked:
            assert obj.masks[frame].digest == cli_obj.masks[frame].digest, (obj.name, frame)
    editor.set_document(None)


def test_jumps_between_the_current_objects_prompted_frames(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    for frame in (2, 7):
        state.frame = frame
        editor.add_point(50, 50, 1)
        session.sync.run_pending()
    state.frame = 0
    editor.jump_to_prompt(1)
    assert state.frame == 2
    editor.jump_to_prompt(1)
    assert state.frame == 7
    editor.jump_to_prompt(1)
    assert state.frame == 7 and "no prompted frame after" in session.statuses[-1]
    editor.jump_to_prompt(-1)
    assert state.frame == 2


def test_a_stroke_is_its_frames_prompt_and_sticks_through_propagation(session: Session) -> None:
    """A painted frame keeps its paint when a run crosses it, and the frames after it follow the paint."""
    editor, state, doc = session.editor, session.editor.state, session.doc

    def mask(frame: int) -> np.ndarray:
        found = doc.project.get_mask(doc.shot.id, 1, frame)
        assert found is not None
        return np.array(found)

    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    editor.propagate(Direction.FORWARD)
    session.sync.run_pending()
    unpainted = [mask(f) for f in range(CLIP_FRAMES)]
    state.frame = 4
    editor.stroke([(100, 20), (140, 70)], 12, erase=False)
    painted = mask(4)
    state.frame = 0
    request = editor.propagate(Direction.FORWARD)
    assert request is not None
    (obj,) = request.objects
    assert [(f.frame, f.mask is not None) for f in obj.frames] == [(0, False), (4, True)]
    session.sync.run_pending()
    assert session.masks()[4] == MaskOrigin.EDITED and np.array_equal(mask(4), painted)
    assert all(not np.array_equal(mask(f), unpainted[f]) for f in range(5, CLIP_FRAMES))

    # Painted alone, with no click anywhere: the stroke is enough to track from.
    editor.add_object()
    state.frame = 4  # the run moved the playhead along
    editor.stroke([(40, 40), (60, 50)], 10, erase=False)
    editor.propagate(Direction.FORWARD)
    session.sync.run_pending()
    second = doc.shot.object(2).masks
    assert second[4].origin == MaskOrigin.EDITED
    assert sorted(f for f, e in second.items() if e.origin == MaskOrigin.PROPAGATED) == list(
        range(5, CLIP_FRAMES)
    )

    # Erased to nothing on frame 8: a prompt that the object is absent there, kept empty by the next run.
    state.frame = 8
    editor.stroke([(0, 0), (159, 95)], 500, erase=True)
    state.frame = 4
    request = editor.propagate(Direction.FORWARD)
    assert request is not None and [f.frame for f in request.objects[0].frames] == [4, 8]
    session.sync.run_pending()
    assert second[8].origin == MaskOrigin.EDITED and not doc.project.get_mask(doc.shot.id, 2, 8).any()


def test_a_box_offers_candidates_and_moves_in_one_step_with_its_new_mask(
    session: Session, service: EngineService
) -> None:
    editor, state, doc = session.editor, session.editor.state, session.doc
    editor.add_box(20, 20, 90, 80)
    session.sync.run_pending()
    assert state.candidates is not None and len(state.candidates.masks) == 3  # SAM2's multimask for a box
    editor.next_candidate()
    assert "candidate 2 of 3" in session.statuses[-1]

    editor.move_box(0, 40, 10, 120, 70)  # moved and resized on the canvas
    session.sync.run_pending()
    assert doc.shot.object(1).prompts[0].boxes == [Box(40, 10, 120, 70)]
    assert doc.stack.undo_label == "Move box"
    direct = service.predict(doc.media, 0, box=np.array([40, 10, 120, 70], np.float32))
    best = int(np.argmax(direct.scores))
    assert np.array_equal(doc.project.get_mask(doc.shot.id, 1, 0), direct.mask(best))
    assert state.candidates is not None and state.candidates.index == 0  # the moved box's own candidates
    editor.undo()  # the move and its mask in one step
    assert doc.shot.object(1).prompts[0].boxes == [Box(20, 20, 90, 80)]
    assert doc.stack.undo_label == "Next mask candidate"


def test_the_in_out_range_is_an_undoable_edit_of_the_document(session: Session) -> None:
    editor, state = session.editor, session.editor.state
    assert editor.set_in_out((2, 6))
    assert state.in_out == (2, 6) and session.doc.shot.in_out == (2, 6)
    assert session.doc.stack.undo_label == "Set in/out"
    assert editor.set_in_out((0, CLIP_FRAMES - 1)) and session.doc.shot.in_out is None  # whole shot: no range
    editor.undo()
    assert state.in_out == (2, 6)
    state.frame = 2
    editor.add_point(50, 50, 1)
    session.sync.run_pending()
    assert editor.propagate(Direction.FORWARD) is not None
    assert not editor.set_in_out((1, 3)) and state.in_out == (2, 6)  # a run owns the document
    session.sync.run_pending()
