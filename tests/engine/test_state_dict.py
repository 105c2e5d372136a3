"""Your model: a network read out of any PyTorch state_dict, from its keys and shapes, equal
to torch's own module; clear messages for every file that is not one."""

import io

import numpy as np
import pytest
import torch

from engine import Network
from engine import state_dict as sdm


class Tagger(torch.nn.Module):
    """A model as people save them: an embedding, a recurrent encoder, a read-out."""

    def __init__(self, rnn):
        super().__init__()
        self.embed = torch.nn.Linear(7, rnn.input_size)  # in 7: not the read-out
        self.encoder = torch.nn.Module()
        self.encoder.lstm = rnn
        self.fc = torch.nn.Linear(rnn.hidden_size * (2 if rnn.bidirectional else 1), 5)


def _bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.mark.parametrize("module", [
    torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True),
    torch.nn.GRU(4, 5, num_layers=1),
    torch.nn.RNN(4, 3, num_layers=3, nonlinearity="relu"),
    torch.nn.GRU(4, 5, num_layers=2, bias=False),
], ids=["lstm-2-bi", "gru", "rnn-relu-3", "gru-nobias"])
def test_a_nested_module_is_found_and_equals_torch(module):
    model = Tagger(module.double()).double()
    sd = sdm.load(_bytes(model.state_dict()))
    (found,) = sdm.find(sd)
    kind = type(module).__name__.lower()
    assert (found.prefix, found.cell) == ("encoder.lstm", kind)
    assert (found.input_size, found.hidden_size, found.num_layers, found.bidirectional) == (
        module.input_size, module.hidden_size, module.num_layers, module.bidirectional)
    assert found.readout == "fc" and found.bias == module.bias
    net = Network.from_state_dict(sd, nonlinearity=getattr(module, "nonlinearity", None))
    x = np.random.default_rng(0).standard_normal((7, 2, 4))
    want, _ = module(torch.tensor(x))
    np.testing.assert_allclose(net.run(x).output, want.detach().numpy(), rtol=1e-10, atol=1e-12)
    w, b = sdm.readout(sd)  # the model's own outputs: its fc on every step's output
    np.testing.assert_allclose(net.run(x).output @ w.T + b,
                               model.fc(want).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_several_modules_need_a_choice_and_an_rnn_its_nonlinearity():
    sd = {**{f"enc.{k}": v for k, v in torch.nn.GRU(2, 3).state_dict().items()},
          **{f"dec.{k}": v for k, v in torch.nn.RNN(3, 3).state_dict().items()}}
    assert [f.prefix for f in sdm.find(sd)] == ["dec", "enc"]
    with pytest.raises(ValueError, match="several recurrent modules: dec, enc"):
        Network.from_state_dict(sd)
    assert Network.from_state_dict(sd, prefix="enc").cell_name == "gru"
    with pytest.raises(ValueError, match="nonlinearity is not in its state_dict"):
        Network.from_state_dict(sd, prefix="dec")
    assert Network.from_state_dict(sd, prefix="dec", nonlinearity="relu").activation == "relu"
    with pytest.raises(ValueError, match="no recurrent module at 'mid'"):
        Network.from_state_dict(sd, prefix="mid")


def test_shapes_that_do_not_fit_are_named():
    sd = torch.nn.LSTM(2, 4, num_layers=2).state_dict()
    sd["weight_hh_l1"] = torch.zeros(16, 5)
    with pytest.raises(ValueError, match="weight_hh_l1: \\(16, 5\\) where \\(16, 4\\) fits"):
        sdm.find(sd)
    del sd["weight_hh_l1"]
    with pytest.raises(ValueError, match="weight_hh_l1: missing"):
        sdm.find(sd)
    with pytest.raises(ValueError, match="not 1, 3 or 4 blocks"):
        sdm.find({"weight_ih_l0": torch.zeros(8, 2), "weight_hh_l0": torch.zeros(8, 4)})
    with pytest.raises(ValueError, match="proj_size"):
        sdm.find(torch.nn.LSTM(2, 4, proj_size=2).state_dict())


@pytest.mark.parametrize("data,match", [
    (b"not a torch file", "not a PyTorch file"),
    (b"x" * (sdm.MAX_BYTES + 1), "the limit is"),
    (None, "pickled module"),  # a whole module, pickled
    ("jit", "TorchScript"),
    (_bytes({"step": 3}), "holds no tensors"),
    (_bytes([1, 2]), "expected a state_dict"),
], ids=["garbage", "too-large", "pickled", "torchscript", "no-tensors", "a-list"])
def test_files_that_are_not_a_state_dict_are_refused_with_how_to_save_one(data, match):
    if data is None:
        data = _bytes(torch.nn.GRU(2, 3))
    elif data == "jit":
        buf = io.BytesIO()
        torch.jit.save(torch.jit.script(torch.nn.GRU(2, 3)), buf)
        data = buf.getvalue()
    with pytest.raises(ValueError, match=match):
        sdm.load(data)


def test_no_recurrent_weights_and_the_labs_download_format():
    with pytest.raises(ValueError, match="no recurrent weights found"):
        Network.from_state_dict(torch.nn.Linear(2, 3).state_dict())
    sd = sdm.load(_bytes({"config": {"cell": "gru"}, "state_dict": Tagger(
        torch.nn.GRU(2, 3)).state_dict()}))
    assert sdm.choose(sd).label == "encoder.lstm: GRU, input 2, hidden 3, 1 layer"


def _rezip(data: bytes) -> bytes:
    """The same torch archive, deflated (torch stores its entries uncompressed)."""
    import zipfile

    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
    return out.getvalue()


def test_small_files_that_would_take_the_server_down_are_refused():
    import time

    sd = torch.nn.GRU(2, 3).state_dict()
    start = time.perf_counter()
    with pytest.raises(ValueError, match="layers 1000000001 is more than"):
        sdm.find({**sd, "weight_hh_l1000000000": torch.zeros(9, 3)})
    assert time.perf_counter() - start < 1.0
    bomb = _rezip(_bytes({"weight": torch.zeros(20_000_000)}))  # 80 MB unpacked
    assert len(bomb) < sdm.MAX_BYTES
    with pytest.raises(ValueError, match="unpacks to"):
        sdm.load(bomb)
    expanded = _bytes({"weight_ih_l0": torch.zeros(1).expand(3000, 3000)})
    assert len(expanded) < 100_000
    with pytest.raises(ValueError, match="numbers; the limit is"):
        sdm.load(expanded)
    sparse = _bytes({"weight_ih_l0": torch.zeros(3, 2).to_sparse()})
    with pytest.raises(ValueError, match="dense floating-point"):
        sdm.load(sparse)
    good = _bytes(sd)
    for broken in (good[:-40], good[:200] + b"\0" * 200 + good[400:]):
        with pytest.raises(ValueError):
            sdm.load(broken)


def test_no_read_out_or_a_bias_free_one():
    assert sdm.readout(torch.nn.GRU(2, 3).state_dict()) is None
    sd = {**{f"rnn.{k}": v for k, v in torch.nn.GRU(2, 3).state_dict().items()},
          "head.weight": torch.ones(4, 3)}
    w, b = sdm.readout(sd)
    assert w.shape == (4, 3) and not b.any()
    sd["head.bias"] = torch.ones(3)
    with pytest.raises(ValueError, match="head.bias has shape"):
        sdm.readout(sd)
