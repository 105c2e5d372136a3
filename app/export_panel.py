"""The "Export" popover under a chart: offline HTML, a PNG of one frame, a GIF of the animation.

Cheap on an ordinary rerun: only the closed popover is drawn, its widgets only while it is
open. The bytes are built when a button is pressed, offered for download in that same run,
and dropped at the next rerun (nothing held in the session, so a download never belongs to
older settings).
"""

from __future__ import annotations

import re

import streamlit as st

from app import export

GIF_SIZES = {"800 × 450": (800, 450), "640 × 360": (640, 360), "1280 × 720": (1280, 720)}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "figure"


def _frame_labels(fig: dict) -> list[str]:
    """Each frame as the slider shows it ("t = 12"), or its name."""
    frames = fig.get("frames") or []
    names = [str(f.get("name", i)) for i, f in enumerate(frames)]
    sliders = (fig.get("layout") or {}).get("sliders") or []
    if sliders:
        steps = sliders[0].get("steps") or []
        prefix = (sliders[0].get("currentvalue") or {}).get("prefix", "")
        by_name = {export.frame_name(s.get("args")): s.get("label") for s in steps}
        return [f"{prefix}{by_name.get(n) or n}" for n in names]
    return names


def _build(what: str, fn, *args, **kwargs) -> bytes | None:
    """Run an export with a progress bar; a failure is a message, never a traceback."""
    bar = st.progress(0.0, text=f"Rendering the {what}: starting Chromium…")

    def progress(fraction: float) -> None:
        text = (f"Rendering the {what}: starting Chromium…" if fraction < 0.2
                else f"Rendering the {what}… {fraction:.0%}")
        bar.progress(fraction, text=text)

    try:
        data = fn(*args, progress=progress, **kwargs)
    except RuntimeError as exc:
        bar.empty()
        st.error(str(exc))
        return None
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        bar.empty()
        st.error(f"The {what} export failed: {type(exc).__name__}: {exc}")
        return None
    bar.progress(1.0, text=f"The {what} is ready.")
    return data


def export_panel(fig: dict, name: str, key: str | None = None, code: bool = True) -> None:
    """An "Export" popover for ``fig`` (a figure dict as the builders return it).

    ``name`` names the files (``name.html``, ``name.png``, ``name.gif``) and, unless ``key``
    is given, the widgets' keys: give each panel on a page its own. ``code``: offer the
    script and notebook that rebuild the chart (only where they do: app.code_export).
    """
    slug = _slug(name)
    key = f"export-{key or slug}"
    labels = _frame_labels(fig)
    # on_change="rerun": the panel's ten widgets are drawn only while it is open, so a
    # slider change does not send (and the browser re-render) them with every chart.
    pop = st.popover("Export", icon=":material/download:", key=f"{key}-popover",
                     on_change="rerun")
    if not pop.open:
        return
    with pop:
        st.caption("The code that rebuilds these numbers (a script and a notebook), and "
                   "files for slides: the HTML plays offline (Play button included); PNG "
                   "and GIF are drawn by Chromium.")

        if code and st.button("Python script and notebook", key=f"{key}-code",
                     icon=":material/terminal:",
                     help="The view's numbers rebuilt with Unrolled's engine: same settings, "
                          "seed and input (a trained network's weights beside them)."):
            from app import code_export, trained, ui

            s = ui.settings()
            data = code_export.bundle(s, trained.lookup(s.weights))
            st.download_button("Download unrolled_view.zip", data, file_name="unrolled_view.zip",
                               mime="application/zip", key=f"{key}-code-dl", on_click="ignore",
                               type="primary")

        if st.button("Build HTML", key=f"{key}-html", icon=":material/code:"):
            with st.spinner("Embedding plotly.js…"):
                data = export.to_html(fig)
            st.download_button(f"Download {slug}.html ({len(data) / 1e6:.1f} MB)", data,
                               file_name=f"{slug}.html", mime="text/html",
                               key=f"{key}-html-dl", on_click="ignore", type="primary")

        st.divider()
        frame = None
        if labels:
            frame = st.select_slider("PNG of frame", options=list(range(len(labels))),
                                     value=len(labels) - 1, format_func=labels.__getitem__,
                                     key=f"{key}-frame")
        if st.button("Render PNG (1920 × 1080)", key=f"{key}-png", icon=":material/image:"):
            data = _build("PNG", export.to_png, fig, frame=frame)
            if data:
                suffix = "" if frame is None else f"-frame{frame}"
                st.download_button("Download PNG", data, file_name=f"{slug}{suffix}.png",
                                   mime="image/png", key=f"{key}-png-dl", on_click="ignore",
                                   type="primary")

        if labels:
            st.divider()
            left, right = st.columns(2)
            size = left.selectbox("GIF size", list(GIF_SIZES), key=f"{key}-gif-size")
            fps = right.number_input("Frames per second", 1, 30, 8, key=f"{key}-gif-fps")
            shown = min(len(labels), export.GIF_MAX_FRAMES)
            if st.button(f"Render GIF ({shown} frames)", key=f"{key}-gif",
                         icon=":material/animation:"):
                width, height = GIF_SIZES[size]
                data = _build("GIF", export.to_gif, fig, fps=fps, width=width, height=height)
                if data:
                    st.download_button(f"Download GIF ({len(data) / 1e6:.1f} MB)", data,
                                       file_name=f"{slug}.gif", mime="image/gif",
                                       key=f"{key}-gif-dl", on_click="ignore",
                                       type="primary")
