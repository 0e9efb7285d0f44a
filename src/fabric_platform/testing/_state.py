"""The emulator's state: configuration and the one object every route receives.

``request.app.state.emulator`` is an :class:`Emulator`. It owns the store, clock, event bus,
outbox, faults, rate limiter, idempotency records, request statistics and the run engine,
and it tracks the background tasks (job executions, runs) so shutdown can stop them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple

from ._domain.auth import hash_password, make_api_key, public_user
from ._infra.clock import Clock
from ._infra.events import EventBus
from ._infra.faults import Faults
from ._infra.idempotency import IdempotencyKeys
from ._infra.outbox import Outbox
from ._infra.ratelimit import RateLimiter
from ._infra.store import Store

if TYPE_CHECKING:
    from ._domain.assets import AssetFiles
    from ._domain.scheduler import Scheduler
    from ._domain.webhooks import Dispatcher
    from ._engine.engine import Engine

log = logging.getLogger("fabric_platform.testing")

SEED_ORG_ID = "00000000-0000-0000-0000-000000000010"
SEED_OWNER_EMAIL = "owner@fabric.local"
SEED_OWNER_PASSWORD = "fabric-local-owner"


@dataclass
class Config:
    db_path: Optional[str] = None
    speed: float = 1.0
    access_token_ttl: float = 900.0
    refresh_token_ttl: float = 30 * 24 * 3600.0
    principal_header: bool = True
    webhook_allow_hosts: Tuple[str, ...] = ()
    sse_keepalive: float = 15.0
    sse_retry_ms: int = 1000
    # Realistic by default (the CLI); LocalFabric lowers it because tests create many users.
    password_hash_iterations: int = 200_000
    max_json_body: int = 1024 * 1024
    max_upload_body: int = 32 * 1024 * 1024
    idempotency_ttl: float = 24 * 3600.0
    # Simulated work takes this long at speed 1 (seconds), scaled by `speed`.
    work_seconds: Tuple[float, float] = (0.5, 2.0)
    invitation_ttl: float = 7 * 24 * 3600.0
    email_token_ttl: float = 24 * 3600.0
    recovery_token_ttl: float = 3600.0
    base_url: str = "http://127.0.0.1"  # set once the server has its port


class Stats:
    """Requests served per operation (``"POST /v1/auth/token/refresh"``), for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def snapshot(self) -> Dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


@dataclass
class Seed:
    organization_id: str
    owner_id: str
    owner_email: str
    owner_password: str
    api_key: str


class Emulator:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.db_path)
        offset = float(self.store.get_meta("clock_offset") or 0.0)
        self.clock = Clock(speed=config.speed, offset_seconds=offset)
        self.events = EventBus(self)
        self.outbox = Outbox(self.store, self.clock)
        self.faults = Faults()
        self.ratelimit = RateLimiter()
        self.idempotency = IdempotencyKeys(self.store, self.clock, config.idempotency_ttl)
        self.stats = Stats()
        self.closing = False
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.startup_hooks: List[Callable[[Emulator], Awaitable[None]]] = []
        self._tasks: Set[asyncio.Task[Any]] = set()
        self.signing_key = self._persistent_secret("signing_key")
        self.seed = self._seed()
        # Services started by the first route that needs them (``scheduler_of``, ``files_of``,
        # ``dispatcher_of``).
        self.scheduler: Optional[Scheduler] = None
        self.asset_files: Optional[AssetFiles] = None
        self.webhook_dispatcher: Optional[Dispatcher] = None
        self.engine = _make_engine(self)

    # ------------------------------------------------------------------ lifecycle
    async def startup(self) -> None:
        """Runs on the server's loop before it accepts requests."""
        self.loop = asyncio.get_running_loop()
        self.events.bind(self.loop)
        for hook in self.startup_hooks:
            await hook(self)
        await self.engine.start()

    def begin_shutdown(self) -> None:
        """Stop streams first: uvicorn waits for open responses before the lifespan ends."""
        self.closing = True
        self.events.wake_all()

    async def shutdown(self) -> None:
        self.closing = True
        await self.engine.stop()
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, coro: Awaitable[Any], name: Optional[str] = None) -> asyncio.Task[Any]:
        """Run background work on the loop; cancelled at shutdown, errors logged."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task %s failed", name or t, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    def advance_time(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.store.set_meta("clock_offset", repr(self.clock.offset_seconds))

    def work_seconds(self, weight: float = 0.5) -> float:
        """How long a piece of simulated work lasts at speed 1 (pass to ``clock.sleep``)."""
        low, high = self.config.work_seconds
        return low + (high - low) * min(1.0, max(0.0, weight))

    # ------------------------------------------------------------------ seeding
    def _persistent_secret(self, name: str) -> bytes:
        value = self.store.get_meta(name)
        if value is None:
            value = secrets.token_hex(32)
            self.store.set_meta(name, value)
        return bytes.fromhex(value)

    def _seed(self) -> Seed:
        """The seeded organization (the SDK's default id), its owner and the owner's API key.

        Created on the first start of a database and read back afterwards. The owner's key is
        kept in the emulator's private meta table so LocalFabric.client() works after a restart
        (keys themselves are stored hashed like any other).
        """
        store = self.store
        existing = store.get_meta("seed")
        if existing:
            owner_id, api_key = existing.split(" ", 1)
            return Seed(SEED_ORG_ID, owner_id, SEED_OWNER_EMAIL, SEED_OWNER_PASSWORD, api_key)
        now = self.clock.now_iso()
        owner_id = str(uuid.uuid4())
        api_key, prefix, key_hash = make_api_key("test")
        with store.transaction():
            store.insert(
                "users",
                {
                    "id": owner_id,
                    "email": SEED_OWNER_EMAIL,
                    "display_name": "Local Owner",
                    "email_verified": True,
                    "_password_hash": hash_password(
                        SEED_OWNER_PASSWORD, self.config.password_hash_iterations
                    ),
                    "created_at": now,
                },
            )
            store.insert(
                "organizations",
                {
                    "id": SEED_ORG_ID,
                    "slug": "local",
                    "name": "Local Fabric",
                    "archived": False,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            store.insert(
                "memberships",
                {
                    "id": str(uuid.uuid4()),
                    "principal_id": owner_id,
                    "organization_id": SEED_ORG_ID,
                    "team_id": None,
                    "role": "owner",
                    "email": SEED_OWNER_EMAIL,
                    "active": True,
                    "created_at": now,
                },
            )
            store.insert(
                "api_keys",
                {
                    "id": str(uuid.uuid4()),
                    "name": "local-owner",
                    "organization_id": SEED_ORG_ID,
                    "prefix": prefix,
                    "scopes": [],
                    "active": True,
                    "created_by": owner_id,
                    "service_account_id": None,
                    "created_at": now,
                    "last_used_at": None,
                    "_key_hash": key_hash,
                },
            )
            store.set_meta("seed", f"{owner_id} {api_key}")
        return Seed(SEED_ORG_ID, owner_id, SEED_OWNER_EMAIL, SEED_OWNER_PASSWORD, api_key)

    def seed_info(self) -> Dict[str, Any]:
        owner = self.store.get("users", self.seed.owner_id) or {}
        return {
            "organization_id": self.seed.organization_id,
            "owner": public_user(owner) if owner else None,
            "owner_email": self.seed.owner_email,
            "owner_password": self.seed.owner_password,
            "api_key": self.seed.api_key,
        }


def _make_engine(emulator: Emulator) -> Engine:
    """The run engine, with the emulator's policies: concurrency limits, budgets, persona galleries."""
    # Imported here: the engine and its workflow catalogue load when an emulator is built, not
    # when LocalFabric is imported.
    from ._domain.budgets import admit_run
    from ._domain.galleries import resolve_persona
    from ._domain.limits import can_start
    from ._engine.engine import Engine

    return Engine(
        emulator,
        can_start=lambda org_id: can_start(emulator, org_id),
        admit=lambda org_id, workflow_name, data: admit_run(emulator, org_id, workflow_name, data),
        input_resolvers=(resolve_persona,),
    )
