"""Building blocks the services' request models share."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, model_validator

# The largest values the databases' integer columns hold (PostgreSQL integer and bigint).
MAX_INT = 2**31 - 1
MAX_BIGINT = 2**63 - 1


class Changes(BaseModel):
    """A partial update (PATCH): omitted fields stay as they are.

    Only the fields named in ``nullable`` may be set to null (clearing them);
    null for any other field is refused instead of reaching a NOT NULL column.
    """

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls_where_a_value_is_required(self) -> Self:
        nulled = sorted(name for name in self.model_fields_set
                        if getattr(self, name) is None and name not in self.nullable)
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self
