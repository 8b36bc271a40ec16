"""ModelSummary: the layers, output shapes, parameters and FLOPs of a network.

FLOPs are counted by torch's FlopCounterMode (matmuls and convolutions, 2 per multiply-add);
elementwise work (ReLU, BatchNorm, pooling, the optimizer) is not counted, as usual for MFU.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

from kpbench.data.faceset import IMAGE_SIZE


@dataclass
class ModelSummary:
    name: str
    layers: list[dict] = field(default_factory=list)  # {name, type, output_shape, params, forward_flops}
    params: int = 0
    trainable_params: int = 0
    forward_flops_per_image: int = 0
    train_flops_per_image: int = 0  # forward + backward of one image (the optimizer step excluded)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelSummary:
        return cls(**d)

    def to_markdown(self) -> str:
        lines = [
            f"### Model `{self.name}`",
            "",
            "| layer | type | output shape | params | forward MFLOPs |",
            "| --- | --- | --- | ---: | ---: |",
        ]
        for layer in self.layers:
            shape = "×".join(str(s) for s in layer["output_shape"])
            lines.append(
                f"| {layer['name']} | {layer['type']} | {shape} | {layer['params']:,} | {layer['forward_flops'] / 1e6:.2f} |"
            )
        lines += [
            "",
            f"- parameters: {self.params:,} ({self.trainable_params:,} trainable)",
            f"- forward: {self.forward_flops_per_image / 1e6:.1f} MFLOPs per image",
            f"- training step: {self.train_flops_per_image / 1e6:.1f} MFLOPs per image (forward + backward)",
        ]
        return "\n".join(lines) + "\n"


def summarize(model, name: str | None = None) -> ModelSummary:
    """Summarise ``model`` on one 1×96×96 image (a CPU copy: the caller's model is untouched)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = copy.deepcopy(model).float().cpu().to(memory_format=torch.contiguous_format)
    name = name or type(model).__name__
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    shapes: dict[str, tuple] = {}
    hooks = [m.register_forward_hook(_shape_hook(shapes, n)) for n, m in leaves]
    x = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as fwd:
        model(x)
    for h in hooks:
        h.remove()
    # FlopCounterMode names modules "<ClassName>.<path>"
    per_module = {k.split(".", 1)[1]: v for k, v in fwd.get_flop_counts().items() if "." in k}
    layers = [
        {
            "name": n,
            "type": type(m).__name__,
            "output_shape": list(shapes.get(n, ())),
            "params": sum(p.numel() for p in m.parameters()),
            "forward_flops": int(sum(per_module.get(n, {}).values())),
        }
        for n, m in leaves
    ]
    # Training step: forward + backward on a batch of 2 (BatchNorm needs >1 value per channel).
    model.train()
    xb = torch.zeros(2, 1, IMAGE_SIZE, IMAGE_SIZE)
    with FlopCounterMode(display=False) as step:
        model(xb).square().mean().backward()
    return ModelSummary(
        name=name,
        layers=layers,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        forward_flops_per_image=int(fwd.get_total_flops()),
        train_flops_per_image=int(step.get_total_flops()) // 2,
    )


def _shape_hook(shapes: dict, name: str):
    def hook(module, inputs, output) -> None:
        shapes[name] = tuple(output.shape[1:])

    return hook
