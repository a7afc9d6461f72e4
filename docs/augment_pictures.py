"""Draws the pictures of docs/guides/augmentation.md (run from the repository root).

    python docs/augment_pictures.py    # writes docs/images/crop_faces_*.png, augment_*.png

Photos: scikit-image's ``astronaut`` (Eileen Collins, NASA; public domain), upright and turned
by 15 degrees, plus a picture of two faces side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data as photos

from keras_facegen.augment import TRANSFORMS, Augment
from keras_facegen.data import aligned_crop, detect_faces, synthetic_faces
from keras_facegen.sampling import image_grid

OUT = Path("docs/images")


def annotated(photo: np.ndarray) -> Image.Image:
    """The photo with each detected face's box (green) and eye line (red)."""
    picture = Image.fromarray(photo)
    draw = ImageDraw.Draw(picture)
    for face in detect_faces(photo):
        x, y, w, h = face.box
        draw.rectangle((x, y, x + w, y + h), outline=(0, 220, 0), width=3)
        draw.line((*face.left_eye, *face.right_eye), fill=(255, 0, 0), width=3)
    return picture


def crops_figure() -> None:
    """Before (photo, box, eye line) and after (aligned crop), upright and turned."""
    upright = photos.astronaut()
    turned = np.asarray(Image.fromarray(upright).rotate(15, resample=Image.Resampling.BICUBIC))
    for name, photo in (("upright", upright), ("turned", turned)):
        annotated(photo).resize((256, 256), Image.Resampling.LANCZOS).save(
            OUT / f"crop_faces_before_{name}.png"
        )
        crop = aligned_crop(photo, detect_faces(photo)[0], 128)
        Image.fromarray(crop).save(OUT / f"crop_faces_after_{name}.png")


def augment_figure() -> None:
    """One face through both pipelines at p = 1, and through each transform alone."""
    faces = synthetic_faces(1, resolution=64, seed=3)[0]
    batch = np.repeat(faces, 6, axis=0)
    rows = [np.repeat(faces, 6, axis=0)]
    for pipeline in ("ada", "diffaugment"):
        out = np.asarray(Augment(pipeline, p=1.0, seed=1)(batch, training=True))
        rows.append(np.clip(out, -1.0, 1.0))
    grid = image_grid(np.concatenate(rows), rows=3)
    Image.fromarray(grid).save(OUT / "augment_pipelines.png")
    singles = [
        np.clip(np.asarray(Augment([n], p=1.0, seed=2)(faces, training=True)), -1, 1)
        for n in TRANSFORMS
    ]
    Image.fromarray(image_grid(np.concatenate([faces, *singles]), rows=3)).save(
        OUT / "augment_transforms.png"
    )


if __name__ == "__main__":
    crops_figure()
    augment_figure()
    print(f"pictures written to {OUT}/")
