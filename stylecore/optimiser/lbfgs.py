"""Projected L-BFGS for box-bounded problems whose evaluations dominate the cost.

SciPy's L-BFGS-B handles the bounds exactly (generalised Cauchy point, subspace minimisation),
but at a million variables that bookkeeping costs about a second per iteration on a small CPU,
a fifth of a VGG19 evaluation. Here the bounds are handled the cheap way: variables pinned at
a bound by the gradient are frozen for the iteration, the quasi-Newton step is projected back
into the box, and a step is accepted on the first evaluation whenever it lowers the loss
enough (Armijo), so an iteration costs one evaluation in the common case.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ValueAndGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]

_ARMIJO = 1e-4
_MAX_BACKTRACKS = 4


@dataclass
class Minimum:
    x: np.ndarray
    value: float
    iterations: int
    evaluations: int


def minimize_in_box(
    value_and_grad: ValueAndGrad,
    start: np.ndarray,
    iterations: int,
    memory: int = 10,
    first_step: float = 0.01,
    tolerance: float = 0.0,
    lower: float = 0.0,
    upper: float = 1.0,
    callback: Callable[[np.ndarray], None] | None = None,
) -> Minimum:
    """Minimises `value_and_grad` over `lower <= x <= upper`, starting from `start`.

    `first_step` is the root-mean-square change of x on the first (gradient) step, before any
    curvature is known. Stops after `iterations`, once a quasi-Newton iteration lowers the value
    by less than `tolerance` times its size, or when no step along a direction lowers it.
    """
    x = np.clip(np.asarray(start, dtype=np.float32), lower, upper)
    value, grad = value_and_grad(x)
    evaluations = 1
    steps: deque[np.ndarray] = deque(maxlen=memory)
    changes: deque[np.ndarray] = deque(maxlen=memory)
    gradient_rms = first_step
    done = 0
    while done < iterations:
        pinned = ((x <= lower) & (grad > 0)) | ((x >= upper) & (grad < 0))
        free_grad = np.where(pinned, 0.0, grad).astype(np.float32)
        if not free_grad.any():
            break  # a stationary point of the box-constrained problem
        if steps:
            direction = -_two_loop(free_grad, steps, changes)
            direction[pinned] = 0.0
            if float(np.vdot(direction, free_grad)) >= 0.0:  # not a descent direction: restart
                steps.clear()
                changes.clear()
        gradient_step = not steps
        if gradient_step:
            rms = float(np.sqrt(np.mean(free_grad.astype(np.float64) ** 2)))
            direction = -free_grad * (gradient_rms / rms)

        step_length = 1.0
        for _ in range(_MAX_BACKTRACKS + 1):
            candidate = np.clip(x + step_length * direction, lower, upper)
            new_value, new_grad = value_and_grad(candidate)
            evaluations += 1
            expected = float(np.vdot(grad, candidate - x))
            if new_value <= value + _ARMIJO * expected:
                break
            step_length *= 0.5
        else:
            break  # no progress along this direction even after backtracking

        s = candidate - x
        y = new_grad - grad
        curvature = float(np.vdot(s, y))
        if curvature > 1e-10 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            steps.append(s)
            changes.append(y)
        elif gradient_step:
            # The loss curves downwards along the gradient: no curvature to learn from, so the
            # next gradient step strides out instead of creeping at the first step's length.
            gradient_rms *= 2.0 * step_length
        improvement = value - new_value
        x, value, grad = candidate, new_value, new_grad
        done += 1
        if callback is not None:
            callback(x)
        # A gradient step is short by design: it says nothing about convergence.
        if not gradient_step and improvement < tolerance * max(abs(value), 1e-12):
            break
    return Minimum(x=x, value=value, iterations=done, evaluations=evaluations)


def _two_loop(grad: np.ndarray, steps: deque, changes: deque) -> np.ndarray:
    """H @ grad for the L-BFGS inverse-Hessian estimate built from the stored pairs."""
    q = grad.copy()
    alphas = []
    rhos = [1.0 / float(np.vdot(y, s)) for s, y in zip(steps, changes, strict=True)]
    for s, y, rho in zip(reversed(steps), reversed(changes), reversed(rhos), strict=True):
        alpha = rho * float(np.vdot(s, q))
        q -= alpha * y
        alphas.append(alpha)
    s, y = steps[-1], changes[-1]
    q *= float(np.vdot(s, y)) / float(np.vdot(y, y))
    for s, y, rho, alpha in zip(steps, changes, rhos, reversed(alphas), strict=True):
        beta = rho * float(np.vdot(y, q))
        q += (alpha - beta) * s
    return q
