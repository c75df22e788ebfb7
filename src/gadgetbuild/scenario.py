"""The smoke scenario of a gadget: the ``[smoke]`` table of its ``gadget.toml``.

A scenario names the parameters the host holds, the data sources it offers (typed fields
and input events, each with the field values it must hold after the gadget saw it), and
the log records the whole run must produce. The runtime host plays it; nothing here runs.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# IG's api.Kind numbering (pkg/gadget-service/api/api.proto), which the host checks.
FIELD_KINDS: dict[str, int] = {
    "bool": 1,
    "int8": 2,
    "int16": 3,
    "int32": 4,
    "int64": 5,
    "uint8": 6,
    "uint16": 7,
    "uint32": 8,
    "uint64": 9,
    "float32": 10,
    "float64": 11,
    "string": 12,
    "cstring": 13,
    "bytes": 14,
}
KindName = Literal[
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "string",
    "cstring",
    "bytes",
]
FieldValue = bool | int | float | str
INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
LOG_LEVELS = {"error": 0, "warn": 1, "info": 2, "debug": 3, "trace": 4}
LevelName = Literal["error", "warn", "info", "debug", "trace"]


class ScenarioModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def value_fits(kind: str, value: FieldValue) -> bool:
    """Whether a TOML value can be the value of a field of ``kind``."""
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind in INT_BITS:
        bits = INT_BITS[kind]
        return isinstance(value, int) and -(1 << (bits - 1)) <= value < 1 << (bits - 1)
    if kind in UINT_BITS:
        return isinstance(value, int) and 0 <= value < 1 << UINT_BITS[kind]
    if kind in {"float32", "float64"}:
        return isinstance(value, int | float)
    return isinstance(value, str)


class EventSpec(ScenarioModel):
    """One input event and what it must hold once every subscriber saw it."""

    fields: dict[str, FieldValue] = Field(
        default_factory=dict, description="Values of the data source's fields; others are zero."
    )
    expect: dict[str, FieldValue] = Field(
        default_factory=dict,
        description="Field values the event must hold after the callbacks, added fields "
        "included; a string value also checks a bytes field (UTF-8).",
    )


class DataSourceSpec(ScenarioModel):
    """A data source the host offers, with its typed fields and its input events."""

    name: str = Field(min_length=1, description="The name the gadget asks `getDataSource` for.")
    fields: dict[str, KindName] = Field(
        default_factory=dict, description="The fields the host declares, by name, with kinds."
    )
    events: list[EventSpec] = Field(
        default_factory=list, description="Events delivered in order, after `gadgetStart`."
    )

    @model_validator(mode="after")
    def _events_fit_fields(self) -> Self:
        for index, event in enumerate(self.events):
            for name, value in event.fields.items():
                kind = self.fields.get(name)
                if kind is None:
                    msg = f"event {index} sets '{name}', which is not among the fields"
                    raise ValueError(msg)
                if not value_fits(kind, value):
                    msg = f"event {index}: {value!r} is not a valid {kind} for '{name}'"
                    raise ValueError(msg)
        return self


class LogSpec(ScenarioModel):
    """Log records the run must produce: a substring or a regex, optionally a level."""

    contains: str | None = Field(None, description="A substring of the message.")
    matches: str | None = Field(None, description="A regex searched in the message.")
    level: LevelName | None = Field(None, description="The level the record must have.")
    count: int | None = Field(
        None, ge=0, description="Exactly this many matching records (0: none); default >= 1."
    )

    @model_validator(mode="after")
    def _one_pattern(self) -> Self:
        if (self.contains is None) == (self.matches is None):
            msg = "give exactly one of 'contains' and 'matches'"
            raise ValueError(msg)
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                msg = f"'matches' is not a regex: {exc}"
                raise ValueError(msg) from exc
        return self

    def describe(self) -> str:
        what = f"containing {self.contains!r}" if self.contains is not None else ""
        what = what or f"matching /{self.matches}/"
        return f"{self.level or 'any'}-level log {what}"

    def accepts(self, level: int, message: str) -> bool:
        if self.level is not None and LOG_LEVELS[self.level] != level:
            return False
        if self.contains is not None:
            return self.contains in message
        return re.search(self.matches or "", message) is not None


class SmokeSpec(ScenarioModel):
    """The `[smoke]` table: what the smoke stage runs and checks."""

    params: dict[str, str] = Field(
        default_factory=dict, description="Parameter values the host holds, by key."
    )
    log_level: LevelName = Field(
        "info", description="The most verbose level `gadgetShouldLog` accepts."
    )
    data_sources: list[DataSourceSpec] = Field(
        default_factory=list, description="Data sources the host offers, events included."
    )
    logs: list[LogSpec] = Field(
        default_factory=list, description="Log records the run must produce."
    )
    logs_ordered: bool = Field(
        default=False,
        description="The first record of each `logs` entry comes after the previous one's.",
    )
