"""Face blur for the copy of a photo used outside the company (``face_blur on``).

OpenCV's bundled frontal-face Haar cascade (it ships inside ``opencv-python-headless``:
nothing is downloaded) finds faces in a cleaned photo; each face, with a margin, is
pixelated then blurred so it cannot be recognised or restored. Everything outside the
faces is left as it was, pixel for pixel: the result is written losslessly (PNG), since
re-encoding a JPEG would change every pixel a little. It is CPU work: callers run
``blur_faces`` in a worker thread (``asyncio.to_thread``), never on the event loop.
The cleaned original is not touched; it stays for the CMs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Each detected face grows by this share on every side (hair, ears, chin).
MARGIN = 0.25
#: Faces smaller than this share of the shorter side are not looked for (noise).
MIN_FACE = 0.04
#: Pixelation: a face becomes at most this many blocks across.
BLOCKS = 6


@dataclass(frozen=True)
class Blurred:
    """The blurred copy (PNG bytes) and the face boxes found, as (x, y, w, h) in pixels
    of the image (margin included)."""

    png: bytes
    faces: tuple[tuple[int, int, int, int], ...]


@functools.cache
def _cascade() -> Any:
    import cv2

    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise RuntimeError(f"OpenCV's face cascade did not load from {path}")
    return cascade


def find_faces(data: bytes) -> tuple[np.ndarray[Any, Any], tuple[tuple[int, int, int, int], ...]]:
    """The decoded image (BGR) and its face boxes with margins, clipped to the image."""
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not an image OpenCV can decode")
    height, width = image.shape[:2]
    grey = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    smallest = max(24, int(min(width, height) * MIN_FACE))
    found = _cascade().detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    boxes = []
    for x, y, w, h in found:
        dx, dy = int(w * MARGIN), int(h * MARGIN)
        left, top = max(0, x - dx), max(0, y - dy)
        right, bottom = min(width, x + w + dx), min(height, y + h + dy)
        boxes.append((int(left), int(top), int(right - left), int(bottom - top)))
    return image, tuple(boxes)


def blur_faces(data: bytes) -> Blurred:
    """Blur every face found in ``data`` (an encoded photo); PNG out, faces listed."""
    import cv2

    image, faces = find_faces(data)
    for x, y, w, h in faces:
        region = image[y : y + h, x : x + w]
        blocks = max(1, min(BLOCKS, w, h))
        small = cv2.resize(region, (blocks, blocks), interpolation=cv2.INTER_AREA)
        pixelated = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        kernel = max(3, (min(w, h) // 2) | 1)
        image[y : y + h, x : x + w] = cv2.GaussianBlur(pixelated, (kernel, kernel), 0)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("the blurred copy could not be encoded")
    return Blurred(encoded.tobytes(), faces)
