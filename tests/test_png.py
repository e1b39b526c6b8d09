"""report/png.py: slides written as PNG by zlib alone hold exactly the pixels matplotlib drew,
as PIL reads them back (the oracle: matplotlib's own PNG writer, through PIL)."""

from __future__ import annotations

import io

import numpy as np
import PIL.Image
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reformsim.report.figures import save_figure
from reformsim.report.png import PngCanvas, write_png
from reformsim.report.style import DPI


def _read(data: bytes) -> PIL.Image.Image:
    image = PIL.Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("opaque", [True, False], ids=["opaque", "translucent"])
def test_write_png_round_trips_through_pil(opaque):
    rgba = np.random.default_rng(3).integers(0, 256, (37, 53, 4), dtype=np.uint8)
    if opaque:
        rgba[..., 3] = 255
    out = io.BytesIO()
    write_png(out, rgba, 144, {"Software": "test", "Title": "Zürich"})
    image = _read(out.getvalue())
    assert image.mode == ("RGB" if opaque else "RGBA")
    assert image.size == (53, 37)
    np.testing.assert_array_equal(np.asarray(image.convert("RGBA")), rgba)
    assert image.info["Software"] == "test" and image.info["Title"] == "Zürich"
    assert image.info["dpi"] == pytest.approx((144, 144), abs=0.01)


def _slide() -> Figure:
    fig = Figure(figsize=(40 / 3, 7.5), dpi=DPI)
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 3, 2], linewidth=2.8)
    ax.fill_between([0, 1, 2], [0, 2, 1], [2, 4, 3], alpha=0.3)
    fig.text(0.02, 0.95, "A title with ümlauts", fontsize=22)
    return fig


def test_save_figure_writes_the_pixels_matplotlib_writes(tmp_path):
    """A slide saved by save_figure (PngCanvas) and by matplotlib's own PNG writer (PIL):
    the same pixels at the same size and dpi; ours is RGB (a slide is opaque) and smaller."""
    ours = save_figure(_slide(), tmp_path / "ours.png")
    theirs = tmp_path / "theirs.png"
    FigureCanvasAgg(mpl_figure := _slide())
    mpl_figure.savefig(theirs, dpi=DPI, pil_kwargs={"compress_level": 3})
    with PIL.Image.open(ours) as a, PIL.Image.open(theirs) as b:
        assert a.mode == "RGB" and a.size == b.size == (1920, 1080)
        np.testing.assert_array_equal(np.asarray(a.convert("RGBA")),
                                      np.asarray(b.convert("RGBA")))
        assert a.info["dpi"] == b.info["dpi"] and a.info["Software"] == b.info["Software"]
    assert ours.stat().st_size < theirs.stat().st_size


def test_png_canvas_honours_savefig_dpi_and_file_objects():
    """savefig's dpi (an analysis figure is made at 100 dpi, saved at 144) and a file object."""
    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([0, 1], [0, 1])
    PngCanvas(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    assert _read(out.getvalue()).size == (576, 432)
    assert fig.dpi == 100
