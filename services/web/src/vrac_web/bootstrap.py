"""The composition root: settings from the environment, the pages, and serving them."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI
from vrac_runtime.logging import configure_logging

from vrac_web.app import create_app
from vrac_web.pages import coach, family, helper, lead, signin
from vrac_web.settings import WebSettings


def build(settings: WebSettings) -> FastAPI:
    routers = (signin.router, coach.router, lead.router, family.router, helper.router)
    return create_app(settings, routers)


def main() -> None:
    """``vrac-web``: serve until SIGTERM or SIGINT."""
    settings = WebSettings()
    unsafe = settings.unsafe()
    if unsafe is not None:
        raise SystemExit(f"web refuses to start: {unsafe}")
    configure_logging("web", settings.log_level)

    async def run() -> None:
        config = uvicorn.Config(
            build(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        )
        await uvicorn.Server(config).serve()

    asyncio.run(run())
