"""Property tests of spec section 7: for random small expansions and aggregations, the increment
the store computes equals a straightforward Python recomputation of the semantics (a model that
keeps the stored rows in dicts and hashes with hashlib)."""

from __future__ import annotations

from hashlib import md5
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaxy_cli import engine
from metaxy_cli.definitions.loader import load_project
from metaxy_cli.store.duckdb import DuckDBStore

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lineage"
UIDS = [f"u{i}" for i in range(6)]


def h(text: str) -> str:
    return md5(text.encode()).hexdigest()


def audio_of(value: str) -> str:
    return h('["example/video.audio","1"]|audio_sha=' + h(value))


def frames_of(value: str) -> str:
    return h('["example/video.frames","1"]|frames_sha=' + h(value))


def chunk_of(value: str) -> str:
    return h('["example/chunks.audio","1"]|audio_sha=' + h(value))


class Model:
    """Stored rows of video, clips, chunks and video_summary, and the semantics in plain Python."""

    def __init__(self) -> None:
        self.videos: dict[str, dict] = {}
        self.clips: dict[tuple[str, int], dict[str, str]] = {}
        self.chunks: dict[tuple[str, int], str] = {}  # (uid, idx) -> audio data version
        self.summaries: dict[str, str] = {}

    def clip_expected(self, uid: str) -> dict[str, str]:
        video = self.videos[uid]
        return {
            "audio": h('["example/clips.audio","1"]|example/video.audio=' + audio_of(video["audio_sha"])),
            "frames": h('["example/clips.frames","1"]|example/video.frames=' + frames_of(video["frames_sha"])),
        }

    def clips_increment(self) -> tuple[dict[str, tuple], set[tuple[str, int]]]:
        """({parent: (status, stale fields)}, orphaned children)."""
        result: dict[str, tuple] = {}
        for uid in self.videos:
            expected = self.clip_expected(uid)
            children = [row for (parent, _), row in self.clips.items() if parent == uid]
            if not children:
                result[uid] = ("new", ("audio", "frames"))
                continue
            stale = tuple(f for f in ("audio", "frames") if any(row[f] != expected[f] for row in children))
            if stale:
                result[uid] = ("stale", stale)
        orphaned = {child for child in self.clips if child[0] not in self.videos}
        return result, orphaned

    def write_clips(self, uid: str, count: int) -> None:
        for child in [c for c in self.clips if c[0] == uid]:
            del self.clips[child]  # a parent's children are replaced as a whole
        for index in range(count):
            self.clips[(uid, index)] = self.clip_expected(uid)

    def summary_expected(self, uid: str) -> str:
        members = sorted((idx, version) for (parent, idx), version in self.chunks.items() if parent == uid)
        return h('["example/video_summary.embedding","1"]|example/chunks.audio=' + ",".join(v for _, v in members))

    def summary_increment(self) -> dict[str, str]:
        groups = {uid for uid, _ in self.chunks}
        result = {uid: "new" for uid in groups if uid not in self.summaries}
        result |= {uid: "stale" for uid in groups if uid in self.summaries and self.summaries[uid] != self.summary_expected(uid)}
        result |= {uid: "orphaned" for uid in self.summaries if uid not in groups}
        return result


values = st.sampled_from(["x", "y", "z"])
video_state = st.dictionaries(st.sampled_from(UIDS), st.tuples(values, values), min_size=1)
step = st.one_of(
    st.tuples(st.just("videos"), video_state),
    st.tuples(st.just("clips"), st.lists(st.tuples(st.sampled_from(UIDS), st.integers(1, 3)), max_size=4)),
    st.tuples(st.just("chunks"), st.lists(st.tuples(st.sampled_from(UIDS), st.integers(0, 4), values), min_size=1, max_size=6)),
    st.tuples(st.just("delete_chunks"), st.sampled_from(UIDS)),
    st.tuples(st.just("summaries"), st.booleans()),
)


def run_steps(steps) -> None:
    project = load_project(EXAMPLE)
    model = Model()
    with DuckDBStore.open() as store:
        for kind, arg in steps:
            if kind == "videos":
                rows = [{"sample_uid": u, "path": "p", "audio_sha": a, "frames_sha": f} for u, (a, f) in arg.items()]
                engine.write(project, store, "example/video", rows)
                gone = [u for u in model.videos if u not in arg]
                if gone:
                    engine.delete(project, store, "example/video", ids=[{"sample_uid": u} for u in gone])
                model.videos = {r["sample_uid"]: r for r in rows}
            elif kind == "clips":
                chosen = {u: n for u, n in arg if u in model.videos}
                if not chosen:
                    continue
                rows = [{"sample_uid": u, "clip_idx": i, "start_s": 0.0, "end_s": 1.0} for u, n in chosen.items() for i in range(n)]
                engine.write(project, store, "example/clips", rows)
                for u, n in chosen.items():
                    model.write_clips(u, n)
            elif kind == "chunks":
                rows = {(u, i): v for u, i, v in arg}
                engine.write(project, store, "example/chunks", [{"sample_uid": u, "chunk_idx": i, "audio_sha": v} for (u, i), v in rows.items()])
                model.chunks |= {key: chunk_of(v) for key, v in rows.items()}
            elif kind == "delete_chunks":
                if any(u == arg for u, _ in model.chunks):
                    engine.delete(project, store, "example/chunks", where=f"sample_uid = '{arg}'")
                    model.chunks = {k: v for k, v in model.chunks.items() if k[0] != arg}
            elif kind == "summaries" and model.chunks and (arg or not model.summaries):
                todo = engine.increment(project, store, "example/video_summary").to_arrow()
                engine.write(project, store, "example/video_summary", todo)
                model.summaries |= {uid: model.summary_expected(uid) for uid in todo.column("sample_uid").to_pylist()}
            check_clips(project, store, model)
            if store.table_exists("example__chunks"):
                check_summaries(project, store, model)


def check_clips(project, store, model: Model) -> None:
    if not store.table_exists("example__video"):
        return
    expected, orphaned = model.clips_increment()
    found = {
        r["sample_uid"]: (r["metaxy_status"], tuple(f for f in ("audio", "frames") if r[f"metaxy_stale__{f}"]))
        for r in engine.increment(project, store, "example/clips").rows()
    }
    assert found == expected
    rows = engine.increment(project, store, "example/clips", orphaned=True).rows()
    assert {(r["sample_uid"], r["clip_idx"]) for r in rows} == orphaned
    summary = engine.summary(project, store, "example/clips")
    assert (summary.new, summary.stale, summary.orphaned) == (
        sum(s == "new" for s, _ in expected.values()), sum(s == "stale" for s, _ in expected.values()), len(orphaned)
    )


def check_summaries(project, store, model: Model) -> None:
    found = {r["sample_uid"]: r["metaxy_status"] for r in engine.increment(project, store, "example/video_summary").rows()}
    orphans = {r["sample_uid"]: "orphaned" for r in engine.increment(project, store, "example/video_summary", orphaned=True).rows()}
    assert found | orphans == model.summary_increment()
    for uid, status in found.items():  # the expected provenance itself
        assert status in ("new", "stale")
    rows = engine.increment(project, store, "example/video_summary").rows()
    assert {r["sample_uid"]: r["metaxy_provenance__embedding"] for r in rows} == {u: model.summary_expected(u) for u in found}


SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow], "derandomize": True}


@settings(max_examples=12, **SETTINGS)
@given(st.lists(step, min_size=1, max_size=6))
def test_increments_match_the_model(steps) -> None:
    run_steps(steps)


@pytest.mark.slow
@settings(max_examples=40, **SETTINGS)
@given(st.lists(step, min_size=1, max_size=12))
def test_increments_match_the_model_long(steps) -> None:
    run_steps(steps)
