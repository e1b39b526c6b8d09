"""The shape pass's rules for functions of whole arrays: allocation and VECTOR SELECT.

Each rule takes the shaper, the call and the left side's ranges, and returns
the rewritten call with the ranges its value spans (as the other rules of
:mod:`reformsim.model.shapes`). The numbers are computed by the builtins of
the same names (:mod:`reformsim.engine.allocation`, :mod:`reformsim.engine.builtins`).

- ``ALLOCATE AVAILABLE(request[..., a], pp[..., a, ptype], avail)`` and
  ``ALLOCATE BY PRIORITY(request[..., a], priority[..., a], size, width,
  supply)`` allocate along the request's last range ``a``; the other ranges of
  the arguments are laid side by side (Vensim: "the last subscript of request
  is the one allocated over"). The priority profile is the last range of
  ``pp``'s own definition, named in the call by its first element.
- ``VECTOR SELECT(selection[d!], expression[d!], missing, action, error)``
  combines the selected cells over the ranges marked ``!``; ``action`` and
  ``error`` must be numbers, since they choose what is computed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import ir
from .subscripts import Dims

if TYPE_CHECKING:
    from .shapes import _Shaper

Shaped = tuple[ir.Expr, Dims]


def _aligned(shaper: _Shaper, shaped: Shaped, final: Dims) -> ir.Expr:
    expr, dims = shaped
    missing = [n for n, _ in dims if n not in dict(final)]
    if missing:
        raise shaper._error(f"cannot lay {missing[0]!r} out beside the allocated range",
                            hint="give the arguments of the allocation the same ranges")
    return shaper.space.align(expr, dims, final)


def _allocated(shaper: _Shaper, request: Shaped) -> tuple[str, tuple[str, ...]]:
    if not request[1]:
        raise shaper._error("allocates a request that is not an array",
                            hint="the request's last subscript is the range allocated over")
    return request[1][-1]


def allocate_available(shaper: _Shaper, e: ir.Call, target: Dims) -> Shaped:
    request = shaper.expr(e.args[0], target)
    name, coords = _allocated(shaper, request)
    pp_ref = e.args[1]
    if not isinstance(pp_ref, ir.Ref) or pp_ref.ident not in shaper.space.dims \
            or len(shaper.space.dims[pp_ref.ident]) < 2:
        raise shaper._error("ALLOCATE AVAILABLE's priority profile must be an array variable "
                            "whose last range holds ptype, ppriority, pwidth, pextra")
    profile = shaper.space.dims[pp_ref.ident][-1][0]
    subs = pp_ref.subs or tuple(n for n, _ in shaper.space.dims[pp_ref.ident])
    pp = shaper.expr(replace(pp_ref, subs=subs[:-1] + (profile,)), target)
    if len(pp[1]) < 2 or pp[1][-2][0] != name:
        raise shaper._error(f"the priority profile's range before the profile must be the "
                            f"request's last range {name!r}")
    avail = shaper.expr(e.args[2], target)
    final = shaper.space.union(request[1][:-1], pp[1][:-2], avail[1]) + [(name, coords)]
    args = (_aligned(shaper, request, final), _aligned(shaper, pp, final + [pp[1][-1]]),
            _aligned(shaper, avail, final))
    return ir.VectorCall("allocate_available", args, len(final) - 1, len(final)), final


def allocate_by_priority(shaper: _Shaper, e: ir.Call, target: Dims) -> Shaped:
    request = shaper.expr(e.args[0], target)
    name, coords = _allocated(shaper, request)
    priority, width, supply = (shaper.expr(a, target) for a in (e.args[1], e.args[3],
                                                                  e.args[4]))
    if not priority[1] or priority[1][-1][0] != name:
        raise shaper._error(f"ALLOCATE BY PRIORITY's priorities must end with the request's "
                            f"last range {name!r}")
    final = shaper.space.union(request[1][:-1], priority[1][:-1], width[1], supply[1]) \
        + [(name, coords)]
    args = tuple(_aligned(shaper, x, final) for x in (request, priority, width, supply))
    return ir.VectorCall("allocate_by_priority", args, len(final) - 1, len(final)), final


def vector_select(shaper: _Shaper, e: ir.Call, target: Dims) -> Shaped:
    selection, expression = (shaper.expr(a, target) for a in e.args[:2])
    for code, what in ((e.args[3], "numerical action"), (e.args[4], "error action")):
        if not isinstance(code, ir.Num) or code.value not in range(11 if what[0] == "n" else 4):
            raise shaper._error(f"VECTOR SELECT's {what} must be a number "
                                f"({'0-10' if what[0] == 'n' else '0-3'})")
    union = shaper.space.union(selection[1], expression[1])
    reduced = [(n, c) for n, c in union if n.endswith("!")]
    if not reduced:
        raise shaper._error("VECTOR SELECT needs the ranges it selects over marked with !",
                            hint="e.g. VECTOR SELECT(choice[region!], value[region!], 0, 0, 0)")
    kept = [(n, c) for n, c in union if not n.endswith("!")]
    final = kept + reduced
    missing = shaper.expr(e.args[2], target)
    args = (_aligned(shaper, selection, final), _aligned(shaper, expression, final),
            _aligned(shaper, missing, kept), e.args[3], e.args[4])
    return ir.VectorCall("vector_select", args, len(kept), len(final)), kept


RULES: dict[str, Any] = {
    "allocate_available": allocate_available,
    "allocate_by_priority": allocate_by_priority,
    "vector_select": vector_select,
}
