"""Mistakes nobody wrote down: our solution with one small change, graded by the hidden tests.

    python -m instructor.mutants 05_softmax_cross_entropy                       # the course's examples
    python -m instructor.mutants 05_softmax_cross_entropy --max-examples 40 20  # two settings compared
    python -m instructor.mutants 05_softmax_cross_entropy --cell softmax_answer

A mutant is our solution with one change in one answer cell: an operator or comparison
turned, a constant moved by one, a sign or a ``not`` dropped, a keyword argument left out,
a check's ``raise`` removed, two arguments swapped, ``max`` for ``min``, ``sum`` for
``mean``... (``mutants_of``). Each is graded as ``try_hidden`` grades a simulated case (the
judge, the sandboxed worker, the course's limits; without nbgrader), once for each
``--max-examples``; a mutant is caught when it loses a point. The simulated class holds the
mistakes we thought of; these are the ones we did not, so they say how hard the hidden tests
look, and what fewer examples per property would let through.

Prints, per answer cell, how many mutants each setting caught, then the mutants caught with
the most examples but not with fewer, then those no setting caught. Read the last: most change
nothing a rule of the notebook states (``x.sum(dim=-1)`` on a 1-d tensor, a message's
wording), but one that does is a mistake the tests let through.
"""
from __future__ import annotations

import argparse
import ast
import copy
import sys
import time
from dataclasses import dataclass

import nbformat

from autograder.simulated_class import Case, solution_answers
from instructor.paths import notebook_of

# Operators turned into a near neighbour: the slip of a hand, not a rewrite.
BINARY = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
          ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.MatMult: ast.Mult, ast.BitOr: ast.BitAnd,
          ast.BitAnd: ast.BitOr}
COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
# Names (functions, methods, attributes) a student mixes up.
NAMES = {"amax": "amin", "amin": "amax", "max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax",
         "sum": "mean", "mean": "sum", "exp": "log", "log": "exp", "std": "var", "var": "std",
         "float": "long", "unsqueeze": "squeeze", "clone": "detach", "zeros": "ones", "ones": "zeros",
         "zeros_like": "ones_like", "ones_like": "zeros_like", "relu": "sigmoid", "sigmoid": "relu",
         "view": "reshape", "transpose": "permute", "matmul": "mul", "mm": "mul"}


@dataclass(frozen=True)
class Mutant:
    cell: str        # the answer cell's grade id
    line: int        # the line changed, in our solution's cell
    change: str      # what changed, in words
    source: str      # the cell's source, changed

    @property
    def name(self) -> str:
        return f"{self.cell}:{self.line}: {self.change}"


def _untouchable(tree: ast.AST) -> set[int]:
    """Nodes no mutant changes: docstrings and f-strings (a message's words are not graded)."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skip.update(id(n) for n in ast.walk(body[0]))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node))
    return skip


def _changes(node: ast.AST, parent: ast.AST | None):
    """(words, apply) for each change of ``node``; ``apply(n, p)`` makes it on ``n``, the node at
    ``node``'s place in a copy of the tree, and its parent ``p`` (it edits in place)."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        new = BINARY[type(node.op)]
        yield (f"{type(node.op).__name__} -> {new.__name__}", lambda n, p: setattr(n, "op", new()))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE:
                new = COMPARE[type(op)]
                yield (f"{type(op).__name__} -> {new.__name__}",
                       lambda n, p, i=i, new=new: n.ops.__setitem__(i, new()))
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield (f"{type(node.op).__name__} -> {new.__name__}", lambda n, p: setattr(n, "op", new()))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield (f"{type(node.op).__name__} dropped", lambda n, p: _replace(p, n, n.operand))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield (f"{node.value} -> {not node.value}", lambda n, p: setattr(n, "value", not n.value))
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        for delta in (1, -1):
            new_value = node.value + delta
            yield (f"{node.value!r} -> {new_value!r}", lambda n, p, v=new_value: setattr(n, "value", v))
    elif isinstance(node, ast.Attribute) and node.attr in NAMES:
        yield (f".{node.attr} -> .{NAMES[node.attr]}", lambda n, p: setattr(n, "attr", NAMES[n.attr]))
    elif isinstance(node, ast.Name) and node.id in NAMES and isinstance(parent, ast.Call) and parent.func is node:
        yield (f"{node.id} -> {NAMES[node.id]}", lambda n, p: setattr(n, "id", NAMES[n.id]))
    elif isinstance(node, ast.Call):
        for i, keyword in enumerate(node.keywords):
            if keyword.arg is not None:
                yield (f"{keyword.arg}= left out", lambda n, p, i=i: n.keywords.pop(i))
        if len(node.args) == 2 and not any(isinstance(a, ast.Starred) for a in node.args):
            yield ("arguments swapped", lambda n, p: n.args.reverse())
    elif isinstance(node, ast.Raise):
        yield ("raise removed", lambda n, p: _replace(p, n, ast.Pass()))


def _replace(parent: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    value[i] = new
                    return
    raise ValueError("node not found in its parent")


def _nodes_with_parents(tree: ast.AST):
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            yield child, parent


def mutants_of(cell: str, source: str) -> list[Mutant]:
    """Every mutant of one answer cell's ``source``: one change each, distinct, each compiles and
    differs from ``source`` once unparsed (comments go: they grade nothing)."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    skip = _untouchable(tree)
    found: dict[str, Mutant] = {}
    for index, (node, parent) in enumerate(_nodes_with_parents(tree)):
        if id(node) in skip:
            continue
        for words, apply in list(_changes(node, parent)):
            # Made in a copy, on the node at the same place in it (a change reads only its arguments).
            changed = copy.deepcopy(tree)
            target, target_parent = list(_nodes_with_parents(changed))[index]
            apply(target, target_parent)
            text = ast.unparse(ast.fix_missing_locations(changed))
            if text == original or text in found:
                continue
            try:
                compile(text, f"<mutant of {cell}>", "exec")
            except SyntaxError:
                continue
            line = getattr(node, "lineno", 0)
            alike = sum(1 for m in found.values() if m.line == line and m.change.split(" #")[0] == words)
            found[text] = Mutant(cell, line, f"{words} #{alike + 1}" if alike else words, text)
    return list(found.values())


def caught(assignment: str, mutant: Mutant | None, max_examples: int | None) -> bool:
    """Whether the hidden tests take a point from our solution with ``mutant``'s change (None:
    our solution as it is, which must keep them all)."""
    from instructor import try_hidden

    answers = {} if mutant is None else {mutant.cell: mutant.source}
    case = Case(mutant.name if mutant else "solution", "a mutant of our solution", answers=answers)
    results = try_hidden.run(assignment, case=case, max_examples=max_examples)
    if results["collection_errors"]:
        raise RuntimeError(f"the hidden tests of {assignment} did not load: {results['collection_errors']}")
    return bool(try_hidden.cells_lost(results))


def study(assignment: str, settings: list[int | None], cells: list[str] | None = None,
          out=sys.stdout) -> dict:
    """Grade every mutant of ``assignment``'s solution (of ``cells``, default all) at each setting
    of examples per property; returns {setting: {mutant name: caught}} and prints the summary."""
    source_nb = nbformat.read(notebook_of(assignment), as_version=4)
    answers = solution_answers(source_nb)
    unknown = set(cells or ()) - set(answers)
    if unknown:
        raise SystemExit(f"{assignment} has no answer cell {sorted(unknown)}; it has {sorted(answers)}")
    mutants = [m for cell, source in answers.items() if not cells or cell in cells for m in mutants_of(cell, source)]
    assert len({m.name for m in mutants}) == len(mutants), "two mutants of one name"
    verdicts: dict = {}
    for setting in settings:
        label = "the course's setting" if setting is None else f"max_examples {setting}"
        # Our solution first: it keeps no point from nobody, and its passing run is what a judge
        # keeps and replays for the mutants after it (example_replay).
        if caught(assignment, None, setting):
            raise SystemExit(f"our solution of {assignment} loses points at {label}: fix that first")
        verdicts[setting] = {}
        started = time.monotonic()
        for done, mutant in enumerate(mutants, 1):
            verdicts[setting][mutant.name] = caught(assignment, mutant, setting)
            if done % 10 == 0 or done == len(mutants):
                print(f"  {label}: {done}/{len(mutants)} mutants graded, "
                      f"{sum(verdicts[setting].values())} caught ({time.monotonic() - started:.0f} s)",
                      file=out, flush=True)
    report(assignment, mutants, settings, verdicts, out)
    return verdicts


def report(assignment: str, mutants: list[Mutant], settings: list, verdicts: dict, out=sys.stdout) -> None:
    names = ["course" if s is None else str(s) for s in settings]
    print(f"\n{assignment}: mutants caught, per answer cell and examples per property", file=out)
    print(f"  {'cell':<32} {'mutants':>7} " + " ".join(f"{n:>8}" for n in names), file=out)
    for cell in dict.fromkeys(m.cell for m in mutants):
        mine = [m for m in mutants if m.cell == cell]
        counts = " ".join(f"{sum(verdicts[s][m.name] for m in mine):>8}" for s in settings)
        print(f"  {cell:<32} {len(mine):>7} {counts}", file=out)
    most = settings[0]
    for setting, name in zip(settings[1:], names[1:]):
        missed = [m for m in mutants if verdicts[most][m.name] and not verdicts[setting][m.name]]
        print(f"\n  caught with {names[0]} but not with {name}: {len(missed)}", file=out)
        for m in missed:
            print(f"    {m.name}", file=out)
    survivors = [m for m in mutants if not any(verdicts[s][m.name] for s in settings)]
    print(f"\n  caught by no setting: {len(survivors)} (a change no rule states, or a mistake let through)",
          file=out)
    for m in survivors:
        print(f"    {m.name}\n      " + m.source.replace("\n", "\n      "), file=out)


def main(argv=None) -> None:
    from autograder.engine.nbgrader_side.judge_client import stop_all

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--max-examples", type=int, nargs="+", default=[None],
                        help="examples per property, one grading of every mutant each (most first); "
                             "default: the course's setting")
    parser.add_argument("--cell", action="append", help="only this answer cell's mutants (repeatable)")
    args = parser.parse_args(argv)
    if any(n is not None and n < 1 for n in args.max_examples):
        parser.error("--max-examples must be positive")
    try:
        study(args.assignment, args.max_examples, args.cell)
    finally:
        stop_all()


if __name__ == "__main__":
    main()
