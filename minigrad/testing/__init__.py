"""Gradient checks for minigrad's ops, and for yours.

    from minigrad.testing import assert_matches_torch, gradcheck, strategies

- `assert_matches_torch(minigrad_fn, torch_fn, *arrays)`: forward values and the gradient of
  every input, against torch's autograd, in float64 at rtol 1e-7, atol 1e-9.
- `gradcheck(fn, *arrays)`: minigrad's gradients against central finite differences.
- `minigrad.testing.strategies`: Hypothesis strategies for shapes, arrays and op arguments
  (it needs the `hypothesis` package, so it is imported only when asked for).

Both checks backpropagate a random upstream gradient, so a backward that ignores the gradient it
receives fails them.
"""

from .checks import assert_close, assert_matches_torch, gradcheck

__all__ = ["assert_close", "assert_matches_torch", "gradcheck"]
