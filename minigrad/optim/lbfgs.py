"""L-BFGS: a quasi-Newton method. It remembers the last few steps and how the gradient changed
along them, and turns the gradient into a step as the inverse Hessian would, without forming
any matrix. Each `step(closure)` runs up to max_iter iterations of its own, re-evaluating the
loss through the closure; for full-batch problems with a smooth loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer, Params, check_non_negative

# the strong Wolfe conditions' constants: sufficient decrease, and curvature
ARMIJO_C1, CURVATURE_C2 = 1e-4, 0.9


class LBFGS(Optimizer):
    """torch's L-BFGS (after Nocedal & Wright, Numerical Optimization, algorithms 7.4 and 3.5).
    Its settings are global: one parameter group only, and every parameter on one device.

    The parameters are handled as one flat vector x, with gradient g. One `step(closure)`:
        f, g = closure's loss and gradient; stop at once if max|g| <= tolerance_grad
        repeat up to max_iter times:
            direction: on the very first iteration d = -g; afterwards, with y = g - g_prev and
                s = t * d (the last step), keep the pair (s, y) if y.s > 1e-10 (the curvature
                is positive), the last history_size of them, and set H0 = y.s / y.y. Then
                d = -H g by the two-loop recursion (rho_i = 1 / y_i.s_i):
                    q = -g; for each pair, newest first: a_i = rho_i s_i.q, q = q - a_i y_i
                    r = H0 q; for each pair, oldest first: b_i = rho_i y_i.r,
                                                           r = r + (a_i - b_i) s_i
                    d = r
            step length: t = lr, or on the very first iteration min(1, 1 / sum|g|) * lr
            stop if g.d > -tolerance_change (d does not go downhill)
            line_search_fn None: x = x + t d, and f, g = closure's (not after the last iteration)
            "strong_wolfe": t from a line search along d (`strong_wolfe`), then x = x + t d
            stop after max_iter iterations or max_eval closure calls, or when max|g| <=
            tolerance_grad, max|t d| <= tolerance_change or |f - f_prev| < tolerance_change
        return the first loss

    The history, the direction and the counts stay in `state` (on the first parameter, as
    torch keeps them), so the next step(closure) goes on from there.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        check_non_negative(lr=lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                f"LBFGS takes one parameter group (its settings are global), got "
                f"{len(self.param_groups)}. Pass a list of parameters, all with the same settings."
            )
        self._params = self.param_groups[0]["params"]

    # ---- the parameters as one flat vector ------------------------------------------------------

    def _flat_grad(self) -> torch.Tensor:
        """All the gradients, flattened and joined in parameter order (0 where one is None)."""
        return torch.cat(
            [
                p._data.new_zeros(p.numel()) if p.grad is None else p.grad._data.view(-1)
                for p in self._params
            ]
        )

    def _move(self, t: Any, d: torch.Tensor) -> None:
        """x = x + t * d, each parameter moved by its own slice of the flat d."""
        offset = 0
        for p in self._params:
            p._data.add_(d[offset : offset + p.numel()].view_as(p._data), alpha=t)
            offset += p.numel()

    def _loss_and_grad_at(self, closure: Callable[[], Any], t: Any, d: torch.Tensor) -> Any:
        """The loss and flat gradient at x + t * d; the parameters are put back at x after."""
        start = [p._data.clone(memory_format=torch.contiguous_format) for p in self._params]
        self._move(t, d)
        loss = float(_evaluate(closure))
        flat_grad = self._flat_grad()
        for p, x in zip(self._params, start):
            p._data.copy_(x)
        return loss, flat_grad

    # ---- a step ---------------------------------------------------------------------------------

    @no_grad()
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to max_iter L-BFGS iterations; `closure` zeroes the gradients, computes the
        loss, calls backward and returns the loss. Returns the loss at the start."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search = group["line_search_fn"]
        if line_search not in (None, "strong_wolfe"):
            raise RuntimeError(
                f"LBFGS's line_search_fn must be None or 'strong_wolfe', got {line_search!r}."
            )
        self._steps_taken += 1  # (a scheduler checks that the optimizer stepped first)
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        first_loss = _evaluate(closure)
        loss = float(first_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if flat_grad.abs().max() <= tolerance_grad:  # already at a minimum
            return first_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")
        for n_iter in range(1, max_iter + 1):
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # no history yet: steepest descent
                d = flat_grad.neg()
                old_dirs, old_stps, ro, H_diag = [], [], [], 1
            else:
                y = flat_grad.sub(prev_flat_grad)  # how the gradient changed along the step s
                s = d.mul(t)
                ys = y.dot(s)
                if ys > 1e-10:  # positive curvature along s: the pair describes a valley
                    if len(old_dirs) == group["history_size"]:
                        for history in (old_dirs, old_stps, ro):  # forget the oldest pair
                            history.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)  # the initial inverse Hessian's scale, H0
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, state, group)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss

            t = min(1.0, 1.0 / flat_grad.abs().sum()) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)  # the slope along d
            if gtd > -tolerance_change:
                break

            if line_search == "strong_wolfe":
                loss, flat_grad, t, line_evals = strong_wolfe(
                    lambda t_, d_: self._loss_and_grad_at(closure, t_, d_),
                    t, d, loss, flat_grad, gtd,
                    tolerance_change=tolerance_change, max_evals=max_eval - evals,
                )  # fmt: skip
                self._move(t, d)
                at_minimum = flat_grad.abs().max() <= tolerance_grad
            else:
                self._move(t, d)
                line_evals, at_minimum = 0, False
                if n_iter != max_iter:  # (the last iteration's loss would not be used)
                    loss = float(_evaluate(closure))
                    flat_grad = self._flat_grad()
                    at_minimum = flat_grad.abs().max() <= tolerance_grad
                    line_evals = 1
            evals += line_evals
            state["func_evals"] += line_evals

            if n_iter == max_iter or evals >= max_eval or at_minimum:
                break
            if d.mul(t).abs().max() <= tolerance_change:  # the step no longer moves x
                break
            if abs(loss - prev_loss) < tolerance_change:  # nor the loss
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag)
        state.update(prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return first_loss


def _evaluate(closure: Callable[[], Any]) -> Any:
    with enable_grad():  # (step runs under no_grad; the closure needs its backward)
        return closure()


def _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag, state, group) -> torch.Tensor:
    """d = -H g, H the L-BFGS inverse Hessian of the pairs (s_i = old_stps[i], y_i =
    old_dirs[i]); the a_i are kept in state["al"], as torch keeps them."""
    if "al" not in state:
        state["al"] = [None] * group["history_size"]
    a = state["al"]
    q = flat_grad.neg()
    for i in reversed(range(len(old_dirs))):
        a[i] = old_stps[i].dot(q) * ro[i]
        q.add_(old_dirs[i], alpha=-a[i])
    r = torch.mul(q, H_diag)
    for i in range(len(old_dirs)):
        b = old_dirs[i].dot(r) * ro[i]
        r.add_(old_stps[i], alpha=a[i] - b)
    return r


# ---- the strong Wolfe line search ---------------------------------------------------------------


def cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """Where the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2 has its minimum,
    clamped to `bounds` (by default [min(x1, x2), max(x1, x2)]); the middle of the bounds when
    the cubic has no minimum."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = d2_square.sqrt()
    if x1 <= x2:
        minimum = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        minimum = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimum, low), high)


def strong_wolfe(loss_and_grad_at, t, d, f, g, gtd, tolerance_change=1e-9, max_evals=25):
    """A step length t along d that satisfies the strong Wolfe conditions,
        f(x + t d) <= f + c1 t g.d          (the loss falls enough: Armijo)
        |g(x + t d).d| <= c2 |g.d|          (the slope has flattened enough)
    found in two phases: first an interval that must hold such a t (grown outward from t by
    cubic steps), then zoom into it (Nocedal & Wright, algorithms 3.5 and 3.6, as torch).
    Returns the loss, flat gradient and t of the best point found, and the closure calls made.
    `loss_and_grad_at(t, d)` evaluates at x + t d."""
    d_norm = d.abs().max()
    g = g.clone(memory_format=torch.contiguous_format)
    f_new, g_new = loss_and_grad_at(t, d)
    evals = 1
    gtd_new = g_new.dot(d)

    # phase 1: bracket. [t_prev, t] holds a good t once the loss stops falling enough, or
    # rises again, or the slope turns uphill
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    tries = 0
    while tries < max_evals:
        if f_new > (f + ARMIJO_C1 * t * gtd) or (tries > 1 and f_new >= f_prev):
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()],
                               [gtd_prev, gtd_new])  # fmt: skip
            break
        if abs(gtd_new) <= -CURVATURE_C2 * gtd:  # both conditions hold at t
            bracket, done = _Bracket([t], [f_new], [g_new], None), True
            break
        if gtd_new >= 0:
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()],
                               [gtd_prev, gtd_new])  # fmt: skip
            break
        # still falling steeply: extrapolate beyond t, between 1.01 t and 10 t
        bounds = (t + 0.01 * (t - t_prev), t * 10)
        t_prev, t = t, cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds)
        f_prev, g_prev, gtd_prev = f_new, g_new.clone(), gtd_new
        f_new, g_new = loss_and_grad_at(t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        tries += 1
    if tries == max_evals:  # out of evaluations: between the start and the last t
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], None)

    # phase 2: zoom. Shrink the bracket around its lower end until t satisfies both conditions
    low, high = bracket.ends()
    too_close = False  # the last trial was near the bracket's end
    while not done and tries < max_evals:
        if abs(bracket.t[1] - bracket.t[0]) * d_norm < tolerance_change:
            break
        t = cubic_minimum(bracket.t[0], bracket.f[0], bracket.gtd[0],
                          bracket.t[1], bracket.f[1], bracket.gtd[1])  # fmt: skip
        t, too_close = _away_from_the_ends(t, bracket.t, too_close)
        f_new, g_new = loss_and_grad_at(t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        tries += 1
        if f_new > (f + ARMIJO_C1 * t * gtd) or f_new >= bracket.f[low]:
            bracket.set(high, t, f_new, g_new.clone(), gtd_new)  # t is the new high end
            low, high = bracket.ends()
        else:
            if abs(gtd_new) <= -CURVATURE_C2 * gtd:
                done = True
            elif gtd_new * (bracket.t[high] - bracket.t[low]) >= 0:  # the slope says the
                bracket.set(high, *bracket.end(low))  # minimum is behind low: low becomes high
            bracket.set(low, t, f_new, g_new.clone(), gtd_new)  # t is the new low end
    return bracket.f[low], bracket.g[low], bracket.t[low], evals


def _away_from_the_ends(t, ends, too_close):
    """A trial t within a tenth of the bracket's width from an end makes little progress: the
    second time in a row, or if t is at or past an end, move it to a tenth of the width in.
    Returns t and whether it was too close (and left there)."""
    margin = 0.1 * (max(ends) - min(ends))
    if min(max(ends) - t, t - min(ends)) >= margin:
        return t, False
    if not (too_close or t >= max(ends) or t <= min(ends)):
        return t, True
    if abs(t - max(ends)) < abs(t - min(ends)):
        return max(ends) - margin, False
    return min(ends) + margin, False


class _Bracket:
    """The line search's interval: its ends' t, losses, flat gradients and slopes along d."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd

    def ends(self):
        """(low, high): the index of the end with the smaller loss (the first on a tie), and
        the other."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)

    def end(self, i):
        return self.t[i], self.f[i], self.g[i], self.gtd[i]

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd
