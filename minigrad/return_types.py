"""The named tuples some ops return, named and printed as torch's `torch.return_types`.

`x.max(1)` gives a `return_types.max`, a tuple whose fields are `values` and `indices`
(`values, indices = x.max(1)` works too), and which prints as torch's does:

    torch.return_types.max(
    values=tensor([3., 4.], grad_fn=<MaxBackward0>),
    indices=tensor([1, 0]))

so that what a tutorial shows is what minigrad shows.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any


def _return_type(name: str, fields: str, doc: str) -> type:
    """A named tuple called `name` (torch's name for it) with these fields."""

    def __repr__(self: Any) -> str:
        lines = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
        return f"torch.return_types.{name}(\n{lines})"

    members = {"__slots__": (), "__repr__": __repr__, "__doc__": doc, "__module__": __name__}
    return type(name, (namedtuple(name, fields),), members)


# The values along a dim, and the index each came from
max = _return_type("max", "values indices", "x.max(dim): each maximum and its index.")  # noqa: A001
min = _return_type("min", "values indices", "x.min(dim): each minimum and its index.")  # noqa: A001
sort = _return_type("sort", "values indices", "x.sort(): the values in order, and indices.")
topk = _return_type("topk", "values indices", "x.topk(k): the k largest, and their indices.")
kthvalue = _return_type("kthvalue", "values indices", "x.kthvalue(k): the k-th smallest.")
median = _return_type("median", "values indices", "x.median(dim): the middle values.")
nanmedian = _return_type("nanmedian", "values indices", "x.nanmedian(dim), NaNs left out.")
mode = _return_type("mode", "values indices", "x.mode(dim): the most frequent values.")
cummax = _return_type("cummax", "values indices", "x.cummax(dim): the running maximum.")
cummin = _return_type("cummin", "values indices", "x.cummin(dim): the running minimum.")

# Other pairs and triples
aminmax = _return_type("aminmax", "min max", "x.aminmax(): the smallest value and the largest.")
histogram = _return_type("histogram", "hist bin_edges", "x.histogram(): counts, bin edges.")
svd = _return_type("svd", "U S V", "x.svd(): A = U diag(S) V^T (V itself; linalg.svd: Vh).")
qr = _return_type("qr", "Q R", "x.qr(): A = Q R.")
slogdet = _return_type("slogdet", "sign logabsdet", "x.slogdet(): det = sign * e^logabsdet.")
linalg_qr = _return_type("linalg_qr", "Q R", "linalg.qr(A): A = Q R.")
linalg_slogdet = _return_type(
    "linalg_slogdet", "sign logabsdet", "linalg.slogdet(A): det = sign * e^logabsdet."
)
linalg_svd = _return_type("linalg_svd", "U S Vh", "linalg.svd(A): A = U diag(S) Vh.")
linalg_eigh = _return_type(
    "linalg_eigh", "eigenvalues eigenvectors", "linalg.eigh(A): A = V diag(w) V^T."
)
linalg_lstsq = _return_type(
    "linalg_lstsq",
    "solution residuals rank singular_values",
    "linalg.lstsq(A, B): the X that minimizes |A X - B|.",
)
