"""The DAG of features and of fields: order, resolved field parents, closures."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from functools import cached_property

from metaxy_cli.definitions.keys import fq_field
from metaxy_cli.definitions.model import ALL_UPSTREAM_FIELDS, FeatureSpec

FieldRef = tuple[str, str]  # (feature key, field key)


def topological_order(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """Kahn's algorithm with ties broken by key, so the order never depends on YAML order.

    Keys that sit on a cycle are left out; `find_cycle` reports them.
    """
    indegree = {node: 0 for node in deps}
    children: dict[str, list[str]] = {node: [] for node in deps}
    for node, parents in deps.items():
        for parent in set(parents):
            if parent in indegree:
                indegree[node] += 1
                children[parent].append(node)
    ready = [node for node, count in indegree.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    return order


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle as `[a, b, a]`, starting at its smallest key, or None when the graph is a DAG."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(deps):
        if state.get(start):
            continue
        path: list[str] = []
        stack = [(start, iter(sorted(set(deps[start]))))]
        state[start] = 1
        path.append(start)
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                state[node] = 2
                path.pop()
                stack.pop()
            elif parent not in deps or state.get(parent) == 2:
                continue
            elif state.get(parent) == 1:
                # deps point upstream; print the cycle in data-flow order (dep -> dependant).
                cycle = list(reversed(path[path.index(parent) :]))
                pivot = cycle.index(min(cycle))
                cycle = cycle[pivot:] + cycle[:pivot]
                return cycle + [cycle[0]]
            else:
                state[parent] = 1
                path.append(parent)
                stack.append((parent, iter(sorted(set(deps[parent])))))
    return None


def resolve_field_parents(feature: FeatureSpec, upstream: Mapping[str, FeatureSpec]) -> dict[str, tuple[FieldRef, ...]]:
    """Parent fields of each field of `feature` (spec section 1), sorted by fq name, de-duplicated."""
    resolved: dict[str, tuple[FieldRef, ...]] = {}
    for spec in feature.fields:
        parents: set[FieldRef] = set()
        if feature.is_root:
            pass
        elif spec.deps == ALL_UPSTREAM_FIELDS:
            for dep in feature.deps:
                parents.update((dep.feature, key) for key in upstream[dep.feature].field_keys())
        elif spec.deps is not None:
            for field_dep in spec.deps:
                keys = field_dep.fields or upstream[field_dep.feature].field_keys()
                parents.update((field_dep.feature, key) for key in keys)
        else:
            for dep in feature.deps:
                keys = upstream[dep.feature].field_keys()
                chosen = (spec.key,) if spec.key in keys else keys
                parents.update((dep.feature, key) for key in chosen)
        resolved[spec.key] = tuple(sorted(parents, key=lambda ref: fq_field(*ref)))
    return resolved


class FeatureGraph:
    """A validated feature DAG. Build it from features that passed the loader's checks."""

    def __init__(self, features: Mapping[str, FeatureSpec]):
        self.features = features
        self.order = topological_order({key: spec.dep_keys for key, spec in features.items()})
        self.field_parents: dict[FieldRef, tuple[FieldRef, ...]] = {}
        for key in self.order:
            spec = features[key]
            for field_key, parents in resolve_field_parents(spec, features).items():
                self.field_parents[(key, field_key)] = parents

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {key: [] for key in self.order}
        for key in self.order:
            for parent in self.features[key].dep_keys:
                found[parent].append(key)
        return {key: tuple(sorted(set(kids))) for key, kids in found.items()}

    @cached_property
    def field_children(self) -> dict[FieldRef, tuple[FieldRef, ...]]:
        found: dict[FieldRef, list[FieldRef]] = {ref: [] for ref in self.field_parents}
        for ref, parents in self.field_parents.items():
            for parent in parents:
                found[parent].append(ref)
        return {ref: tuple(sorted(kids)) for ref, kids in found.items()}

    def upstream(self, key: str) -> set[str]:
        """Every feature `key` depends on, transitively (excluding itself)."""
        return _closure(key, lambda node: self.features[node].dep_keys)

    def downstream(self, key: str) -> set[str]:
        """Every feature depending on `key`, transitively (excluding itself)."""
        return _closure(key, lambda node: self.children[node])

    def field_upstream(self, ref: FieldRef) -> set[FieldRef]:
        return _closure(ref, lambda node: self.field_parents[node])

    def field_downstream(self, ref: FieldRef) -> set[FieldRef]:
        return _closure(ref, lambda node: self.field_children[node])

    def edges(self) -> list[tuple[str, str]]:
        """(dep, dependant) pairs in topological order of the dependant."""
        return [(dep, key) for key in self.order for dep in sorted(set(self.features[key].dep_keys))]

    def subgraph_keys(self, keys: Iterable[str], *, upstream: bool, downstream: bool) -> list[str]:
        """The selected features plus their closures, in topological order."""
        chosen: set[str] = set()
        for key in keys:
            chosen.add(key)
            if upstream:
                chosen |= self.upstream(key)
            if downstream:
                chosen |= self.downstream(key)
        return [key for key in self.order if key in chosen]


def _closure(start, neighbours) -> set:
    seen: set = set()
    stack = list(neighbours(start))
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(neighbours(node))
    return seen
