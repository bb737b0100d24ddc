#!/usr/bin/env python3
"""Migration benchmark (issue 14): `migrate apply` on one field of an N-sample feature, DuckDB.

The overview graph at N samples, every feature computed, then 1% of the audio rewritten; then
crop.frames' code_version is bumped as a refactor (a copy of the project) and a migration is
drafted for it. From a copy of that store, each of these is timed (interleaved, best of k):
  (metaxy)    engine.migrate: the migration applied (one transaction);
  (floor)     the same reconciliation hand-written for DuckDB in one transaction: stored rows
              joined to video, md5 of the old and new canonical strings, matching rows moved to
              history and appended with the new provenance and the kept data version;
  (recompute) the path a migration replaces, with a free model: crop's increment streamed to
              Parquet (every sample stale on frames), then written back (engine.write).
The migrated and floor stores must hold the same provenance and data versions.

    python benchmarks/bench_migrate.py --samples 1000000 --repeat 2
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
VIDEO, CROP = "example/video", "example/crop"
FIELDS = ("audio", "frames")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def refactored(destination: Path) -> Path:
    """A copy of examples/overview with crop.frames' code_version 1 -> 2."""
    target = destination / "overview"
    shutil.copytree(HERE.parent / "examples" / "overview", target, ignore=shutil.ignore_patterns(".metaxy", "__pycache__", "*.py"))
    processing = target / "features" / "processing.yaml"
    old = '      - key: frames\n        code_version: "1"'
    text = processing.read_text()
    assert old in text
    processing.write_text(text.replace(old, '      - key: frames\n        code_version: "2"'))
    return target


def floor_sql(old_prefix: str, new_prefix: str, feature_version: str, project_version: str, write_id: int) -> list[str]:
    """The reconciliation of crop.frames, hand-written: what `migrate apply` does, as a person
    would write it for this one feature."""
    version = "coalesce(u.metaxy_data_version__frames, u.metaxy_provenance__frames)"
    old = f"md5('{old_prefix}|example/video.frames=' || {version})"
    new = f"md5('{new_prefix}|example/video.frames=' || {version})"
    kept = "coalesce(s.metaxy_data_version__frames, s.metaxy_provenance__frames)"
    sample_dv = "md5(coalesce(s.metaxy_data_version__audio, s.metaxy_provenance__audio, '') || '|' || " + kept + ")"
    return [
        "BEGIN",
        f"""CREATE TEMP TABLE r AS SELECT s.sample_uid, s.metaxy_provenance__audio, s.metaxy_data_version__audio,
            m.new AS metaxy_provenance__frames, {kept} AS metaxy_data_version__frames,
            md5(s.metaxy_provenance__audio || '|' || m.new) AS metaxy_provenance, {sample_dv} AS metaxy_data_version,
            '{feature_version}' AS metaxy_feature_version, '{project_version}' AS metaxy_project_version,
            now()::TIMESTAMP AS metaxy_written_at, {write_id}::BIGINT AS metaxy_write_id
          FROM example__crop s JOIN (SELECT s.sample_uid, {old} AS old, {new} AS new
                                      FROM example__crop s LEFT JOIN example__video u ON s.sample_uid = u.sample_uid) m
            ON s.sample_uid = m.sample_uid
          WHERE s.metaxy_provenance__frames = m.old""",
        "INSERT INTO example__crop__history SELECT *, FALSE FROM example__crop WHERE sample_uid IN (SELECT sample_uid FROM r)",
        "DELETE FROM example__crop WHERE sample_uid IN (SELECT sample_uid FROM r)",
        "INSERT INTO example__crop SELECT * FROM r",
        f"INSERT INTO metaxy_writes VALUES ({write_id}, 'example/crop', 'migrate', (SELECT count(*) FROM r), '', 'floor', now()::TIMESTAMP)",
        "COMMIT",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from bench_engine import generate

    from harness import machine

    from metaxy_cli import engine
    from metaxy_cli.definitions.loader import load_project
    from metaxy_cli.definitions.migration import dump_migration
    from metaxy_cli.engine.migration_draft import draft_migration
    from metaxy_cli.sql.resolved import resolve
    from metaxy_cli.store.duckdb import DuckDBStore

    n = args.samples
    files = generate(n)
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as folder:
        root = Path(folder)
        base = root / "base.duckdb"
        old = load_project(HERE.parent / "examples" / "overview")
        log(f"materialising {n:,} samples")
        with DuckDBStore.open(base, memory_limit="4GB") as store:
            engine.write(old, store, VIDEO, files["videos"])
            todo = engine.increment(old, store, CROP).to_arrow()
            engine.write(old, store, CROP, todo.select(["sample_uid", "metaxy_provenance"]), partial=True)
            engine.write(old, store, VIDEO, files["changed"])
            next_id = store.next_write_id()
        project_dir = refactored(root)
        new = load_project(project_dir)
        draft = draft_migration(old, new, name="refactor", targets=[CROP], all_changed=False, renames=[], origin="bench", created=datetime(2026, 1, 1))
        (project_dir / "migrations").mkdir()
        (project_dir / "migrations" / "m.yaml").write_text(dump_migration(draft.document))
        new = load_project(project_dir)
        crop_old, crop_new = resolve(old)[CROP], resolve(new)[CROP]

        def fresh() -> Path:
            target = root / "run.duckdb"
            target.unlink(missing_ok=True)
            shutil.copyfile(base, target)
            return target

        def run_metaxy() -> float:
            with DuckDBStore.open(fresh(), memory_limit="4GB") as store:
                start = time.perf_counter()
                [result] = engine.migrate(new, store)
                elapsed = time.perf_counter() - start
                assert result.rows == n, result
                return elapsed

        def run_floor() -> float:
            with DuckDBStore.open(fresh(), memory_limit="4GB") as store:
                statements = floor_sql(
                    crop_old.field_prefixes["frames"], crop_new.field_prefixes["frames"], crop_new.feature_version,
                    crop_new.project_version, next_id,
                )
                start = time.perf_counter()
                for statement in statements:
                    store.execute(statement)
                return time.perf_counter() - start

        def run_recompute() -> float:
            parquet = root / "todo.parquet"
            with DuckDBStore.open(fresh(), memory_limit="4GB") as store:
                start = time.perf_counter()
                engine.increment(new, store, CROP).write_to(parquet, "parquet")
                engine.write(new, store, CROP, str(parquet))
                return time.perf_counter() - start

        def crop_versions() -> list[tuple]:
            with DuckDBStore.open(root / "run.duckdb") as store:
                columns = ", ".join(f"metaxy_provenance__{f}, coalesce(metaxy_data_version__{f}, metaxy_provenance__{f})" for f in FIELDS)
                return store.fetch_all(f"SELECT sample_uid, {columns}, metaxy_provenance, metaxy_data_version FROM example__crop ORDER BY sample_uid")

        times: dict[str, list[float]] = {"metaxy": [], "floor": [], "recompute": []}
        for round_ in range(args.repeat):
            for name, action in (("metaxy", run_metaxy), ("floor", run_floor), ("recompute", run_recompute)):
                times[name].append(action())
                log(f"round {round_ + 1}: {name} {times[name][-1]:.2f} s")
                if round_ == 0 and name == "metaxy":
                    migrated = crop_versions()
                if round_ == 0 and name == "floor":
                    assert crop_versions() == migrated, "the floor and metaxy disagree"
        best = {name: min(values) for name, values in times.items()}
        print(f"\n{machine()}, {n:,} samples, best of {args.repeat}\n")
        print("| step | seconds | ratio |")
        print("|---|---:|---:|")
        print(f"| migrate apply (crop.frames, {n:,} samples) | {best['metaxy']:.2f} | {best['metaxy'] / best['floor']:.2f}x floor |")
        print(f"| hand-written floor (one transaction) | {best['floor']:.2f} | 1.00x |")
        print(f"| recompute path: increment -> parquet -> write back | {best['recompute']:.2f} | {best['recompute'] / best['metaxy']:.2f}x migrate |")


if __name__ == "__main__":
    main()
