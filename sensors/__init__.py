"""Sensors for the Gainsight jobs."""

from __future__ import annotations

from dagster import SensorDefinition

from gainsight_assets.objects import SyncObject
from gainsight_assets.settings import Settings


def build_sensors(settings: Settings, objects: list[SyncObject]) -> list[SensorDefinition]:
    return []
