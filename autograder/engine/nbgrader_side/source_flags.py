"""The grading side's second line against tampering: what the submission's source uses.

The refusal of built-ins (``guard.py``) runs inside the worker, the student's own process,
where code can always undo it (redispatching an operator below the Python dispatch key,
rewriting the guard's tables). This module never runs student code: it reads the answer
cells' source, as grading runs it (after IPython's transformation of magics), with Python's
``ast``, and flags every use of internals no exercise needs: torch's private namespaces and
dispatch machinery, ctypes, tracing hooks, frame and ``gc`` walking, the grader's own names,
threads, builtins tampering, and the dynamic access that hides a name (``getattr`` with a
computed name, ``exec``/``eval``/``compile``, ``__import__``/``importlib``, ``sys.modules``,
dunder names built from pieces). A cell that does not parse is not flagged (it fails when
it runs). ``affected_checks`` says which check cells a flag holds for the instructor.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autograder import cell_conventions

# One short sentence an instructor understands, per class of flag.
RULES = {
    "torch_private": "reaches a private part of torch (a name starting with _), which no exercise needs",
    "torch_internal": "uses torch's operator/dispatch internals (torch.ops, torch.library, overrides, jit, ...), "
                      "which can compute a built-in behind the grader's checks",
    "dispatch": "uses torch's dispatch machinery (dispatch keys, redispatch, __torch_dispatch__/__torch_function__), "
                "which can run an operator below the grader's checks",
    "numpy_private": "reaches a private part of numpy (a name starting with _), which no exercise needs",
    "ctypes": "loads C code or raw memory access (ctypes/cffi), which can change anything in the grading process",
    "hooks": "installs or inspects tracing hooks (setprofile/settrace/_getframe), the grader's own machinery",
    "frames": "walks the call stack's frames, where the grader's own state lives",
    "gc": "walks the garbage collector's objects (gc.get_objects/get_referrers/get_referents) to reach hidden ones",
    "guard": "refers to the grader's own code or names",
    "builtins": "changes or reaches Python's builtins behind the names it uses",
    "pipes": "works on the process's raw file descriptors or starts other programs (os.read/os.dup2/os.pipe, "
             "/proc, subprocess), where the grader's own pipes to this process are; no exercise needs them",
    "threads": "runs code in threads, where in-process checks are easiest to slip past; no exercise needs threads",
    "dynamic_attr": "reads or writes an attribute whose name is computed, which hides what it reaches",
    "dynamic_names": "looks names up in a namespace (globals/vars/__dict__/dir of a module) by a computed key",
    "dynamic_code": "runs code built at run time (exec/eval/compile or code objects), which hides what it does",
    "dynamic_import": "imports a module by a computed name (__import__/importlib/sys.modules), which hides what it loads",
    "dunder_write": "overwrites a Python special attribute (__qualname__, __getattr__, ...), which can disguise code",
    "dunder_built": "builds a special (__dunder__) name from pieces, which hides what it reaches",
    "special_attr": "reaches Python internals through special attributes (__globals__, __code__, __subclasses__, ...)",
}

# Names the answer cells see from the instructor's setup cells, without importing them.
DEFAULT_ALIASES = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "np": "numpy", "numpy": "numpy",
                   "math": "math"}

TORCH_INTERNAL = ("torch.ops", "torch.library", "torch.overrides", "torch.utils.cpp_extension", "torch.jit",
                  "torch.fx", "torch.compile", "torch.export", "torch.classes", "torch.utils.hooks")
# Modules whose import is a flag of its own: module (prefix) -> rule.
MODULES = {"ctypes": "ctypes", "_ctypes": "ctypes", "cffi": "ctypes", "importlib": "dynamic_import",
           "builtins": "builtins", "__builtin__": "builtins", "autograder": "guard", "threading": "threads",
           "_thread": "threads", "concurrent": "threads", "marshal": "dynamic_code", "runpy": "dynamic_import",
           "code": "dynamic_code", "codeop": "dynamic_code", "pydoc": "dynamic_import", "pkgutil": "dynamic_import",
           "_testcapi": "ctypes", "_testinternalcapi": "ctypes", "faulthandler": "frames",
           **{m: "pipes" for m in ("posix", "fcntl", "pty", "termios", "socket", "_socket", "subprocess",
                                   "_posixsubprocess", "multiprocessing", "mmap", "selectors", "select")}}
# The os functions on file descriptors and processes (the worker reads its requests from a pipe a
# cell could read ahead, replace with os.dup2, or reopen through /proc: the request relay).
OS_PIPES = ("read", "write", "readv", "writev", "pread", "pwrite", "preadv", "pwritev", "sendfile", "splice",
            "copy_file_range", "dup", "dup2", "pipe", "pipe2", "fdopen", "open", "close", "closerange",
            "set_inheritable", "set_blocking", "openpty", "mkfifo", "fork", "forkpty", "system", "popen",
            "posix_spawn", "posix_spawnp", "spawnv", "spawnve", "spawnvp", "spawnvpe", "spawnl", "spawnle",
            "spawnlp", "spawnlpe", "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp",
            "execlpe", "eventfd", "memfd_create", "lseek", "ftruncate", "fstat", "isatty", "ttyname")
# Paths that name a process's own file descriptors (or another process's).
PIPE_PATHS = re.compile(r"/proc/|/dev/fd|/dev/std(in|out|err)")
# Dotted names (after resolving import aliases) -> rule.
DOTTED = {
    **{f"sys.{n}": "hooks" for n in ("setprofile", "settrace", "_getframe", "_current_frames", "_current_exceptions",
                                      "monitoring", "call_tracing", "_getframemodulename", "getprofile", "gettrace",
                                      "addaudithook", "_clear_type_cache")},
    **{f"threading.{n}": "hooks" for n in ("setprofile", "settrace", "setprofile_all_threads",
                                            "settrace_all_threads")},
    **{f"inspect.{n}": "frames" for n in ("currentframe", "stack", "trace", "getouterframes", "getinnerframes",
                                           "getframeinfo", "getgeneratorlocals", "getcoroutinelocals",
                                           "getclosurevars", "getmodule")},
    **{f"traceback.{n}": "frames" for n in ("walk_stack", "walk_tb", "extract_stack", "print_stack", "format_stack")},
    **{f"gc.{n}": "gc" for n in ("get_objects", "get_referrers", "get_referents", "callbacks")},
    "types.CodeType": "dynamic_code", "types.FunctionType": "dynamic_code", "types.LambdaType": "dynamic_code",
    "operator.attrgetter": None, "operator.methodcaller": None,  # checked as calls
    "pickle.loads": "dynamic_code", "pickle.load": "dynamic_code",
    **{f"os.{n}": "pipes" for n in OS_PIPES},
    "sys.argv": "pipes", "sys.stdin": "pipes", "sys.__stdin__": "pipes", "io.FileIO": "pipes",
    "io.open": "pipes",
}
# Attribute (or imported) names flagged whatever they are reached through.
ANYWHERE = {
    **{n: "torch_private" for n in ("_C", "_ops", "_refs", "_decomp", "_prims", "_prims_common", "_dynamo",
                                    "_python_dispatch", "_VariableFunctions", "_VariableFunctionsClass", "_nn",
                                    "_softmax", "_log_softmax", "_TensorBase", "_make_subclass", "_functorch",
                                    "_inductor", "_subclasses", "_higher_order_ops", "_library",
                                    # torch.optim's fused updates, torch operators of their own
                                    "_fused_adam_", "_fused_adamw_", "_fused_sgd_", "_fused_adagrad_")},
    **{n: "dispatch" for n in ("redispatch", "redispatch_boxed", "__torch_dispatch__", "__torch_function__",
                               "_op", "_handle", "_overloadpacket")},
    **{n: "hooks" for n in ("setprofile", "settrace", "_getframe", "_current_frames", "setprofile_all_threads",
                            "settrace_all_threads", "call_tracing")},
    **{n: "frames" for n in ("f_back", "f_globals", "f_locals", "f_builtins", "f_trace", "f_code", "tb_frame",
                             "tb_next", "gi_frame", "cr_frame", "ag_frame", "gi_code", "cr_code", "currentframe",
                             "getouterframes", "getinnerframes", "walk_stack")},
    **{n: "gc" for n in ("get_objects", "get_referrers", "get_referents")},
    **{n: "special_attr" for n in ("__globals__", "__code__", "__closure__", "__subclasses__", "__getattribute__",
                                   "__loader__", "__spec__", "__base__", "__bases__", "__mro__", "__self__",
                                   "__func__", "__wrapped__", "__reduce__", "__reduce_ex__", "__setattr__",
                                   "__delattr__", "__class_getitem__", "__init_subclass__", "__set_name__",
                                   "__getitem__.__self__")},
    **{n: "builtins" for n in ("__builtins__", "__builtin__")},
    **{n: "dynamic_import" for n in ("__import__", "import_module", "resolve_name", "locate")},
    **{n: "dynamic_code" for n in ("CodeType", "FunctionType")},
    # The grader's own names (worker/guard.py, worker/serve.py) and its modules' names (a module
    # reached without an import, through an object's __module__ or sys.modules), distinctive
    # enough never to be a student's.
    **{n: "guard" for n in ("forbidden", "_forbidden", "ForbiddenBuiltinError", "ALIASES", "OPERATORS",
                            "NUMPY_PATCHABLE", "_ACTIVE_CALL", "_IDLE", "_Checks", "_expand", "_expand_uncached",
                            "_operators_refused", "operators_refused", "_operators_refused_uncached",
                            "_code_tables", "_OP_CALL_IDS", "_OP_CALLS", "_TAMPER_C", "_TAMPER_CODES",
                            "_HOOKS_REMOVED", "watch_threads", "_watch_thread", "_operator_kernel",
                            "_OPERATOR_LIBRARY", "_OPERATORS_WATCHED", "_RefuseTorchFunctions",
                            "_OWN_CODE_IDS", "_OWN_CODES", "_NoMagics", "_OPERATOR_NAMES",
                            "_unwatched_threads", "_refuser", "_THREAD_MODES", "student_proxy", "judge_server",
                            "judge_client", "zygote", "zygotes", "example_replay", "hypothesis_internals")},
}
DISPATCH_WORD = re.compile(r"dispatch", re.IGNORECASE)
# Dunders read on a torch or numpy module or class that hand out its namespace.
MODULE_DUNDERS = {"__dict__", "__getattr__", "__all__"}
NAMESPACE_CALLS = {"globals", "locals", "vars"}
DYNAMIC_ATTR_CALLS = {"getattr", "setattr", "delattr", "hasattr"}
DYNAMIC_CODE_CALLS = {"exec", "eval", "compile", "breakpoint"}
# Built-in functions that, passed around as values, hide the call that uses them.
HIDING_VALUES = DYNAMIC_ATTR_CALLS | DYNAMIC_CODE_CALLS | NAMESPACE_CALLS | {"__import__"}


@dataclass(frozen=True)
class Flag:
    cell: str   # the answer cell's grade_id
    line: int   # 1-based, in the cell as grading runs it
    text: str   # that line, stripped
    rule: str   # a key of RULES

    @property
    def reason(self) -> str:
        return RULES[self.rule]

    def describe(self) -> str:
        return f"cell {self.cell}, line {self.line}: `{self.text}`: {self.reason}"


def transformed(source: str) -> str:
    """The cell as grading runs it: IPython's transformation of magics, as ``worker.py`` does."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # IPython failed on it: the cell runs (and fails) as it is
        return source


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not _is_dunder(name)


def _const_str(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Scanner(ast.NodeVisitor):
    def __init__(self, cell: str, lines: list[str], aliases: dict):
        self.cell, self.lines, self.aliases = cell, lines, aliases
        self.flags: dict[tuple, Flag] = {}
        self.in_membership_test: set[int] = set()

    def flag(self, node, rule: str) -> None:
        line = getattr(node, "lineno", 1)
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.flags.setdefault((line, rule), Flag(self.cell, line, text[:200], rule))

    # -- names
    def dotted(self, node) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def check_dotted(self, node, dotted: str) -> None:
        parts = dotted.split(".")
        root = parts[0]
        if root in MODULES:
            self.flag(node, MODULES[root])
        if root == "torch":
            if any(_is_private(p) for p in parts[1:]):
                self.flag(node, "torch_private")
            if any(dotted == m or dotted.startswith(m + ".") for m in TORCH_INTERNAL):
                self.flag(node, "torch_internal")
            if any(p in MODULE_DUNDERS for p in parts[1:]):
                self.flag(node, "dynamic_names")
        if root == "numpy":
            if any(_is_private(p) for p in parts[1:]):
                self.flag(node, "numpy_private")
            if any(p in MODULE_DUNDERS for p in parts[1:]):
                self.flag(node, "dynamic_names")
        rule = DOTTED.get(dotted)
        if rule:
            self.flag(node, rule)
        if root == "sys" and len(parts) > 1 and parts[1] == "modules" and id(node) not in self.in_membership_test:
            self.flag(node, "dynamic_import")

    def check_name(self, node, name: str, store: bool = False) -> None:
        """An attribute or imported name, whatever it was reached through."""
        rule = ANYWHERE.get(name)
        if rule:
            self.flag(node, rule)
        if DISPATCH_WORD.search(name):
            self.flag(node, "dispatch")
        if store and _is_dunder(name):
            self.flag(node, "dunder_write")

    # -- visitors
    def visit_Import(self, node):
        for alias in node.names:
            self.check_dotted(node, alias.name)
            for part in alias.name.split("."):
                self.check_name(node, part)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level:  # a relative import: nothing of the course's to reach
            return
        self.check_dotted(node, module)
        for part in module.split("."):
            self.check_name(node, part)
        for alias in node.names:
            if alias.name != "*":
                self.check_dotted(node, f"{module}.{alias.name}")
                self.check_name(node, alias.name)
            elif module.split(".")[0] in ("torch", "numpy", "sys", "gc", "inspect"):
                self.flag(node, "dynamic_names")

    def visit_Attribute(self, node):
        dotted = self.dotted(node)
        if dotted:
            self.check_dotted(node, dotted)
        self.check_name(node, node.attr, store=isinstance(node.ctx, (ast.Store, ast.Del)))
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in ("__builtins__", "__builtin__", "__import__", "__loader__", "__spec__"):
            self.flag(node, ANYWHERE[node.id] if node.id in ANYWHERE else "builtins")
        if node.id in ANYWHERE and ANYWHERE[node.id] == "guard":
            self.flag(node, "guard")
        if node.id in ("DispatchKey", "DispatchKeySet") or DISPATCH_WORD.search(node.id) and node.id[0].isupper():
            self.flag(node, "dispatch")
        if isinstance(node.ctx, ast.Store) and node.id in HIDING_VALUES | {"__builtins__", "__name__", "__file__"}:
            self.flag(node, "builtins")
        dotted = self.aliases.get(node.id)
        if dotted and dotted != node.id:  # a name imported from a module: from sys import _getframe as g
            self.check_dotted(node, dotted)

    def visit_Compare(self, node):
        if all(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            for comparator in node.comparators:
                self.in_membership_test.add(id(comparator))
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        dotted = self.dotted(func) or ""
        short = name or (dotted.split(".")[-1] if dotted.startswith("builtins.") else None)
        getter = dotted in ("operator.attrgetter", "operator.methodcaller")
        if short in DYNAMIC_ATTR_CALLS or getter:
            for arg in (node.args[:1] if getter else node.args[1:2]):
                literal = _const_str(arg)
                if literal is None:
                    self.flag(node, "dynamic_attr")
                    continue
                for part in literal.split("."):
                    self.check_name(node, part, store=short in ("setattr", "delattr"))
                base = self.dotted(node.args[0]) if node.args and not getter else None
                if base:
                    self.check_dotted(node, f"{base}.{literal}")
        if (name == "open" or dotted in ("pathlib.Path", "codecs.open")) and node.args:  # io.open: DOTTED
            first = node.args[0]
            if _const_str(first) is None and not isinstance(first, ast.JoinedStr):
                self.flag(node, "pipes")  # open(4) reads the fd numbered 4; a computed path may name one
        if short in DYNAMIC_CODE_CALLS and name is not None:
            self.flag(node, "dynamic_code")
        if name in ("vars", "dir") and node.args and self.dotted(node.args[0]):
            self.flag(node, "dynamic_names")  # a module's names listed: one can be picked without naming it
        if isinstance(func, ast.Attribute) and self._is_namespace(func.value) and func.attr not in (
                "keys", "__contains__", "copy"):
            key = _const_str(node.args[0]) if node.args else None
            if key is None:
                self.flag(node, "dynamic_names")
            else:
                self.check_name(node, key, store=func.attr in ("setdefault", "pop", "update", "__setitem__"))
        self.generic_visit(node)

    def _is_namespace(self, node) -> bool:
        """globals(), locals(), vars(...), X.__dict__, sys.modules: mappings of names."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in NAMESPACE_CALLS:
            return True
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return True
        return self.dotted(node) == "sys.modules"

    def visit_Subscript(self, node):
        if self._is_namespace(node.value):
            key = _const_str(node.slice)
            if key is None:
                self.flag(node, "dynamic_names")
            else:
                for part in key.split("."):
                    self.check_name(node, part, store=isinstance(node.ctx, (ast.Store, ast.Del)))
                if self.dotted(node.value) == "sys.modules":
                    self.check_dotted(node, key)
        self.generic_visit(node)

    def _dunder_piece(self, node) -> bool:
        literal = _const_str(node)
        return literal is not None and (literal.startswith("__") or literal.endswith("__"))

    def visit_BinOp(self, node):
        if isinstance(node.op, (ast.Add, ast.Mod, ast.Mult)) and (self._dunder_piece(node.left)
                                                                   or self._dunder_piece(node.right)):
            self.flag(node, "dunder_built")
        if isinstance(node.op, ast.Mult) and "_" in (_const_str(node.left), _const_str(node.right)):
            self.flag(node, "dunder_built")  # "_" * 2
        folded = _fold(node)
        if folded is not None:
            for part in folded.split("."):
                self.check_name(node, part)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and PIPE_PATHS.search(node.value):
            self.flag(node, "pipes")

    def visit_JoinedStr(self, node):
        if any(self._dunder_piece(v) for v in node.values) and len(node.values) > 1:
            self.flag(node, "dunder_built")
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name in ("__torch_dispatch__", "__torch_function__"):
            self.flag(node, "dispatch")
        if node.name in ("__getattribute__", "__init_subclass__", "__class_getitem__"):
            self.flag(node, "special_attr")
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for base in node.bases:
            dotted = self.dotted(base) or ""
            if dotted.endswith(("TorchDispatchMode", "TorchFunctionMode")):
                self.flag(node, "dispatch")
        self.generic_visit(node)


def _fold(node) -> str | None:
    """The value of a ``+`` of string literals ("_" + "C"), or None."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _fold(node.left), _fold(node.right)
        return left + right if left is not None and right is not None else None
    return _const_str(node)


def _aliases(tree) -> dict:
    """Names bound to modules (and names imported from them) anywhere in the cell, with
    the setup cells' names: name -> dotted name."""
    aliases = dict(DEFAULT_ALIASES)
    for _ in range(2):  # a second pass for aliases of aliases (t = torch; c = t._C)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
                if isinstance(value, (ast.Name, ast.Attribute)):
                    scanner = _Scanner("", [], aliases)
                    dotted = scanner.dotted(value)
                    if dotted:
                        for target in targets:
                            if isinstance(target, ast.Name) and target.id not in DEFAULT_ALIASES:
                                aliases[target.id] = dotted
    return aliases


def scan_cell(cell_id: str, source: str) -> list[Flag]:
    """The flags of one answer cell, in line order; [] for a cell that does not parse."""
    code = transformed(source)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    scanner = _Scanner(cell_id, code.splitlines(), _aliases(tree))
    try:
        scanner.visit(tree)
    except RecursionError:  # nested beyond what a parse allows: treat as unreadable, hide nothing
        scanner.flag(tree.body[0] if tree.body else tree, "dynamic_code")
    return sorted(scanner.flags.values(), key=lambda f: (f.line, f.rule))


def scan_cells(cells) -> list[Flag]:
    """Flags of ``cells``: objects with ``id`` and ``source`` (``student_proxy.Cell``) or (id, source) pairs."""
    flags = []
    for cell in cells:
        cell_id, source = (cell.id, cell.source) if hasattr(cell, "source") else cell
        flags.extend(scan_cell(cell_id, source))
    return flags


# ---------------------------------------------------------------- which check cells a flag holds
def _top_level_names(source: str) -> tuple[set, set]:
    """(names the cell binds at top level, names it reads anywhere)."""
    try:
        tree = ast.parse(transformed(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(), set()
    bound, used = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            bound.update(sub.id for sub in ast.walk(node)
                         if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store))
    used = {sub.id for sub in ast.walk(tree) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}
    return bound, used


def structure_of(cells) -> list[tuple[str, str]]:
    """(grade_id, role) in the order of a notebook's cells, role "setup", "answer" or "check",
    from nbformat cells of the assignment's source notebook (or any notebook of it)."""
    out = []
    for cell in cells:
        role = cell_conventions.role(cell)
        if role in (cell_conventions.ANSWER, cell_conventions.CHECK, cell_conventions.SETUP) \
                and cell_conventions.grade_id(cell):
            out.append((cell_conventions.grade_id(cell), role))
    return out


def affected_checks(structure: list[tuple[str, str]], flags: list[Flag],
                    sources: dict | None = None) -> dict[str, list[Flag]]:
    """check cell grade_id -> the flags that hold it for review. A flagged answer cell holds
    the check cells that follow it (in ``structure``, the source notebook's order) up to the
    next answer cell; a flag in a setup cell, or in a cell ``structure`` does not know, holds
    every check. With ``sources`` (answer grade_id -> its source), a later answer cell that
    uses a name a flagged cell defines is held too: its checks, and so on."""
    checks_of: dict[str, list[str]] = {}
    current = None
    all_checks = [g for g, role in structure if role == "check"]
    answers = [g for g, role in structure if role == "answer"]
    for grade_id, role in structure:
        if role == "answer":
            current = grade_id
            checks_of.setdefault(grade_id, [])
        elif role == "check" and current is not None:
            checks_of[current].append(grade_id)
    by_cell: dict[str, list[Flag]] = {}
    for flag in flags:
        by_cell.setdefault(flag.cell, []).append(flag)
    held: dict[str, list[Flag]] = {}

    def hold(checks, cell_flags):
        for check in checks:
            held.setdefault(check, [])
            held[check].extend(f for f in cell_flags if f not in held[check])

    for cell, cell_flags in by_cell.items():
        if cell not in checks_of:
            hold(all_checks, cell_flags)
        else:
            hold(checks_of[cell], cell_flags)
    if sources:
        names = {a: _top_level_names(sources.get(a, "")) for a in answers}
        tainted = {a: list(by_cell[a]) for a in answers if a in by_cell}
        changed = True
        while changed:
            changed = False
            for answer in answers:
                if answer in tainted:
                    continue
                for source_cell, cell_flags in list(tainted.items()):
                    if names[source_cell][0] & names[answer][1]:
                        tainted[answer] = cell_flags
                        hold(checks_of.get(answer, []), cell_flags)
                        changed = True
                        break
    return {check: held[check] for check in all_checks if check in held} | {
        c: f for c, f in held.items() if c not in all_checks}
