"""Draws media/icon.png (128×128, the Marketplace icon): the sparkles of media/sparkforge.svg on a dark tile.

A development tool, run by hand when the icon changes (needs Pillow: `pip install pillow`);
the PNG is committed, so neither packaging nor CI needs it.
"""

from pathlib import Path

from PIL import Image, ImageDraw

SCALE = 8  # draw large, then shrink: smooth edges without an SVG renderer
SIZE = 128


def star(cx: float, cy: float, r: float, waist: float) -> list[tuple[float, float]]:
    """A four-pointed sparkle (the svg's paths), in 24-unit coordinates."""
    w = r * waist
    return [(cx, cy - r), (cx + w, cy - w), (cx + r, cy), (cx + w, cy + w),
            (cx, cy + r), (cx - w, cy + w), (cx - r, cy), (cx - w, cy - w)]


def main() -> None:
    unit = SIZE * SCALE / 24
    image = Image.new("RGBA", (SIZE * SCALE, SIZE * SCALE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, SIZE * SCALE - 1, SIZE * SCALE - 1), radius=5 * unit, fill="#1e1b2e")
    for (cx, cy, r, colour) in ((12, 10.8, 7.3, "#ff9f1c"), (18.2, 17.1, 2.5, "#ffd166")):
        draw.polygon([(x * unit, y * unit) for x, y in star(cx, cy, r, 0.26)], fill=colour)
    out = Path(__file__).resolve().parent.parent / "media" / "icon.png"
    image.resize((SIZE, SIZE), Image.LANCZOS).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
