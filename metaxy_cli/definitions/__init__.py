"""Stage 1 of the pipeline: definitions. YAML in, a validated `Project` with its versions out.

Owns everything computed from the YAML alone, without data: reading files (the working tree or a
git revision, `sources`, `gitsource`, with a cache of parsed documents), checking them against the
JSON Schemas (`schemas`, `schema_check`) and the rules of spec section 1 (`loader`), the frozen
feature and field specs (`model`), the DAG (`graph`), the static versions (`versions`), the
project (`project`), and comparing two projects (`diff`, `plan`). Also the error tree, keys and
did-you-mean hints that every later stage uses.

May import: the standard library, ruamel.yaml, jsonschema, blake3. Nothing else of metaxy_cli:
this is the bottom of the pipeline, imported by every other package.
"""

__version__ = "0.1.0"
