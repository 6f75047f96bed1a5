"""Intake's side of crypto-shredding for screening's tests: its data keys in the real store,
served by the runtime's own key route over a real HTTP server, so screening fetches them
exactly as it does from intake."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo import AsyncMongoClient
from vrac_contracts.events.intake import FamilyRegisteredV2
from vrac_contracts.events.sealed import ChildDetails, GuardianDetails, Sealed
from vrac_contracts.ids import derived_id
from vrac_runtime.keks import DEVELOPMENT_KEK, KeyEncryptionKeys
from vrac_runtime.sealing import DataKeys, key_routes, sealed_readers
from vrac_runtime.settings import ServiceSettings
from vrac_runtime.store import open_service_database
from vrac_testing.processes import free_port

from services.screening.tests.screening_events import base


class IntakeKeys:
    """``async with IntakeKeys(...) as keys``: seal as intake would, destroy a case's keys."""

    def __init__(self, mongodb_url: str, database: str, port: int | None = None) -> None:
        self._mongodb_url, self._database = mongodb_url, database
        # development: screening's calls are checked with its development key
        self._settings = ServiceSettings(service_name="intake", development=True)
        self.port = port or free_port()
        self._client: AsyncMongoClient[Any] | None = None
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self.keys: DataKeys

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> IntakeKeys:
        self._client = AsyncMongoClient(self._mongodb_url, tz_aware=True)
        db = await open_service_database(self._client, self._database)
        self.keys = DataKeys(db, KeyEncryptionKeys.parse(DEVELOPMENT_KEK))
        await self.keys.ensure_indexes()
        app = FastAPI()
        app.state.settings = self._settings
        app.include_router(key_routes(self.keys, sealed_readers("intake")))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._serving.done():
                self._serving.result()  # raises why it did not start
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
        if self._client is not None:
            await self._client.drop_database(self._database)
            await self._client.close()

    async def seal(self, case_id: str, plain: BaseModel) -> Sealed:
        return await self.keys.seal(case_id, case_id, plain)

    async def destroy_case(self, case_id: str) -> None:
        await self.keys.destroy_case(case_id)

    async def family(
        self, case_id: str, name: str = "Sam", language: str = "nl", pilot: str = "leiden"
    ) -> FamilyRegisteredV2:
        """A family-registered as intake publishes it: the child sealed with the case's key."""
        child = ChildDetails(child_first_name=name, birth_year=2016, school_name="De Regenboog")
        guardian = GuardianDetails(name="Fatima", email="fatima@example.org")
        guardian_id = derived_id("guardian", case_id)  # one key per person
        return FamilyRegisteredV2.model_validate(
            {
                **base(case_id, pilot),
                "language": language,
                "programme": "pit",
                "child": await self.seal(case_id, child),
                "guardians": [
                    {
                        "guardian_id": guardian_id,
                        "preferred_channel": "email",
                        "language": language,
                        "details": await self.keys.seal(case_id, guardian_id, guardian),
                    }
                ],
            }
        )
