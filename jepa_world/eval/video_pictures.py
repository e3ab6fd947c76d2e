"""Pictures of a video evaluation: the rollout GIF and the error-versus-horizon curve PNG.

GIF, one row per clip, one frame per time step, three panels: the true frame | the decoded
representation (decoded context encodings while t < k, then decoded *predictions*; a green bar marks
context frames, a red one predicted frames) | the probe's location heat-map read from the same
representation, in red over the dimmed true frame, with the true digit centres as green dots and the
decoded locations as red crosses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

PANELS = ("true", "decoded prediction", "predicted locations")


def rollout_gif(path: Path | str, *, frames: Tensor, decoded: Tensor, heat: Tensor, true_xy: Tensor,
                pred_xy: Tensor, context: int, scale: int = 3, fps: int = 4) -> Path:
    """Write the GIF described in the module docstring.

    Args:
        path: the .gif to write (parents are created).
        frames: (N, T, H, W) true frames, uint8.
        decoded: (N, T, H, W) decoded representations in [0, 1].
        heat: (N, T, G, G) location heat-maps (any scale; clipped at 0 and normalised per frame).
        true_xy: (N, T, K, 2) true digit centres, px.
        pred_xy: (N, T, K, 2) decoded digit locations, px.
        context: k; frames t < k are context.
        scale: pixel magnification.
        fps: frames per second.
    """
    import imageio.v2 as imageio

    n, t = frames.shape[:2]
    if decoded.shape[:2] != (n, t) or heat.shape[:2] != (n, t) or true_xy.shape[:2] != (n, t):
        raise ValueError(f"rollout_gif: frames {tuple(frames.shape)}, decoded {tuple(decoded.shape)}, heat "
                         f"{tuple(heat.shape)} and true_xy {tuple(true_xy.shape)} need the same (N, T)")
    pages = [_page(frames[:, i], decoded[:, i], heat[:, i], true_xy[:, i], pred_xy[:, i], scale=scale,
                   predicted=i >= context, label=f"t={i}" + (" context" if i < context else f"  h={i - context + 1}"))
             for i in range(t)]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imageio.mimsave(path, pages, duration=1.0 / fps, loop=0)
    return path


def _page(frames: Tensor, decoded: Tensor, heat: Tensor, true_xy: Tensor, pred_xy: Tensor, *, scale: int,
          predicted: bool, label: str) -> np.ndarray:
    """One GIF frame: rows of three panels -> (rows * (S + 4) + 14, 3 * (S + 4), 3) uint8, S = H * scale."""
    from PIL import Image, ImageDraw

    size = frames.shape[-1] * scale
    bar = (220, 40, 40) if predicted else (40, 180, 40)
    rows = []
    for j in range(frames.shape[0]):
        true_rgb = _grey(frames[j].float() / 255.0)
        panels = [true_rgb, _grey(decoded[j].float()), _overlay(frames[j], heat[j])]
        tiles = [_upscale(p, scale) for p in panels]
        image = Image.fromarray(np.concatenate([np.pad(x, ((2, 2), (2, 2), (0, 0))) for x in tiles], axis=1))
        draw = ImageDraw.Draw(image)
        for (x, y) in true_xy[j].tolist():
            cx, cy = 2 * (size + 4) + 2 + x * scale, 2 + y * scale
            draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=(40, 220, 40))
        for (x, y) in pred_xy[j].tolist():
            cx, cy = 2 * (size + 4) + 2 + x * scale, 2 + y * scale
            draw.line([cx - 5, cy - 5, cx + 5, cy + 5], fill=(255, 60, 60), width=2)
            draw.line([cx - 5, cy + 5, cx + 5, cy - 5], fill=(255, 60, 60), width=2)
        draw.rectangle([size + 4, 0, 2 * (size + 4) - 1, 2], fill=bar)
        rows.append(np.asarray(image))
    header = Image.new("RGB", (rows[0].shape[1], 14), (0, 0, 0))
    ImageDraw.Draw(header).text((2, 1), f"{label}   |   " + "  |  ".join(PANELS), fill=(255, 255, 255))
    return np.concatenate([np.asarray(header), *rows], axis=0)


def _grey(x: Tensor) -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8."""
    g = (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return np.repeat(g[..., None], 3, axis=-1)


def _overlay(frame: Tensor, heat: Tensor) -> np.ndarray:
    """Dimmed frame (H, W) uint8 with heat (G, G) in red -> (H, W, 3) uint8."""
    size = frame.shape[-1]
    h = heat.float().clamp_min(0)
    h = h / h.max().clamp_min(1e-6)
    h = torch.nn.functional.interpolate(h[None, None], size=(size, size), mode="nearest")[0, 0]
    base = frame.float() / 255.0 * 0.4
    rgb = torch.stack([torch.maximum(base, h), base, base], dim=-1)
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def _upscale(x: np.ndarray, scale: int) -> np.ndarray:
    return np.repeat(np.repeat(x, scale, axis=0), scale, axis=1)


def horizon_curve_png(path: Path | str, curves: dict[str, dict[str, list[float]]], *, title: str = "") -> Path:
    """Location error (px) and AP versus horizon, one line per source.

    Args:
        path: the .png to write.
        curves: source name -> {"location_error_px": [...], "ap": [...]} over horizons 1..H.
        title: figure title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, metrics in curves.items():
        style = "--" if name.startswith("encoded") else "-"
        for ax, key in zip(axes, ("location_error_px", "ap"), strict=True):
            values = metrics[key]
            ax.plot(range(1, len(values) + 1), values, style, marker="o", ms=3, label=name)
    axes[0].set(xlabel="horizon h (frames after the context)", ylabel="location error (px, lower is better)")
    axes[1].set(xlabel="horizon h (frames after the context)", ylabel="heat-map AP (higher is better)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
