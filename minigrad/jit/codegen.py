"""From a recording to Python: straight-line code that makes the same torch calls.

    t1 = torch.nn.functional.linear(xb, weight_0, bias_0)
    ...
    d_t0 = d_t1 * t1 * (1 - t1)

Each call becomes one line in the order it ran, or, when its result is used once and nothing in
between could change what it read, part of the expression that uses it (so a backward rule reads
as its formula). Tensors get the names minigrad knows them by: the step's arguments, the
parameters' names, an op's output, `d_x` for a gradient; the rest t0, t1, ... Operators print as
operators (`a * b`, `x[0:2]`, `x.T`), methods as methods, functions as `torch.f` or `F.f`.
A comment opens each stretch of calls with what it does: an op's forward or backward (with the
op's rule), a gradient landing in `.grad`, an optimizer's update.

The same text is what runs: `Program.function()` compiles it.
"""

from __future__ import annotations

import builtins
import math
import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from .recording import Call, Recording, Ref, ValueShapeChanged, identifier, literal

# Binary operators, as torch's methods; and their Python precedence (higher binds tighter).
OPERATORS = {
    "add": "+", "sub": "-", "mul": "*", "div": "/", "true_divide": "/", "matmul": "@",
    "pow": "**", "__and__": "&", "__or__": "|", "__xor__": "^", "lt": "<", "le": "<=",
    "gt": ">", "ge": ">=", "eq": "==", "ne": "!=", "remainder": "%", "floor_divide": "//",
    "__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__matmul__": "@",
    "__pow__": "**", "__lt__": "<", "__le__": "<=", "__gt__": ">", "__ge__": ">=",
    "__eq__": "==", "__ne__": "!=",
}  # fmt: skip
REFLECTED = {
    "__radd__": "+", "__rsub__": "-", "__rmul__": "*", "__rdiv__": "/", "__rtruediv__": "/",
    "__rmatmul__": "@", "__rpow__": "**",
}  # fmt: skip
PRECEDENCE = {
    "<": 1, "<=": 1, ">": 1, ">=": 1, "==": 1, "!=": 1, "|": 2, "^": 3, "&": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "@": 6, "unary": 7, "**": 8,
}  # fmt: skip
ATOM = 10  # names, calls, attributes, subscripts


@dataclass
class Expression:
    text: str
    precedence: int = ATOM

    def at_least(self, precedence: int) -> str:
        return self.text if self.precedence >= precedence else f"({self.text})"


@dataclass
class Program:
    """Generated code and the names it needs: `source` defines `function_name(*inputs)`."""

    source: str
    namespace: dict[str, Any]
    function_name: str
    names: dict[Ref, str] = field(default_factory=dict)

    def function(self) -> Any:
        scope = dict(self.namespace)
        exec(compile(self.source, f"<minigrad {self.function_name}>", "exec"), scope)
        return scope[self.function_name]


class Generator:
    """Writes one recording as a function (see the module's docstring)."""

    def __init__(
        self,
        recording: Recording,
        function_name: str,
        outputs: list[Ref],
        names: dict[Ref, str] | None = None,
        comments: bool = True,
        inline: bool = True,
        drop_dead: bool = False,
    ) -> None:
        self.recording = recording
        self.function_name = function_name
        self.outputs = outputs
        self.comments = comments
        self.drop_dead = drop_dead
        self.namespace: dict[str, Any] = {"torch": torch, "F": F, "math": math}
        self.uncopied = self._uncopied()
        self.names = self._name_values(names or {})
        self.inlined = self._inlinable() if inline else {}

    # ---- names ------------------------------------------------------------------------------

    def _name_values(self, given: dict[Ref, str]) -> dict[Ref, str]:
        """A Python name for every value, used once: a second matmul is matmul_2, and a name made
        from another value's follows the name that one got (d_matmul_2 is matmul_2's gradient,
        param_2_grad param_2's .grad). A value takes over the name of one only where the line
        that makes it reads that one, and nothing after reads it: `d_x = d_x + ...` (gradients
        that add up read as they do in the engine)."""
        values, calls = self.recording.values, self.recording.calls
        last_use: dict[Ref, int] = {}
        for i, call in enumerate(calls):
            for ref in call.reads:
                last_use[ref] = i
        kept = set(self.outputs)
        taken = set(self.namespace) | set(dir(builtins))  # no `abs = ...` hiding abs()
        holder: dict[str, Ref] = {}
        names: dict[Ref, str] = {}
        counter = 0

        def assign(i: int) -> str:
            nonlocal counter
            ref, value = Ref(i), values[i]
            known = names.get(ref)
            if known is not None:
                return known
            wanted = given.get(ref)
            if wanted is None and value.derived is not None:
                template, source = value.derived
                wanted = template.format(assign(source.index))
            if wanted is None:
                wanted = value.name
            if wanted is None:
                wanted, counter = f"tmp{counter}", counter + 1
            base = name = identifier(wanted)
            held = holder.get(name)
            free = (
                held is not None
                and value.kind == "internal"
                and values[held.index].kind == "internal"
                and held not in kept
                and value.call is not None
                and held in calls[value.call].reads
                and last_use.get(held, -1) <= value.call
            )
            k = 2
            while name in taken and not (name == base and free):
                name, k = f"{base}_{k}", k + 1
            taken.add(name)
            holder[name] = ref
            names[ref] = name
            if value.kind == "outside":
                self.namespace[name] = value.tensor
            return name

        # The inputs first, then the values the code uses, in order; last the ones only a comment
        # names (a .grad the step replaced unread): those take a _2 if it comes to that.
        used = set(self.outputs)
        for call in calls:
            used.update(call.reads)
            used.update(refs_in(call.out))
        order = sorted(
            range(len(values)), key=lambda i: (values[i].kind != "input", Ref(i) not in used, i)
        )
        for i in order:
            assign(i)
        return names

    def _uncopied(self) -> set[Ref]:
        """The copies the replay can skip: `y = x.clone()` where nothing but this copy uses x
        and no other tensor shares x's memory (a gradient landing in `.grad`, which the engine
        copies because in general it cannot know that). The code then says `y = x`."""
        uses: Counter[Ref] = Counter(ref for call in self.recording.calls for ref in call.reads)
        uses.update(self.outputs)
        skipped = set()
        for call in self.recording.calls:
            if call.name == "clone" and not call.kwargs and len(call.args) == 1:
                (source,) = call.args
                value = self.recording.values[source.index]
                if value.kind == "internal" and source in self.recording.alone:
                    if uses[source] == 1:
                        skipped.add(call.out)
        return skipped

    def _inlinable(self) -> dict[Ref, Call]:
        """The values to write into the one expression that uses them: made by a call that
        changes nothing and draws no random numbers, used once, in the same stretch of code,
        with no call in between that changes a tensor (so moving the call cannot change what it
        reads), and not named by minigrad (a named value is worth its line)."""
        uses: Counter[Ref] = Counter()
        first_use: dict[Ref, int] = {}
        calls = self.recording.calls
        for i, call in enumerate(calls):
            for ref in call.reads:
                uses[ref] += 1
                first_use.setdefault(ref, i)
        for ref in self.outputs:
            uses[ref] += 2  # returned: keep a name
        changes = [i for i, call in enumerate(calls) if call.in_place or call.random]
        inlined: dict[Ref, Call] = {}
        for i, call in enumerate(calls):
            ref = call.out
            if not isinstance(ref, Ref) or call.in_place or call.random or uses[ref] != 1:
                continue
            if call.value_shapes is not None:  # its shape is checked on the next line
                continue
            value = self.recording.values[ref.index]
            if value.kind != "internal" or value.call != i or value.name is not None:
                continue
            j = first_use[ref]
            if calls[j].region is not call.region or any(i < k < j for k in changes):
                continue
            inlined[ref] = call
        return inlined

    # ---- expressions --------------------------------------------------------------------------

    def value(self, ref: Ref) -> Expression:
        call = self.inlined.get(ref)
        if call is not None:
            return self.expression(call)
        return Expression(self.names[ref])

    def argument(self, value: Any, top: bool = True) -> str:
        """Source for one argument of a call."""
        if isinstance(value, Ref):
            return self.value(value).text
        if isinstance(value, (list, tuple)) and any(refs_in(value)):
            parts = [self.argument(v, False) for v in value]
            if isinstance(value, list):
                return "[" + ", ".join(parts) + "]"
            return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        text = literal(value)
        if text is not None:
            return text
        return self.constant(value)

    def constant(self, value: Any) -> str:
        """A value with no literal (a generator, an index array) goes in the namespace."""
        for name, known in self.namespace.items():
            if known is value:
                return name
        count = sum(1 for n in self.namespace if re.fullmatch(r"c\d+", n))
        name = f"c{count}"
        self.namespace[name] = value
        return name

    def key(self, value: Any) -> str:
        """An index, written as Python writes one: x[0, 1:3, ...]."""
        parts = value if isinstance(value, tuple) else (value,)
        texts = []
        for part in parts:
            if isinstance(part, slice) and all(
                v is None or isinstance(v, int) for v in (part.start, part.stop, part.step)
            ):
                start, stop = _int_text(part.start), _int_text(part.stop)
                step = "" if part.step is None else f":{part.step}"
                texts.append(f"{start}:{stop}{step}")
            elif part is None:
                texts.append("None")
            else:
                texts.append(self.argument(part, False))
        if isinstance(value, tuple) and len(texts) == 1:
            return texts[0] + ","
        return ", ".join(texts)

    def expression(self, call: Call) -> Expression:
        """A call as a Python expression (operators as operators)."""
        name, args, kwargs = call.name, call.args, call.kwargs
        # A renaming (an `=`, or a copy the replay skips): the value itself. The clone only: a
        # later in-place call on the copy (p.grad.mul_(...)) has the same out and must stay.
        if name == "=" or (name == "clone" and call.out in self.uncopied):
            return self.value(args[0])
        if name in OPERATORS and len(args) == 2 and not kwargs:
            return self._binary(OPERATORS[name], args[0], args[1])
        if name in REFLECTED and len(args) == 2 and not kwargs:
            return self._binary(REFLECTED[name], args[1], args[0])
        if name in ("neg", "__neg__") and len(args) == 1 and not kwargs:
            return Expression("-" + self.value_or_literal(args[0], PRECEDENCE["unary"]), 7)
        if name == "__getitem__":
            target = self.value_or_literal(args[0], ATOM)
            return Expression(f"{target}[{self.key(args[1])}]")
        if _is_attribute(call):
            return Expression(f"{self.value_or_literal(args[0], ATOM)}.{name}")
        rendered = [self.argument(a) for a in args] + [
            f"{k}={self.argument(v)}" for k, v in kwargs.items()
        ]
        if _is_method(call):
            target, rest = self.value_or_literal(args[0], ATOM), rendered[1:]
            return Expression(f"{target}.{name}({', '.join(rest)})")
        return Expression(f"{self.function_path(call)}({', '.join(rendered)})")

    def value_or_literal(self, value: Any, precedence: int) -> str:
        if isinstance(value, Ref):
            return self.value(value).at_least(precedence)
        text = self.argument(value)
        return text if re.fullmatch(r"[\w.]+", text) else f"({text})"

    def _binary(self, symbol: str, left: Any, right: Any) -> Expression:
        precedence = PRECEDENCE[symbol]
        tighter_left = symbol == "**"  # ** groups from the right; the others from the left
        a = self.value_or_literal(left, precedence + tighter_left)
        b = self.value_or_literal(right, precedence + (not tighter_left))
        return Expression(f"{a} {symbol} {b}", precedence)

    def function_path(self, call: Call) -> str:
        """How to call a torch function by its public name: torch.f, F.f, or a namespace name."""
        func, name = call.func, call.name
        if getattr(torch, name, None) is func:
            return f"torch.{name}"
        if getattr(F, name, None) is func:
            return f"F.{name}"
        if getattr(torch.Tensor, name, None) is func:
            return f"torch.Tensor.{name}"
        if getattr(torch.ops.aten, name, None) is func:  # a derivative kernel (ReLU's, say)
            return f"torch.ops.aten.{name}"
        return self.constant(func)

    # ---- the function ---------------------------------------------------------------------

    def statement(self, index: int, call: Call) -> str | None:
        """The line for a call (None when it is written into another line)."""
        defines = isinstance(call.out, Ref) and self.recording.values[call.out.index].call == index
        if defines and call.out in self.inlined:
            return None  # written into the line that uses it
        if call.name == "__setitem__":
            target = self.value_or_literal(call.args[0], ATOM)
            return f"{target}[{self.key(call.args[1])}] = {self.argument(call.args[2])}"
        expression = self.expression(call).text
        if call.out is None or call.in_place:
            return expression
        if isinstance(call.out, Ref):
            if self.recording.values[call.out.index].call != index:  # gave back its input
                return expression
            return f"{self.names[call.out]} = {expression}"
        names = ("_" if r is None else self.names[r] for r in call.out)  # None: not computed
        return ", ".join(names) + f" = {expression}"

    def body(self) -> str:
        """The function's lines, without its `def` and `return`. With `drop_dead`, a `del` after
        the line that last reads a value: its memory goes back as soon as the step is done with
        it, as torch's backward frees each saved tensor once its node has run (the fastbook
        CNN's replay, holding every activation and gradient to the end, took ~4,000 page faults
        a step on the CPU and ran 10 to 20% slower, step after step)."""
        lines = []
        region = None
        dead_after = self._dead_after() if self.drop_dead else {}
        for index, call in enumerate(self.recording.calls):
            line = self.statement(index, call)
            if line is None:
                continue
            if self.comments and call.region is not region:
                region = call.region
                title = region.title.format(*(self.names[ref] for ref in region.refs))
                comment = title + (f"    {region.rule}" if region.rule else "")
                lines += textwrap.wrap(comment, 96, initial_indent="# ", subsequent_indent="#     ")
            lines.append(line)
            if call.value_shapes is not None:
                lines += self.shape_checks(call)
            if index in dead_after:
                lines.append("del " + ", ".join(dead_after[index]))
        return "\n".join(lines) + "\n"

    def _dead_after(self) -> dict[int, list[str]]:
        """For each line (the index of the call it writes), the names it is the last to read or
        that it makes and nothing reads: values the step made, not returned."""
        calls, values = self.recording.calls, self.recording.values
        consumer: dict[Ref, int] = {}  # an inlined value's line is the line that uses it
        for i, call in enumerate(calls):
            for ref in call.reads:
                consumer.setdefault(ref, i)

        def line_of(i: int) -> int:
            out = calls[i].out
            while isinstance(out, Ref) and out in self.inlined and values[out.index].call == i:
                i = consumer[out]
                out = calls[i].out
            return i

        last: dict[Ref, int] = {}
        for i, call in enumerate(calls):
            line = line_of(i)
            made = call.out if isinstance(call.out, tuple) else (call.out,)
            for ref in (*call.reads, *made):
                if isinstance(ref, Ref) and last.get(ref, -1) < line:
                    last[ref] = line
        dead: dict[int, list[str]] = {}
        kept = set(self.outputs)
        for ref, line in last.items():
            if values[ref.index].kind != "internal" or ref in kept or ref in self.inlined:
                continue
            name = self.names[ref]
            out = calls[line].out
            if any(self.names[r] == name for r in refs_in(out) if r != ref):
                continue  # the line hands the name to the value it makes (d_x = d_x + ...)
            dead.setdefault(line, []).append(name)
        return {line: sorted(set(names)) for line, names in dead.items()}

    def shape_checks(self, call: Call) -> list[str]:
        """After a call whose result's shape depends on values (x[mask]): the later calls were
        recorded for the shape it had then, so a replay goes on only if it is the same."""
        self.namespace["ValueShapeChanged"] = ValueShapeChanged
        outs = call.out if isinstance(call.out, tuple) else (call.out,)
        lines = ["# (its shape depends on values: the rest was recorded for this one)"]
        for ref, shape in zip(outs, call.value_shapes):
            expected = literal(tuple(shape))
            lines.append(f"if {self.names[ref]}.shape != {expected}: raise ValueShapeChanged")
        return lines if self.comments else lines[1:]

    def source(self) -> str:
        inputs = ", ".join(self.names[ref] for ref in self.recording.inputs)
        body = "".join(f"    {line}\n" for line in self.body().splitlines())
        returned = ", ".join(self.names[ref] for ref in self.outputs)
        end = f"    return ({returned}{',' if len(self.outputs) == 1 else ''})\n"
        return f"def {self.function_name}({inputs}):\n{body}{end}"

    def program(self) -> Program:
        return Program(self.source(), self.namespace, self.function_name, self.names)


def _int_text(value: int | None) -> str:
    return "" if value is None else str(value)


def _is_method(call: Call) -> bool:
    qualname = getattr(call.func, "__qualname__", "")
    return qualname.startswith(("TensorBase.", "Tensor.", "_TensorBase."))


def _is_attribute(call: Call) -> bool:
    return getattr(call.func, "__name__", None) == "__get__"


def refs_in(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in refs_in(v)]
    return []
