"""Propose Objects' bar over the canvas: the job's progress and Cancel, then how many proposals are picked, with
Add and Dismiss. It shows `EditorState.proposing` and `.proposals` and forwards its buttons to the editor."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from roto.editor.editor import Editor


class ProposalBar(QWidget):
    """Hidden unless objects are being proposed or proposals wait to be picked."""

    def __init__(self, editor: Editor) -> None:
        super().__init__()
        self.setObjectName("proposal_bar")
        self.setStyleSheet("#proposal_bar { background: #23415a; }")
        self.state = editor.state
        self.text = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.add_button = QPushButton()
        self.add_button.setToolTip("Each picked proposal becomes a new object with that mask on this frame")
        self.add_button.clicked.connect(editor.add_proposed_objects)
        self.close_button = QPushButton()
        self.close_button.clicked.connect(editor.dismiss_proposals)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 10, 4)
        row.addWidget(self.text, 1)
        for widget in (self.progress, self.add_button, self.close_button):
            row.addWidget(widget)
        self.state.connect("proposing", lambda _job: self._show())
        self.state.connect("proposals", lambda _picker: self._show())
        self._show()

    def _show(self) -> None:
        job, picker = self.state.proposing, self.state.proposals
        self.setVisible(job is not None or picker is not None)
        self.progress.setVisible(job is not None)
        self.add_button.setVisible(picker is not None)
        if job is not None:
            self.text.setText("Cancelling…" if job.cancelling else "Proposing objects on this frame…")
            self.progress.setRange(0, max(job.total, 1))
            self.progress.setValue(job.done)
            self.progress.setFormat(f"{job.done} of {job.total} points" if job.total else "Starting…")
            self.close_button.setText("Cancel (Esc)")
            self.close_button.setEnabled(not job.cancelling)
        elif picker is not None:
            picked = len(picker.chosen)
            self.text.setText(
                f"{len(picker.proposals)} proposals, {picked} picked: click one to pick it, "
                "Shift+click to pick several"
            )
            self.add_button.setText(f"Add {picked} Object{'' if picked == 1 else 's'} (Enter)")
            self.add_button.setEnabled(picked > 0)
            self.close_button.setText("Dismiss (Esc)")
            self.close_button.setEnabled(True)
