"""The package's layout rules, read from the source (no import is run):

- no import cycle among dadao's modules at module level (imports inside functions are lazy by
  intent and not counted);
- no module reaches for another module's private name (``from dadao.x import _y`` or
  ``x._y`` where ``x`` is an imported dadao module);
- every engine name in the code comes from the registry.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

import helpers

PACKAGE = helpers.ROOT / "dadao"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def absolute(name: str, module: str, is_package: bool, level: int) -> str:
    """The absolute module of a (possibly relative) import found in ``module``."""
    if level == 0:
        return name
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def module_level_imports(module: str, path: Path, known: set[str]):
    """(imported dadao module, alias bound in this module or None, line) of every import at
    module level: the top of the file and inside module-level if/try blocks, not in functions."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"

    def walk(body):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("dadao"):
                        yield a.name, a.asname, node.lineno
            elif isinstance(node, ast.ImportFrom):
                base = absolute(node.module or "", module, is_package, node.level)
                if not base.startswith("dadao"):
                    continue
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    if sub in known:  # "from dadao import graphs": the module dadao.graphs
                        yield sub, a.asname or a.name, node.lineno
                    else:
                        yield base, None, node.lineno
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        yield from walk(inner)

    yield from walk(tree.body)


def parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:k]) for k in range(1, len(parts))]


def import_graph() -> nx.DiGraph:
    """An edge a -> b when module a imports module b at module level. Importing dadao.x.y also
    runs the package dadao.x, except from inside dadao.x itself (a package's modules import
    their siblings while the package is being initialised)."""
    known = set(modules())
    G = nx.DiGraph()
    G.add_nodes_from(known)
    for module, path in modules().items():
        for target, _, _ in module_level_imports(module, path, known):
            for t in parents(target) + [target]:
                if t in known and t != module and t != "dadao" \
                        and not (module == t or module.startswith(t + ".")):
                    G.add_edge(module, t)
    return G


def test_no_import_cycle_at_module_level():
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "module-level import cycles: " + "; ".join(
        " -> ".join(c + [c[0]]) for c in cycles[:10])


def test_the_check_sees_a_cycle():
    """The rule itself: a two-module circle is found."""
    G = nx.DiGraph([("dadao.a", "dadao.b"), ("dadao.b", "dadao.a")])
    assert list(nx.simple_cycles(G))
    assert import_graph().number_of_edges() > 50  # it reads the real imports


def test_no_private_name_crosses_a_module():
    known = set(modules())
    found = []
    for module, path in modules().items():
        tree = ast.parse(path.read_text(), filename=str(path))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = absolute(node.module or "", module, path.name == "__init__.py",
                                node.level)
                for a in node.names:
                    if base.startswith("dadao") and a.name.startswith("_") \
                            and not a.name.startswith("__") and base != module:
                        found.append(f"{module}:{node.lineno} imports {base}.{a.name}")
                    if f"{base}.{a.name}" in known:
                        aliases[a.asname or a.name] = f"{base}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in known and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__") and aliases[node.value.id] != module:
                found.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not found, "\n".join(found)


def test_engine_names_come_from_the_registry():
    """Only dadao/engines/__init__.py lists the engines: no other module spells a choice of
    engines as a literal tuple."""
    from dadao import engines

    names = set(engines.names())
    for module, path in modules().items():
        if module == "dadao.engines":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                assert not (values >= names), f"{module}:{node.lineno} lists the engines"
