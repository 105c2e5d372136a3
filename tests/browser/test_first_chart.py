"""A fresh visitor's first chart (benchmarks/first_chart.py's measuring function, run once, no
timing asserted): it is drawn, plotly.js comes from the app itself as the partial bundle,
served as stored, kept by the browser for the next visit, and it draws every trace type the
app uses; where the bundle fails, the full plotly.js takes over."""

from __future__ import annotations

from app import plot
from benchmarks.first_chart import first_chart, local_only
from tests.browser.conftest import wait_chart

GRADIENTS = "/gradients?cell=lstm&T=200"

# Each trace type the app draws, drawn into a div of its own: the type Plotly kept (it leaves
# a type it lacks invisible) and what it painted.
DRAW_EACH = """async (types) => {
  const out = {};
  for (const type of types) {
    const gd = document.createElement('div');
    document.body.appendChild(gd);
    const trace = type === 'heatmap' ? {type, z: [[1, 2], [3, 4]]} : {type, x: [0, 1], y: [1, 2]};
    await window.Plotly.newPlot(gd, [trace], {width: 300, height: 200});
    const t = gd._fullData[0];
    out[type] = [t.type, t.visible,
                 gd.querySelectorAll('.cartesianlayer .trace path[d], .heatmaplayer image').length];
    window.Plotly.purge(gd);
    gd.remove();
  }
  return out;
}"""


def test_a_fresh_visitor_gets_the_first_chart_from_the_app_itself(browser, server):
    # a view no run has drawn yet: the chart component loads plotly.js itself
    out = first_chart(browser, server + GRADIENTS + "&seed=101")
    fresh, again = out["fresh"], out["again"]
    for visit in (fresh, again):
        assert "chart" in visit["marks"] and "page" in visit["marks"], visit["marks"]
        assert not visit["exception"]
        assert not local_only(visit["requests"]), local_only(visit["requests"])
    [js] = fresh["plotly"]  # one plotly.js, the partial bundle, from this server
    assert js["name"].startswith(server + "/component/")
    assert js["name"].endswith(plot.BUNDLE_URL.removeprefix("."))
    assert js["status"] == 200
    # served as stored: gzipped once on disk, never again in Python per request
    assert js["headers"]["content-type"] == "application/gzip"
    assert "content-encoding" not in js["headers"]
    assert js["encoded"] == (plot.STATIC / plot.BUNDLE).stat().st_size
    # the second visitor of that view gets its first paint (app/first_paint.py): plotly.js
    # once, from the first paint's route, gzip on the wire, kept for good
    [js] = again["plotly"]
    assert "/unrolled/plotly-cartesian-" in js["name"], again["plotly"]
    assert js["headers"]["content-encoding"] == "gzip"
    assert "immutable" in js["headers"]["cache-control"]
    assert again["marks"]["chart"] < again["marks"]["page"]
    assert not any(u.endswith("/" + plot.PLOTLY_JS) for u in fresh["requests"] + again["requests"])


def test_a_returning_visitor_downloads_no_plotly_js(browser, server):
    for view in (GRADIENTS + "&seed=102", "/scan?T=33"):
        first_chart(browser, server + view, second=False)  # drawn once: a first paint now
        out = first_chart(browser, server + view)
        [js], [js_again] = out["fresh"]["plotly"], out["again"]["plotly"]
        assert js_again["name"] == js["name"] and js_again["transfer"] == 0, view
        # the first paint draws before Streamlit's own title shows
        assert out["fresh"]["marks"]["chart"] < out["fresh"]["marks"]["title"], view


def test_the_bundle_draws_every_trace_type_the_app_uses(page):
    page.goto(page.base + "/hidden?T=20&hidden=4")
    wait_chart(page)
    assert page.evaluate("() => Plotly.version") == plot.PLOTLY_VERSION
    registered = set(page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces)"))
    assert registered == plot.BUNDLE_TRACES
    drawn = page.evaluate(DRAW_EACH, ["scatter", "bar", "heatmap"])
    for kind, (kept, visible, painted) in drawn.items():
        assert (kept, visible) == (kind, True) and painted > 0, (kind, drawn)
    assert not any(u.endswith("/" + plot.PLOTLY_JS) for u in page.requests)


def test_a_failing_bundle_falls_back_to_the_full_plotly_js(page):
    page.context.route("**/" + plot.BUNDLE + "*", lambda route: route.fulfill(status=404))
    page.goto(page.base + "/hidden?T=21&hidden=4")  # a view not drawn yet: no first paint
    wait_chart(page)
    assert page.locator(".unrolled-plot-error:not([hidden])").count() == 0
    # the full build: it has trace types the bundle lacks
    assert page.evaluate("() => 'scatter3d' in Plotly.PlotSchema.get().traces")
    assert any(u.endswith("/" + plot.PLOTLY_JS) for u in page.requests)
