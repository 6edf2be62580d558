"""Checks a `kiln export` in real PyTorch, for tests/cli_export_test.cpp.

  export_check.py MODEL.pt MODEL.safetensors CHECKPOINT.pt [PREDICTIONS.jsonl]

- MODEL.pt loads with torch.jit.load, has kiln.json and the `classes` attribute, and runs on
  batches of 1 and 5 random inputs of its recorded dtype and shape (finite outputs of the
  recorded width);
- MODEL.safetensors loads with safetensors.torch.load_file; its tensors are the checkpoint's
  (kiln's checkpoint is a TorchScript archive: its `model` submodule holds the weights under
  kiln's names), exactly, and the TorchScript module's `net` holds the same ones;
- with PREDICTIONS.jsonl (`kiln predict --json --logits` lines), each image is read with PIL,
  run through MODEL.pt here and compared with kiln's logits.
Prints one JSON line (the maximum differences); exits 1 with a message on any mismatch.
"""
import json
import sys

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file


def fail(msg):
    print("export_check: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ts_path, st_path, ckpt_path = sys.argv[1:4]
    pred_path = sys.argv[4] if len(sys.argv) > 4 else None
    extra = {"kiln.json": ""}
    ts = torch.jit.load(ts_path, map_location="cpu", _extra_files=extra)
    ts.eval()
    meta = json.loads(extra["kiln.json"])
    if meta.get("format") != "kiln-torchscript":
        fail("kiln.json missing or not kiln's: %r" % extra["kiln.json"][:200])
    if list(ts.classes) != meta["classes"]:
        fail("the classes attribute %r differs from kiln.json's %r" % (list(ts.classes), meta["classes"]))
    dtype = {"uint8": torch.uint8, "float32": torch.float32, "int64": torch.int64}[meta["input"]["dtype"]]
    shape = meta["input"]["shape"]
    out = {"architecture": meta["architecture"], "preprocessing": meta["preprocessing"]["kind"]}
    torch.manual_seed(0)
    with torch.no_grad():
        for b in (1, 5):
            if dtype == torch.uint8:
                x = torch.randint(0, 256, [b] + shape, dtype=dtype)
            elif dtype == torch.int64:
                x = torch.randint(0, meta["outputs"], [b] + shape, dtype=dtype)
            else:
                x = torch.randn([b] + shape)
            y = ts(x)
            if y.shape[0] != b or y.shape[-1] != meta["outputs"] or not torch.isfinite(y).all():
                fail("batch of %d gave %s (want [%d, ..., %d], finite)" % (b, list(y.shape), b, meta["outputs"]))

    weights = load_file(st_path)
    with safe_open(st_path, framework="pt") as f:
        md = f.metadata()
    if md.get("architecture") != meta["architecture"] or json.loads(md["classes"]) != meta["classes"]:
        fail("safetensors metadata %r does not match kiln.json" % {k: md.get(k) for k in ("architecture", "classes")})
    if "[model]" not in md.get("config", ""):
        fail("safetensors metadata has no config.toml text")
    ckpt = dict(torch.jit.load(ckpt_path, map_location="cpu").model.state_dict())
    ts_net = dict(ts.net.state_dict())
    for name, other in (("checkpoint", ckpt), ("torchscript net", ts_net)):
        if sorted(weights) != sorted(other):
            fail("safetensors names %s != %s names %s" % (sorted(weights), name, sorted(other)))
        for k, v in weights.items():
            if v.dtype != other[k].dtype or not torch.equal(v, other[k]):
                fail("tensor %s differs from the %s's" % (k, name))
    out["tensors_equal"] = len(weights)

    if pred_path:
        lines = [json.loads(l) for l in open(pred_path) if l.strip()]
        mode = "L" if shape[0] == 1 else "RGB"
        imgs = []
        for l in lines:
            a = np.asarray(Image.open(l["file"]).convert(mode), dtype=np.uint8)
            a = a[:, :, None] if a.ndim == 2 else a
            if list(a.shape[:2]) != shape[1:]:
                fail("%s is %s, not the model's size (this check feeds PNGs of its exact size)" % (l["file"], a.shape))
            imgs.append(torch.from_numpy(a.copy()).permute(2, 0, 1))
        with torch.no_grad():
            logits = ts(torch.stack(imgs))
        kiln = torch.tensor([l["logits"] for l in lines])
        diff = (logits - kiln).abs().max().item()
        out["max_abs_diff_vs_kiln_predict"] = diff
        out["images"] = len(lines)
        if not diff <= 1e-4:
            fail("PyTorch's logits differ from kiln predict's by %g" % diff)
        probs = torch.softmax(logits.double(), 1)
        for l, p in zip(lines, probs):
            top = l["top"][0]
            if abs(p[top["index"]].item() - top["probability"]) > 1e-5:
                fail("%s: kiln's top probability %g, PyTorch's %g" % (l["file"], top["probability"], p[top["index"]]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
