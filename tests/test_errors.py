"""What a user reads when background work fails: their own error's words, or a bug summarised and logged."""

import logging

import pytest

from roto.errors import MediaError, failure_message


def test_a_roto_error_is_shown_in_its_own_words(caplog: pytest.LogCaptureFixture) -> None:
    message = failure_message(MediaError("clip.mov: frame 12 cannot be decoded"), "propagation")
    assert message == "clip.mov: frame 12 cannot be decoded"
    assert not caplog.records  # an expected failure is not a bug: nothing to log


def test_a_bug_is_summarised_and_its_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            message = failure_message(exc, "prediction")
    assert message == "Unexpected internal error: KeyError('missing'). Details are in the log."
    (record,) = caplog.records
    assert record.getMessage() == "prediction failed"
    assert record.exc_info is not None and record.exc_info[0] is KeyError
