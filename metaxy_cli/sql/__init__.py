"""Stage 2 of the pipeline: the versioning SQL, built once with sqlglot for every engine.

Owns the storage layout (`layout`: table and column names, system columns), the features
resolved once for SQL (`resolved`: upstreams, typed columns, canonical hash inputs, versions),
the dialect table (`dialects`: the only module that knows how engines differ), the query
builders (`provenance`, `compare`, `query`, `writes`, `changes`) and strict emission (`emit`). Builders
are pure: they take a `ResolvedFeature` and a `DialectProfile` and return sqlglot trees; they
never run a query and never look a key up in the project.

May import: definitions, sqlglot. Modules import sqlglot at top level: import them lazily from
code that `metaxy --help` loads.
"""
