"""What a drawn map report shows: pixels of one colour in the middle of its PNG, or of its PDF's first page."""

import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

ISOLATED_PIPE = (0xB9, 0x1C, 0x1C)  # leader.reports: pipes shut in by the isolation


def colour_pixels(png: Path, colour=ISOLATED_PIPE, tolerance: int = 24) -> int:
    """Pixels near `colour` in the middle half of the picture (the map fits its subject there; the legend's
    swatches sit in a corner), allowing for anti-aliasing."""
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
    height, width = rgb.shape[:2]
    middle = rgb[height // 4 : height * 3 // 4, width // 4 : width * 3 // 4]
    return int((np.abs(middle - np.array(colour)).max(axis=-1) < tolerance).sum())


def pdf_first_page(pdf: Path) -> Path:
    """The PDF's first page as a PNG beside it (poppler's pdftoppm)."""
    stem = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", "-f", "1", str(pdf), str(stem)], check=True)
    return stem.with_suffix(".png")
