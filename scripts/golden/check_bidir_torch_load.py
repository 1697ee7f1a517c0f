#!/usr/bin/python3
"""Loads a bidirectional classification checkpoint of rnn (SPEC §5, §13) into torch's nn.RNN/LSTM/GRU(bidirectional=True)
+ nn.Linear(2H, C) with load_state_dict, runs DATA as one pack_padded_sequence batch, and prints the largest
difference from `rnn predict`'s probabilities (PRED, targetsAt every).

    /usr/bin/python3 scripts/golden/check_bidir_torch_load.py CKPT DATA PRED
"""
import csv, json, struct, sys
import numpy as np, torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
ck, data, pred = sys.argv[1:4]
raw = open(ck, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; hdr = json.loads(raw[8:8 + n])
meta = hdr.pop("__metadata__"); cfg = json.loads(meta["config"])
dt = {"F32": np.float32, "F64": np.float64}
state = {k: torch.from_numpy(np.frombuffer(raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=dt[v["dtype"]]).reshape(v["shape"]).copy()) for k, v in hdr.items()}
H = cfg["model"]["hiddenSize"]; I = len(cfg["data"]["inputs"])
m = cfg["model"]; kw = dict(num_layers=m["layers"], bias=m["bias"], batch_first=True, bidirectional=True)
rnn = {"gru": lambda: torch.nn.GRU(I, H, **kw), "lstm": lambda: torch.nn.LSTM(I, H, **kw)}.get(m["cell"], lambda: torch.nn.RNN(I, H, nonlinearity=m["activation"], **kw))()
head = torch.nn.Linear(2 * H, state["head.weight"].shape[0], bias=m["bias"])
rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
seqs = {}
for r in csv.DictReader(open(data)): seqs.setdefault(r["id"], []).append([float(r[c]) for c in cfg["data"]["inputs"]])
ids = list(seqs); L = [len(seqs[i]) for i in ids]; T = max(L)
x = torch.zeros(len(ids), T, I)
for b, i in enumerate(ids): x[b, :L[b]] = torch.tensor(seqs[i])
with torch.no_grad():
    out, _ = rnn(pack_padded_sequence(x, torch.tensor(L), batch_first=True, enforce_sorted=False))
    p = torch.softmax(head(pad_packed_sequence(out, batch_first=True, total_length=T)[0]), -1)
classes = json.loads(meta["classes"]); worst = 0.0
rows = list(csv.DictReader(open(pred)))
k = 0
for b, i in enumerate(ids):
    for t in range(L[b]):
        worst = max(worst, max(abs(float(rows[k][f"p_{c}"]) - p[b, t, j].item()) for j, c in enumerate(classes))); k += 1
print(f"torch nn.{type(rnn).__name__}(bidirectional=True) vs rnn predict: {k} rows, largest |difference| {worst:.2e}")
