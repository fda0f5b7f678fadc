"""AnswerReader: the fast model's answer as it streams, and when it is complete.

The answer is the editable region rewritten between its markers (docs/prompts.md). It is
complete when the region's end marker has come: ``clean_rewrite`` never reads what follows
it, so the suggestion can be made then, not after the response's closing events (which, on
the Responses API, repeat the whole text). Where the region itself holds a marker, the last
one ends the answer and only the stream's end says that it is complete.

The marker is written in several tokens (``<|``, ``editable``, ``_region``, ``_end``, ``|>``),
a millisecond or so apart at a fast model's rate. Once the answer's last characters are the
start of the marker, the reader works the suggestion out as if the rest of the marker had
come (``guess_ahead``): in idle time, before the model has finished. When the marker is
complete and the answer is the one guessed, that suggestion is the result; otherwise it is
worked out again from the answer as it came.
"""

from __future__ import annotations

from typing import Any

from sparkforge.predict.diffing import Prediction, classify
from sparkforge.predict.postprocess import clean_rewrite
from sparkforge.predict.prompt import REGION_END, REGION_START, Prompt
from sparkforge.privacy import REDACTED, unredact

MIN_MARKER_START = 2  # "<|": a lone "<" is too common in code to work ahead on


class AnswerReader:
    """One streamed answer to ``prompt`` (redacted with ``secrets``, put back when read)."""

    def __init__(self, prompt: Prompt, secrets: Any = None) -> None:
        self.prompt = prompt
        self.secrets = secrets
        self.raw: list[str] = []
        self.ends_at_marker = REGION_END not in prompt.region_text and REGION_START not in prompt.region_text
        """Whether the end marker's arrival completes the answer (not where the region holds
        a marker of its own)."""
        self._tail = ""  # the answer's last characters: a marker split across pieces is seen
        self._guess: tuple[str, Prediction] | None = None
        """An answer completed ahead (the one so far + the rest of its end marker) and the
        suggestion read from it."""
        self._rest: str | None = None
        """What of the guessed marker has not come yet; None once a piece did not fit it."""

    def feed(self, text: str) -> bool:
        """Take the next piece of the answer; True when it completes the answer."""
        self.raw.append(text)
        if self._rest is not None:
            self._rest = self._rest[len(text):] if self._rest.startswith(text) else None
        if not self.ends_at_marker:
            return False
        seen = self._tail + text
        if REGION_END in seen:
            return True
        self._tail = seen[1 - len(REGION_END):]
        return False

    def guess_ahead(self) -> bool:
        """If the answer is writing its end marker, read the answer it will be (once per
        marker: a guess is kept while the pieces since are the marker's). True if a guess was
        read now."""
        if self._rest is not None:
            return False
        begun = _marker_begun(self._tail)
        if begun < MIN_MARKER_START:
            return False
        self._rest = REGION_END[begun:]
        answer = "".join(self.raw) + self._rest
        self._guess = (answer, self._read(answer, "stop"))
        return True

    @property
    def guessed(self) -> Prediction | None:
        """The suggestion read ahead, if any (the result if the answer bears it out)."""
        return None if self._guess is None else self._guess[1]

    def prediction(self, finish: str = "stop") -> Prediction:
        """The suggestion read from the answer as it came (``finish``: the model's finish
        reason; "length" means it was cut off)."""
        answer = "".join(self.raw)
        if self._guess is not None and finish != "length":
            guessed, prediction = self._guess
            end = answer.find(REGION_END)
            if end >= 0 and answer[: end + len(REGION_END)] == guessed:
                return prediction
        return self._read(answer, finish)

    def _read(self, answer: str, finish: str) -> Prediction:
        if self.secrets:
            answer = unredact(answer, self.secrets)
        # A cut-off answer would read as deleting the rest of the region, and a marker the
        # model garbled (so that it could not be put back) as replacing a secret with it.
        garbled = REDACTED in answer and REDACTED not in self.prompt.region_text
        rewrite = clean_rewrite(answer, self.prompt) if finish != "length" and not garbled else None
        return classify(self.prompt, rewrite)


def _marker_begun(tail: str) -> int:
    """How many of the end marker's first characters ``tail`` ends with (0: none)."""
    if "<|" not in tail:
        return 0
    for k in range(min(len(tail), len(REGION_END) - 1), MIN_MARKER_START - 1, -1):
        if tail.endswith(REGION_END[:k]):
            return k
    return 0
