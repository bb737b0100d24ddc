"""The feature DAG: order, cycles, field parents and closures, checked against independent models."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import ProjectDocs, expected_field_downstream, expected_field_parents, load_docs, project_docs

from metaxy_cli.definitions.graph import find_cycle, topological_order
from metaxy_cli.definitions.loader import load_project

PROPERTY = settings(max_examples=80, deadline=None)
NODES = [f"n{i}" for i in range(8)]


@st.composite
def random_digraphs(draw) -> dict[str, list[str]]:
    """Any directed graph (cycles and self-loops allowed); values are each node's deps."""
    nodes = draw(st.lists(st.sampled_from(NODES), min_size=1, unique=True))
    return {node: draw(st.lists(st.sampled_from(nodes), max_size=3)) for node in nodes}


@st.composite
def random_dags(draw) -> dict[str, list[str]]:
    nodes = draw(st.permutations(NODES))[: draw(st.integers(1, len(NODES)))]
    return {node: draw(st.lists(st.sampled_from(nodes[:i]), max_size=3)) if i else [] for i, node in enumerate(nodes)}


def _reachable(deps: dict[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(deps[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(deps[node])
    return seen


@PROPERTY
@given(random_dags(), st.randoms())
def test_topological_order_respects_every_edge_and_ignores_yaml_order(deps, rnd) -> None:
    order = topological_order(deps)
    assert sorted(order) == sorted(deps)
    position = {node: i for i, node in enumerate(order)}
    assert all(position[parent] < position[node] for node, parents in deps.items() for parent in parents)
    items = list(deps.items())
    rnd.shuffle(items)
    assert topological_order(dict(items)) == order


@PROPERTY
@given(random_digraphs())
def test_find_cycle_finds_a_cycle_iff_there_is_one(deps) -> None:
    has_cycle = any(node in _reachable(deps, node) for node in deps)
    cycle = find_cycle(deps)
    assert (cycle is not None) == has_cycle
    if cycle is not None:
        assert cycle[0] == cycle[-1] == min(cycle)
        assert len(set(cycle[:-1])) == len(cycle) - 1
        # printed in data-flow order: each node feeds the next one.
        assert all(feeder in deps[fed] for feeder, fed in zip(cycle, cycle[1:]))


def test_find_cycle_examples() -> None:
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"c": ["b"], "a": ["c"], "b": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"a": [], "b": ["a", "missing"]}) is None


def test_topological_order_leaves_cycles_out() -> None:
    assert topological_order({"a": [], "b": ["c"], "c": ["b"], "d": ["a"]}) == ["a", "d"]


@PROPERTY
@given(project_docs())
def test_field_parents_follow_spec_section_1(docs: ProjectDocs) -> None:
    graph = load_docs(docs).graph
    expected = expected_field_parents(docs)
    assert {ref: set(parents) for ref, parents in graph.field_parents.items()} == expected
    for parents in graph.field_parents.values():
        assert list(parents) == sorted(parents, key=lambda ref: f"{ref[0]}.{ref[1]}")


@PROPERTY
@given(project_docs())
def test_closures_are_inverse_and_match_an_independent_model(docs: ProjectDocs) -> None:
    graph = load_docs(docs).graph
    deps = {doc["key"]: [d if isinstance(d, str) else d["feature"] for d in doc.get("deps") or []] for doc in docs.features}
    for key in deps:
        assert graph.upstream(key) == _reachable(deps, key)
        assert graph.downstream(key) == {other for other in deps if key in graph.upstream(other)}
        assert key not in graph.upstream(key) | graph.downstream(key)
    for ref in graph.field_parents:
        assert graph.field_downstream(ref) == expected_field_downstream(docs, ref)
        assert graph.field_upstream(ref) == {other for other in graph.field_parents if ref in graph.field_downstream(other)}


@PROPERTY
@given(project_docs())
def test_order_and_edges(docs: ProjectDocs) -> None:
    project = load_docs(docs)
    graph = project.graph
    assert graph.order == list(project.features)
    position = {key: i for i, key in enumerate(graph.order)}
    edges = graph.edges()
    assert all(position[dep] < position[key] for dep, key in edges)
    assert sorted(edges) == sorted({(d, k) for k, spec in project.features.items() for d in spec.dep_keys})


def test_overview_graph(overview_dir: Path) -> None:
    graph = load_project(overview_dir).graph
    video, crop, face, stt = "example/video", "example/crop", "example/face_detection", "example/stt"
    assert graph.order == [video, crop, face, stt]
    assert graph.edges() == [(video, crop), (crop, face), (video, stt)]
    assert graph.children[video] == (crop, stt)
    assert graph.upstream(face) == {video, crop}
    assert graph.downstream(video) == {crop, face, stt}
    assert graph.field_parents[(face, "detections")] == ((crop, "frames"),)
    assert graph.field_downstream((video, "audio")) == {(crop, "audio"), (stt, "transcription")}
    assert graph.field_upstream((face, "detections")) == {(crop, "frames"), (video, "frames")}
    assert graph.subgraph_keys([crop], upstream=True, downstream=False) == [video, crop]
    assert graph.subgraph_keys([crop], upstream=False, downstream=True) == [crop, face]
    assert graph.subgraph_keys([stt, crop], upstream=False, downstream=False) == [crop, stt]


def test_implicit_field_resolution_with_two_upstreams() -> None:
    # `frames` takes video.frames, and every field of `labels` (which has no `frames`).
    docs = ProjectDocs(
        {"project": "p"},
        [
            {"key": "video", "fields": [{"key": "audio"}, {"key": "frames"}]},
            {"key": "labels", "fields": [{"key": "boxes"}, {"key": "classes"}]},
            {"key": "clip", "deps": ["video", "labels"], "fields": [{"key": "frames"}, {"key": "all", "deps": "*"}]},
        ],
    )
    graph = load_docs(docs).graph
    assert graph.field_parents[("clip", "frames")] == (("labels", "boxes"), ("labels", "classes"), ("video", "frames"))
    assert len(graph.field_parents[("clip", "all")]) == 4
