"""Your model (issue 15): a state_dict uploaded in the sidebar opens on the explore pages,
drawn from the engine's numbers for exactly those weights; a pickled module is refused
with how to save a state_dict, and nothing the visitor set is lost."""

import numpy as np
import torch

from app import compute
from app.state import Settings
from engine import Network
from engine.signals import loss_seed
from tests.browser.conftest import ARTIFACTS, wait_chart, wait_idle

FILE_INPUT = "[data-testid='stSidebar'] input[type='file']"


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Module()
        self.encoder.lstm = torch.nn.LSTM(1, 12, num_layers=2)
        self.fc = torch.nn.Linear(12, 3)


def test_an_uploaded_state_dict_opens_on_the_gradients_page(page, tmp_path):
    torch.manual_seed(0)
    sd = Tagger().state_dict()
    good, bad = tmp_path / "tagger.pt", tmp_path / "pickled.pt"
    torch.save(sd, good)
    torch.save(torch.nn.GRU(2, 3), bad)
    page.goto(f"{page.base}/gradients?T=40")
    wait_chart(page)
    page.get_by_text("Your model (.pt state_dict)").click()
    page.locator(FILE_INPUT).set_input_files(str(bad))
    page.get_by_text("holds a pickled module").wait_for(timeout=30_000)
    assert page.get_by_text("torch.save(model.state_dict()").count() >= 1
    page.locator(FILE_INPUT).set_input_files(str(good))
    page.get_by_text("encoder.lstm: LSTM, input 1, hidden 12, 2 layers").wait_for(timeout=30_000)
    assert page.get_by_text("Read-out beside it: fc").count() == 1
    page.get_by_role("button", name="Open it on the pages").click()
    page.get_by_text("Your network: your LSTM (tagger.pt)").wait_for(timeout=60_000)
    wait_idle(page)
    assert "weights=" in page.url and "T=40" in page.url  # the link holds it; T kept
    assert page.locator("[data-testid='stException']").count() == 0
    drawn = page.evaluate("() => document.querySelector('.st-key-grad_norms .js-plotly-plot')"
                          ".data[0].y")
    net = Network.from_state_dict({k: v.double() for k, v in sd.items()})
    x, _ = compute.signal_for(Settings(T=40))
    trace = net.run(x)
    want = trace.backward(loss_seed(trace.output.shape, "last")).hidden_norm[0, 0]
    np.testing.assert_allclose(np.array(drawn, dtype=float), want, rtol=1e-5)
    page.screenshot(path=str(ARTIFACTS / "your_model.png"))
    # its read-out's outputs on the Hidden state page: fc of the LSTM's output, every step
    page.locator("[data-testid='stSidebarNav']").get_by_text("Hidden state").click()
    page.locator(".st-key-hidden_outputs .js-plotly-plot").wait_for(timeout=60_000)
    wait_idle(page)
    outputs = page.evaluate("() => document.querySelector('.st-key-hidden_outputs "
                            ".js-plotly-plot').data.map(d => d.y)")
    model = Tagger()
    model.load_state_dict(sd)
    with torch.no_grad():
        y = model.fc(model.encoder.lstm(torch.tensor(x, dtype=torch.float32))[0]).numpy()
    for k in range(3):
        np.testing.assert_allclose(np.array(outputs[k], dtype=float), y[:, k], atol=6e-4)
