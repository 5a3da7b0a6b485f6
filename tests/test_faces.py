"""Face blur: OpenCV's bundled cascade finds the face of a real photo (NASA's portrait of
Eileen Collins, public domain, as scikit-image ships it), and blurring changes that
region and nothing else, pixel for pixel."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from bot.faces import blur_faces, find_faces

ASTRONAUT = Path(__file__).parent / "data" / "astronaut.png"


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def test_the_face_region_changes_and_nothing_else() -> None:
    original = ASTRONAUT.read_bytes()
    blurred = blur_faces(original)
    (face,) = blurred.faces  # one person in the photo
    x, y, w, h = face
    # The face is where the portrait has it (the upper middle of the 512×512 picture).
    assert 120 < x + w / 2 < 300 and 60 < y + h / 2 < 200
    before, after = _pixels(original), _pixels(blurred.png)
    assert before.shape == after.shape
    inside = np.zeros(before.shape[:2], dtype=bool)
    inside[y : y + h, x : x + w] = True
    # Outside the face: identical. Inside: changed a lot (not a light touch).
    assert np.array_equal(before[~inside], after[~inside])
    assert np.abs(before[inside] - after[inside]).mean() > 10
    # And the blurred copy has no face left to find.
    _, again = find_faces(blurred.png)
    assert again == ()


def test_a_photo_without_a_face_comes_back_unchanged() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(buffer, "JPEG")
    done = blur_faces(buffer.getvalue())
    assert done.faces == ()
    assert np.array_equal(_pixels(buffer.getvalue()), _pixels(done.png))
