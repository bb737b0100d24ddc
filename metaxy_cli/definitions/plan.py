"""What a change to the definitions makes us recompute, at definition level. Pure.

The plan is read off a ProjectDiff: `changed`, `affected` and `added` features are recomputed
(only their fields whose version changed), `unchanged` and `metadata` features keep their
versions, `removed` ones leave their stored samples orphaned. Sample counts and cost come from a
metadata store (`engine.predict`, attached with `with_predictions`): without one,
`PlannedFeature.samples`/`cost` and `Plan.total_cost` stay None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from metaxy_cli.definitions.diff import FeatureChange, FieldChange, ProjectDiff

_RECOMPUTE = ("changed", "affected", "added")


@dataclass(frozen=True)
class PlannedField:
    """A field to recompute and why: `chain` runs from this field back to the root cause."""

    key: str
    status: str  # changed | affected | added
    reason: str
    chain: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlannedFeature:
    key: str
    status: str  # changed | affected | added
    old_version: str | None
    new_version: str | None
    fields: tuple[PlannedField, ...]
    kept_fields: tuple[str, ...] = ()  # fields of this feature that keep their versions
    dropped_fields: tuple[str, ...] = ()  # fields removed from this feature
    samples: int | None = None  # filled from a store by a later stage
    cost: float | None = None

    @property
    def reason(self) -> str:
        return "; ".join(sorted({f.reason for f in self.fields}))


@dataclass(frozen=True)
class Prediction:
    """What one feature's samples will need once everything upstream of it is recomputed, read
    from a store (spec section 4): counts per status, per stale field, and the cost of computing
    the new and stale ones (None when nothing declares a cost)."""

    key: str
    new: int = 0
    stale: int = 0
    stale_fields: dict[str, int] = field(default_factory=dict)
    orphaned: int = 0
    up_to_date: int = 0
    cost: float | None = None
    table_exists: bool = True  # False: the store has no table for it yet (every sample is new)

    @property
    def to_compute(self) -> int:
        return self.new + self.stale

    def as_dict(self) -> dict:
        return {
            "key": self.key, "new": self.new, "stale": self.stale, "stale_fields": dict(self.stale_fields),
            "orphaned": self.orphaned, "up_to_date": self.up_to_date, "cost": self.cost,
            "table_exists": self.table_exists,
        }  # fmt: skip


@dataclass(frozen=True)
class Plan:
    base_label: str
    head_label: str
    recompute: tuple[PlannedFeature, ...]
    keep: tuple[str, ...]  # features keeping their versions (unchanged or metadata-only)
    removed: tuple[str, ...]
    diff: ProjectDiff
    total_cost: float | None = None
    predictions: tuple[Prediction, ...] = ()  # every feature, with a store
    store: str | None = None
    cost_unit: str | None = None

    @property
    def needs_recompute(self) -> bool:
        return bool(self.recompute) or any(p.to_compute for p in self.predictions)

    @property
    def field_count(self) -> int:
        return sum(len(feature.fields) for feature in self.recompute)

    @property
    def summary(self) -> str:
        return plan_summary(self)


def build_plan(diff: ProjectDiff) -> Plan:
    """The recomputation a diff calls for, in topological order."""
    roots = {
        f"{feature.key}.{change.key}": describe_field_change(change)
        for feature in diff.with_status("changed")
        for change in feature.fields
        if change.status == "changed"
    }
    recompute = tuple(_planned(change, roots) for change in diff.features if change.status in _RECOMPUTE)
    return Plan(
        base_label=diff.old_label,
        head_label=diff.new_label,
        recompute=recompute,
        keep=tuple(change.key for change in diff.with_status("unchanged", "metadata")),
        removed=tuple(change.key for change in diff.with_status("removed")),
        diff=diff,
    )


def with_predictions(plan: Plan, predictions: list[Prediction], *, store: str, cost_unit: str | None) -> Plan:
    """The plan with a store's sample counts and costs attached."""
    by_key = {p.key: p for p in predictions}
    recompute = tuple(
        replace(f, samples=by_key[f.key].to_compute, cost=by_key[f.key].cost) if f.key in by_key else f
        for f in plan.recompute
    )
    costs = [p.cost for p in predictions if p.cost is not None]
    return replace(
        plan, recompute=recompute, predictions=tuple(predictions), store=store, cost_unit=cost_unit,
        total_cost=float(sum(costs)) if costs else None,
    )  # fmt: skip


def _planned(change: FeatureChange, roots: dict[str, str]) -> PlannedFeature:
    fields = tuple(_planned_field(change, f, roots) for f in change.fields if f.status in _RECOMPUTE)
    return PlannedFeature(
        key=change.key,
        status=change.status,
        old_version=change.old_version,
        new_version=change.new_version,
        fields=fields,
        kept_fields=tuple(f.key for f in change.fields if f.status in ("unchanged", "metadata")),
        dropped_fields=tuple(f.key for f in change.fields if f.status == "removed"),
    )


def _planned_field(feature: FeatureChange, change: FieldChange, roots: dict[str, str]) -> PlannedField:
    if change.status == "added":
        reason = "new feature" if feature.status == "added" else "new field"
        if feature.renamed_from:
            reason += f" (renamed from {feature.renamed_from}?)"
        return PlannedField(change.key, "added", reason)
    if change.status == "changed":
        return PlannedField(change.key, "changed", describe_field_change(change))
    causes = ", ".join(f"{root} ({roots[root]})" for root in change.root_causes)
    reason = f"caused by {causes}"
    if len(change.chain) > 1:
        reason += " via " + " <- ".join(change.chain[:-1])
    return PlannedField(change.key, "affected", reason, change.chain)


def describe_field_change(change: FieldChange) -> str:
    """`code_version 1 -> 2; parents +a/b.x -c/d.y` for a `changed` field."""
    parts = []
    if change.old_code_version != change.new_code_version:
        parts.append(f"code_version {change.old_code_version} -> {change.new_code_version}")
    moved = [f"+{p}" for p in change.parents_added] + [f"-{p}" for p in change.parents_removed]
    if moved:
        parts.append("parents " + " ".join(moved))
    return "; ".join(parts)


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else (plural or singular + 's')}"


def plan_summary(plan: Plan) -> str:
    """One line: `Recompute 3 features (1 changed, 2 affected), 3 fields; 1 feature keeps its version.`"""
    keep = _count(len(plan.keep), "feature keeps its version", "features keep their versions")
    removed = f"; {_count(len(plan.removed), 'feature')} removed" if plan.removed else ""
    samples = _samples_summary(plan)
    if not plan.recompute:
        if samples:
            return f"No definition changes: {keep}{removed}; {samples}."
        return f"Nothing to recompute: {keep}{removed}."
    statuses = [s for s in _RECOMPUTE if any(f.status == s for f in plan.recompute)]
    breakdown = ", ".join(f"{sum(f.status == s for f in plan.recompute)} {s}" for s in statuses)
    return (
        f"Recompute {_count(len(plan.recompute), 'feature')} ({breakdown}), "
        f"{_count(plan.field_count, 'field')}; {keep}{removed}" + (f"; {samples}." if samples else ".")
    )


def cost_text(cost: float | None, unit: str | None) -> str:
    """`1,250 gpu-seconds`, `12.5`; '' when unknown."""
    if cost is None:
        return ""
    number = f"{cost:,.0f}" if float(cost).is_integer() else f"{cost:,.2f}"
    return f"{number} {unit}" if unit else number


def _samples_summary(plan: Plan) -> str:
    """`1,200 samples to compute in 3 features (cost 1,250 gpu-seconds)`; '' without a store."""
    if not plan.predictions:
        return ""
    busy = [p for p in plan.predictions if p.to_compute]
    if not busy:
        return f"store {plan.store!r}: every sample up to date"
    total = sum(p.to_compute for p in busy)
    cost = cost_text(plan.total_cost, plan.cost_unit)
    return (
        f"store {plan.store!r}: {total:,} sample{'s' if total != 1 else ''} to compute in "
        f"{_count(len(busy), 'feature')}" + (f" (cost {cost})" if cost else "")
    )
