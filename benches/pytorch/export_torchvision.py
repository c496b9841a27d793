"""Exports the full-size torchvision classifiers (random init, eval) with both exporters to
`benches/models/pytorch/` (gitignored), each with one 224×224 input and PyTorch's logits in
`<arch>.<exporter>.bin` (float32 LE: input then logits), for `examples/pytorch_table.rs`:

    /work/venv/py/bin/python benches/pytorch/export_torchvision.py [arch ...]
    cargo run --release -p effpath-benches --example pytorch_table > benches/pytorch/table.md
"""

import os
import struct
import sys
import traceback

import torch
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "pytorch")
ARCHS = ["alexnet", "vgg11_bn", "resnet18", "resnet50", "densenet121", "mobilenet_v2",
         "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0", "shufflenet_v2_x1_0",
         "squeezenet1_1", "googlenet", "regnet_x_400mf", "mnasnet1_0"]
EXPORTERS = {"legacy17": dict(dynamo=False, opset_version=17), "dynamo": dict(dynamo=True)}


def main():
    os.makedirs(OUT, exist_ok=True)
    for arch in sys.argv[1:] or ARCHS:
        torch.manual_seed(0)
        kw = dict(aux_logits=False, init_weights=True) if arch == "googlenet" else {}
        model = getattr(torchvision.models, arch)(weights=None, **kw).eval()
        x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits = model(x)
        for exp, ekw in EXPORTERS.items():
            base = os.path.join(OUT, f"{arch}.{exp}")
            try:
                torch.onnx.export(model, (x,), base + ".onnx", input_names=["input"], output_names=["logits"], **ekw)
            except Exception:
                traceback.print_exc()
                continue
            data = x.flatten().tolist() + logits.flatten().tolist()
            with open(base + ".bin", "wb") as f:
                f.write(struct.pack(f"<{len(data)}f", *data))
            print(arch, exp, flush=True)


if __name__ == "__main__":
    main()
