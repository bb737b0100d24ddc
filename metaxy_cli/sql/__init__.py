"""The versioning SQL: storage layout, dialect profiles, query builders and strict emission.

Modules import sqlglot at top level; import this package lazily from CLI code.
"""
