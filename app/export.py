"""Export for slides: a figure dict as offline HTML, a PNG of one frame, a GIF of the animation.

Pure functions on the figure dicts that ``app/views/*.py`` build (no Streamlit here):

* :func:`to_html` - one self-contained file, plotly.js embedded, no URL fetched; Play works.
* :func:`frame_figure` - the base figure with one animation frame applied (no frames left).
* :func:`to_png` - that (or the base figure) drawn by Chromium through kaleido.
* :func:`to_gif` - up to ``GIF_MAX_FRAMES`` frames drawn in one Chromium session, then put
  together by Pillow.

PNG and GIF need a Chromium: Debian's ``/usr/bin/chromium`` (kaleido never downloads one
here). A missing or broken browser is a ``RuntimeError`` whose message the UI shows as it is.

Sizes keep the figure's own pixel layout: the builders place the legend and the Play/slider
rows in pixels from the figure's ``layout.height``, so a figure is drawn at that height and a
width of the asked aspect ratio, then scaled to the asked size (never squeezed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import io
import math
import os
import shutil
from collections.abc import Callable

import plotly.io as pio

from app.views.common import RAIL_PX

CHROMIUM = "/usr/bin/chromium"
NO_CHROMIUM = "PNG/GIF export needs Chromium at /usr/bin/chromium (apt-get install chromium)"
GIF_MAX_FRAMES = 60
GIF_MAX_PIXELS = 1280 * 720  # per GIF frame: larger asks are scaled down (aspect kept)
RENDER_TIMEOUT_S = 60  # one frame
HTML_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}

Progress = Callable[[float], None] | None


# ---------------------------------------------------------------------------------------------
# HTML


def to_html(fig: dict, title: str | None = None, auto_play: bool = False) -> bytes:
    """A self-contained HTML page: plotly.js inlined, frames added, Plotly's own Play button.

    Nothing is fetched from a URL (no CDN script, no MathJax, no web font), so the file plays
    from a USB stick on a lectern PC without network. ``auto_play=False``: the speaker presses
    Play.
    """
    page = pio.to_html(fig, include_plotlyjs=True, full_html=True, validate=False,
                       auto_play=auto_play, config=HTML_CONFIG)
    name = title or ((fig.get("layout") or {}).get("title") or {}).get("text") or "Unrolled"
    page = page.replace("<head>", f"<head>\n    <title>{html.escape(name)}</title>", 1)
    return page.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# One frame as a figure


def _merge(base, update):
    """plotly.js's frame semantics: dicts merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for key, value in update.items():
            out[key] = _merge(base.get(key), value)
        return out
    return update


def frame_name(args) -> str | None:
    """The frame a slider step animates to (``args = [[name], {...}]``)."""
    if args and isinstance(args[0], list | tuple) and len(args[0]) == 1:
        return str(args[0][0])
    if args and isinstance(args[0], str):
        return args[0]
    return None


def frame_figure(fig: dict, index: int) -> dict:
    """The base figure with frame ``index``'s data applied to the traces it names.

    A frame without ``traces`` updates traces 0, 1, ... in order; a frame's ``layout`` merges
    into the layout; a ``baseframe`` is applied first. Sliders point at the frame (``active``)
    so their current-value label shows its step. The result has no frames. Arrays are shared
    with ``fig``, never changed in place.
    """
    frames = fig.get("frames") or []
    if not frames:
        raise IndexError("this figure has no animation frames")
    index = range(len(frames))[index]  # negative indices count from the end; IndexError
    by_name = {str(f.get("name")): f for f in frames if f.get("name") is not None}

    data = list(fig.get("data") or [])
    layout = dict(fig.get("layout") or {})

    def apply(frame: dict, depth: int = 0) -> None:
        nonlocal layout
        base = frame.get("baseframe")
        if base is not None and str(base) in by_name and depth < 8:
            apply(by_name[str(base)], depth + 1)
        updates = frame.get("data") or []
        targets = frame.get("traces")
        if targets is None:
            targets = range(len(updates))
        for i, update in zip(targets, updates, strict=False):
            if 0 <= i < len(data):
                data[i] = _merge(data[i], update)
        if frame.get("layout"):
            layout = _merge(layout, frame["layout"])

    frame = frames[index]
    apply(frame)
    name = str(frame.get("name", index))
    sliders = []
    for slider in layout.get("sliders") or []:
        steps = slider.get("steps") or []
        names = [frame_name(step.get("args")) for step in steps]
        if name in names:
            slider = {**slider, "active": names.index(name)}
        elif len(steps) == len(frames):
            slider = {**slider, "active": index}
        sliders.append(slider)
    if sliders:
        layout["sliders"] = sliders
    return {"data": data, "layout": layout}


def frame_count(fig: dict) -> int:
    return len(fig.get("frames") or [])


def pick_frames(n: int, max_frames: int) -> list[int]:
    """At most ``max_frames`` frame indices, evenly spread, first and last included."""
    if n <= 0:
        return []
    if n <= max_frames:
        return list(range(n))
    if max_frames <= 1:
        return [n - 1]
    return sorted({round(k * (n - 1) / (max_frames - 1)) for k in range(max_frames)})


def _static(fig: dict) -> dict:
    """A figure for an image: no frames, no Play/Pause buttons and no step slider (dead
    controls on a slide). The slider's current value stays as plain text where it stood,
    and the slider's rail row leaves the figure."""
    layout = dict(fig.get("layout") or {})
    layout.pop("updatemenus", None)
    annotations = list(layout.get("annotations") or [])
    for slider in layout.pop("sliders", None) or []:
        steps = slider.get("steps") or []
        current = slider.get("currentvalue") or {}
        if steps and current.get("visible", True):
            step = steps[min(max(int(slider.get("active", 0)), 0), len(steps) - 1)]
            annotations.append({"xref": "paper", "yref": "paper", "x": 1, "y": slider["y"],
                                "xanchor": "right", "yanchor": "top", "showarrow": False,
                                "text": f"{current.get('prefix', '')}{step.get('label', '')}",
                                "font": current.get("font") or {"size": 16}})
        margin = dict(layout.get("margin") or {})
        if margin.get("b", 0) >= RAIL_PX and "height" in layout:
            margin["b"] -= RAIL_PX
            layout["margin"], layout["height"] = margin, layout["height"] - RAIL_PX
    if annotations:
        layout["annotations"] = annotations
    return {"data": fig.get("data") or [], "layout": layout}


# ---------------------------------------------------------------------------------------------
# Chromium through kaleido


def chromium_path() -> str:
    """The browser kaleido drives: ``$BROWSER_PATH``, else Debian's, else one on ``PATH``.

    Sets ``BROWSER_PATH`` (read by kaleido 1.x's choreographer) when it was unset, so kaleido
    never looks for a Chrome of its own. Raises ``RuntimeError(NO_CHROMIUM)`` if none.
    """
    path = os.environ.get("BROWSER_PATH")
    if path:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise RuntimeError(f"{NO_CHROMIUM}; BROWSER_PATH={path!r} is not an executable file")
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        path = CHROMIUM
    else:
        path = next((p for p in map(shutil.which, ("chromium", "chromium-browser"))
                     if p), None)
    if not path:
        raise RuntimeError(NO_CHROMIUM)
    os.environ["BROWSER_PATH"] = path
    return path


def _run(coro):
    """Run a coroutine to the end from sync code (in a worker thread if a loop is running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _report(progress: Progress, fraction: float) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, float(fraction))))


async def _render_async(figs: list[dict], opts: dict, progress: Progress,
                        span: tuple[float, float]) -> list[bytes]:
    path = chromium_path()
    import kaleido  # imported late: ~1 s, and only exports need it

    lo, hi = span
    _report(progress, lo)
    k = None
    try:
        k = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT_S, mathjax=False, path=path)
        await k.open()
    except Exception as exc:  # noqa: BLE001 - any launch failure reads the same to the user
        if k is not None:
            with contextlib.suppress(Exception):
                await k.close()
        raise RuntimeError(f"{NO_CHROMIUM}; starting {path} failed: "
                           f"{type(exc).__name__}: {exc}") from exc
    start = lo + 0.25 * (hi - lo)  # the browser's start is the slow quarter of the work
    _report(progress, start)
    out = []
    try:
        render = await _fast_renderer(k)
        for i, fig in enumerate(figs):
            try:
                out.append(await asyncio.wait_for(render(fig, opts), RENDER_TIMEOUT_S))
            except Exception as exc:  # noqa: BLE001 - a plotly.js error or a time-out
                raise RuntimeError(f"Chromium could not draw the figure: "
                                   f"{type(exc).__name__}: {exc}") from exc
            _report(progress, start + (hi - start) * (i + 1) / len(figs))
    finally:
        await k.close()
    return out


async def _fast_renderer(k):
    """One kaleido tab kept for every frame.

    ``Kaleido.calc_fig`` reloads its tab (and so re-parses 4.6 MB of plotly.js) after each
    image: 0.5 s a frame on two cores against 0.07 s when the tab is reused. The reuse goes
    through kaleido 1.5's private tab API (pinned in requirements.txt); if that is not there,
    the public ``calc_fig`` does the same work, slower.
    """
    try:
        from kaleido import _profiler
        from kaleido._utils import fig_tools

        tab = await k._get_kaleido_tab()
        tab._calc_fig  # noqa: B018 - present in this kaleido?
    except (ImportError, AttributeError):
        return k.calc_fig

    async def render(fig, opts):
        spec = fig_tools.coerce_for_js(fig, None, opts)
        prof = _profiler.RenderTaskProfile(spec, None, tab.tab.target_id)
        return await tab._calc_fig(spec, topojson=None, render_prof=prof, stepper=False)

    return render


def _layout_size(fig: dict, width: int, height: int, scale: float) -> tuple[dict, tuple]:
    """kaleido options that keep the figure's own height, and the image size they give."""
    h0 = int((fig.get("layout") or {}).get("height") or height)
    w0 = max(1, round(h0 * width / height))
    factor = height * scale / h0
    return ({"format": "png", "width": w0, "height": h0, "scale": factor},
            (round(width * scale), round(height * scale)))


def _fit(png: bytes, size: tuple[int, int]):
    """The image as RGB at exactly ``size`` (plotly.js may round a pixel off)."""
    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    if img.size != size:
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


class _Indexer:
    """RGB images to "P" images on one palette (768 ints), each colour to its nearest entry.

    A 2**24 lookup table remembers the colours seen: frames of one animation share almost
    all of theirs, so after the first frame only a handful need the distance search.
    """

    def __init__(self, palette: list[int]):
        import numpy as np

        self.palette = palette
        self.pal = np.asarray(palette, dtype=np.int32).reshape(256, 3)
        self.lut = np.zeros(1 << 24, dtype=np.uint8)
        self.known = np.zeros(1 << 24, dtype=bool)

    def __call__(self, img):
        import numpy as np
        from PIL import Image

        rgb = np.asarray(img, dtype=np.uint32).reshape(-1, 3)
        packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
        new = np.unique(packed[~self.known[packed]])
        for lo in range(0, len(new), 4096):  # bounded memory: 4096 x 256 distances a time
            chunk = new[lo:lo + 4096].astype(np.int32)
            uniq = np.stack([chunk >> 16, (chunk >> 8) & 255, chunk & 255], axis=1)
            d = ((uniq[:, None, :] - self.pal[None, :, :]) ** 2).sum(axis=2)
            self.lut[chunk] = d.argmin(axis=1)
        self.known[new] = True
        out = Image.fromarray(self.lut[packed].reshape(img.size[1], img.size[0]), "P")
        out.putpalette(self.palette)
        return out


def to_png(fig: dict, frame: int | None = None, width: int = 1280, height: int = 720,
           scale: float = 1.5, progress: Progress = None) -> bytes:
    """A PNG of the base figure (``frame=None``) or of animation frame ``frame``.

    The image is ``width*scale`` x ``height*scale`` pixels (default 1920x1080 for a slide).
    """
    if width <= 0 or height <= 0 or scale <= 0:
        raise ValueError("width, height and scale must be positive")
    src = frame_figure(fig, frame) if frame is not None else fig
    opts, size = _layout_size(src, width, height, scale)
    (png,) = _run(_render_async([_static(src)], opts, progress, (0.0, 0.95)))
    img = _fit(png, size)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    _report(progress, 1.0)
    return buf.getvalue()


def gif_size(width: int, height: int) -> tuple[int, int]:
    """The asked GIF size, scaled down (aspect kept) to at most ``GIF_MAX_PIXELS``."""
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    shrink = min(1.0, math.sqrt(GIF_MAX_PIXELS / (width * height)))
    return max(16, int(width * shrink)), max(16, int(height * shrink))


def to_gif(fig: dict, fps: float = 8, max_frames: int = GIF_MAX_FRAMES, width: int = 800,
           height: int = 450, progress: Progress = None, hold_last_s: float = 1.5) -> bytes:
    """An endlessly looping GIF of the animation (a one-frame GIF if it has no frames).

    At most ``min(max_frames, GIF_MAX_FRAMES)`` frames, evenly picked with the last one in,
    all drawn in one Chromium session; the last frame stays ``hold_last_s`` longer. One
    palette for all frames (from the first, middle and last) so colours never flicker.
    ``progress(fraction)`` goes from 0 to 1.0.
    """
    from PIL import Image

    width, height = gif_size(width, height)
    max_frames = max(1, min(int(max_frames), GIF_MAX_FRAMES))
    n = frame_count(fig)
    figs = ([_static(frame_figure(fig, i)) for i in pick_frames(n, max_frames)] if n
            else [_static(fig)])
    opts, size = _layout_size(figs[0], width, height, 1.0)
    pngs = _run(_render_async(figs, opts, progress, (0.0, 0.9)))
    images = [_fit(png, size) for png in pngs]

    samples = [images[0], images[len(images) // 2], images[-1]]
    montage = Image.new("RGB", (size[0], size[1] * len(samples)), "white")
    for k, img in enumerate(samples):
        montage.paste(img, (0, k * size[1]))
    palette = montage.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    # Median cut averages its boxes, so the paper's white could come out grey: the 256th
    # entry is pure white, and every colour maps to its exactly nearest entry (Pillow's own
    # mapping goes through a coarse colour cache and turns white into (252, 252, 253)).
    entries = list(palette.getpalette() or [])[: 255 * 3]
    entries += [0] * (255 * 3 - len(entries)) + [255, 255, 255]
    indexed = _Indexer(entries)
    frames = [indexed(img) for img in images]
    _report(progress, 0.95)

    step_ms = max(20, round(1000 / max(fps, 0.1)))
    durations = [step_ms] * len(frames)
    durations[-1] += round(hold_last_s * 1000)
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:],
                   duration=durations, loop=0, disposal=1, optimize=False)
    _report(progress, 1.0)
    return buf.getvalue()
