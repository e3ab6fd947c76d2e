"""DINO: self-distillation with no labels (Caron et al. 2021), the loss and its centering.

The student's and the EMA teacher's heads output K logits per view. The teacher's are *centred*
(a running mean ``c`` over batches is subtracted) and *sharpened* (a low temperature), the student's
softened by a higher temperature; the loss is the cross-entropy between them over pairs of different
views:

    L = mean_{(s, t), s != t} mean_n  -sum_k softmax((g_t - c) / tau_t)_k * log_softmax(g_s / tau_s)_k

Centering keeps one prototype from winning everywhere; sharpening keeps the teacher from becoming
uniform: together they avoid both collapses (Caron et al. 2021, Sec. 3.1 and Fig. 7).
``c <- m * c + (1 - m) * mean_n g_t`` after each step (:func:`update_center`).

Under DDP the loss is a mean over samples (exact under DDP's gradient averaging for equal shards), but the
centre is a batch statistic: with ``gather=True`` its batch mean runs over every process's teacher logits
(:func:`~jepa_world.objectives.distributed.global_batch_mean`), so every rank keeps the one-process centre.

Examples:
    >>> import torch
    >>> s, t = torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)      # (V, N, K): uniform outputs
    >>> round(float(dino_loss(s, t, center=torch.zeros(4))), 4)  # cross-entropy of uniforms = log 4
    1.3863
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from jepa_world.objectives.distributed import global_batch_mean


def _check_views(student: Tensor, teacher: Tensor, center: Tensor) -> None:
    if student.ndim != 3 or teacher.ndim != 3 or student.shape[1:] != teacher.shape[1:]:
        raise ValueError(f"dino_loss: expected student (Vs, N, K) and teacher (Vt, N, K) logits, got "
                         f"{tuple(student.shape)} and {tuple(teacher.shape)}")
    if center.shape[-1] != student.shape[-1]:
        raise ValueError(f"dino_loss: center must be (K={student.shape[-1]},), got {tuple(center.shape)}")


def dino_loss(
    student: Tensor,
    teacher: Tensor,
    *,
    center: Tensor,
    student_temp: float = 0.1,
    teacher_temp: float = 0.04,
) -> Tensor:
    """DINO cross-entropy between sharpened, centred teacher and student distributions (Caron et al.
    2021, Algorithm 1). Teacher view ``t`` and student view ``s`` are paired when ``s != t``; views are
    aligned by index, so the teacher's ``Vt`` global views are the student's first ``Vt`` views.

    Args:
        student: (Vs, N, K) student logits.
        teacher: (Vt, N, K) teacher logits (detached here), Vt <= Vs.
        center: (K,) or (1, K) running center of the teacher logits.
        student_temp, teacher_temp: temperatures (> 0).

    Returns:
        () scalar.
    """
    _check_views(student, teacher, center)
    if student_temp <= 0 or teacher_temp <= 0:
        raise ValueError(f"dino_loss: temperatures must be > 0, got {student_temp}, {teacher_temp}")
    if teacher.shape[0] > student.shape[0]:
        raise ValueError(f"dino_loss: more teacher views ({teacher.shape[0]}) than student views "
                         f"({student.shape[0]})")
    t_prob = F.softmax((teacher.detach() - center.reshape(1, 1, -1)) / teacher_temp, dim=-1)  # (Vt, N, K)
    s_logp = F.log_softmax(student / student_temp, dim=-1)  # (Vs, N, K)
    total, pairs = student.new_zeros(()), 0
    for t in range(t_prob.shape[0]):
        for s in range(s_logp.shape[0]):
            if s == t:
                continue
            total = total + (-(t_prob[t] * s_logp[s]).sum(dim=-1)).mean()
            pairs += 1
    if pairs == 0:
        raise ValueError("dino_loss: needs at least two views (no student view differs from a teacher view)")
    return total / pairs


@torch.no_grad()
def update_center(center: Tensor, teacher: Tensor, *, momentum: float = 0.9, gather: bool = False) -> Tensor:
    """New center ``momentum * center + (1 - momentum) * mean(teacher logits over views and samples)``.

    Args:
        center: (K,) current center.
        teacher: (..., K) teacher logits.
        momentum: m in [0, 1].
        gather: under DDP, the mean runs over every process's logits (exact for shards of any sizes).

    Returns:
        (K,) the updated center (a new tensor).

    Examples:
        >>> update_center(torch.zeros(2), torch.tensor([[1.0, 3.0], [3.0, 5.0]]), momentum=0.5).tolist()
        [1.0, 2.0]
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"update_center: momentum must be in [0, 1], got {momentum}")
    flat = teacher.detach().reshape(-1, teacher.shape[-1])  # (V * N, K)
    batch_mean = global_batch_mean(flat) if gather else flat.mean(dim=0)  # (K,)
    return center * momentum + batch_mean.to(center) * (1.0 - momentum)


def teacher_temperature(step: int, *, warmup_steps: int, start: float = 0.04, end: float = 0.07) -> float:
    """Linear warm-up of the teacher temperature from ``start`` to ``end`` over ``warmup_steps``
    (Caron et al. 2021, Sec. 4), then constant.

    Examples:
        >>> teacher_temperature(0, warmup_steps=10), teacher_temperature(20, warmup_steps=10)
        (0.04, 0.07)
    """
    if warmup_steps <= 0 or step >= warmup_steps:
        return end
    return start + (end - start) * max(step, 0) / warmup_steps


class DINOLoss(nn.Module):
    """DINO loss with its center as a buffer (saved in checkpoints, moved with ``.to``).

    ``forward(student, teacher, teacher_temp=None)`` returns the loss and, in training mode, updates
    the center with the teacher logits of this call (after computing the loss with the old center).

    Examples:
        >>> crit = DINOLoss(out_dim=4, center_momentum=0.5)
        >>> loss = crit(torch.zeros(2, 3, 4), torch.ones(2, 3, 4))
        >>> crit.center.tolist()
        [0.5, 0.5, 0.5, 0.5]
    """

    center: Tensor

    def __init__(self, out_dim: int, *, student_temp: float = 0.1, teacher_temp: float = 0.04,
                 center_momentum: float = 0.9, gather: bool = False) -> None:
        super().__init__()
        if out_dim < 1:
            raise ValueError(f"DINOLoss: out_dim must be >= 1, got {out_dim}")
        self.student_temp, self.teacher_temp, self.center_momentum = student_temp, teacher_temp, center_momentum
        self.gather = gather
        self.register_buffer("center", torch.zeros(out_dim))

    def forward(self, student: Tensor, teacher: Tensor, teacher_temp: float | None = None) -> Tensor:
        """student (Vs, N, K), teacher (Vt, N, K) -> () scalar."""
        loss = dino_loss(student, teacher, center=self.center, student_temp=self.student_temp,
                         teacher_temp=teacher_temp or self.teacher_temp)
        if self.training:
            self.center.copy_(update_center(self.center, teacher, momentum=self.center_momentum,
                                            gather=self.gather))
        return loss
