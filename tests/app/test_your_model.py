"""An uploaded network's input: the sidebar's signal where the widths agree, else noise of
its own width, and the page says which."""

import numpy as np

from app import compute, your_model
from app.state import Settings
from engine import Network


def test_the_input_is_the_signal_or_noise_of_the_models_width():
    s = Settings(T=20, seed=4)
    same = your_model.entry_for(Network("gru", 1, 4), s, "yours")
    np.testing.assert_array_equal(same.x, compute.signal_for(s)[0])
    assert "sine signal" in same.input_note and same.label == "yours"
    other = your_model.entry_for(Network("lstm", 3, 4), s, "yours")
    assert other.x.shape == (20, 3) and "noise on its 3 input channels" in other.input_note
    assert "has 1" in other.input_note


def _tagger_entry():
    import torch

    from engine import state_dict as sdm

    torch.manual_seed(0)
    model = torch.nn.Module()
    model.rnn = torch.nn.GRU(1, 6, num_layers=2)
    model.fc = torch.nn.Linear(6, 3)
    sd = model.state_dict()
    net = Network.from_state_dict(sd)
    return your_model.entry_for(net, Settings(T=30), "your GRU", sdm.readout(sd)), model


def test_an_upload_outlives_a_restart_and_the_hidden_page_draws_its_outputs():
    import torch

    from app import runs, trained
    from tests.app.charts import figures, open_page

    entry, model = _tagger_entry()
    token = trained.keep_upload(entry)
    assert len(token) == trained.UPLOAD_TOKEN_LENGTH
    assert trained.keep_upload(entry) == token  # the same upload, the same token
    trained.registry().clear()  # the server restarted
    runs.reset()
    back = trained.lookup(token)
    assert back is not None and back.label == "your GRU" and back.input_note == entry.input_note
    np.testing.assert_array_equal(back.x, entry.x)
    for k, v in entry.network.params.items():
        np.testing.assert_array_equal(back.network.params[k], v)
    at = open_page("screens/hidden.py", {"weights": token})
    outputs = next(f for f in figures(at) if "read-out" in f["layout"].get("title", {})
                   .get("text", "") or any("y_t[0]" == d.get("name") for d in f["data"]))
    with torch.no_grad():
        out, _ = model.rnn(torch.tensor(entry.x, dtype=torch.float32))
        want = model.fc(out).numpy()
    for k in range(3):
        np.testing.assert_allclose(np.array(outputs["data"][k]["y"], dtype=float),
                                   want[:, k], atol=6e-4)  # drawn to 3 decimals
