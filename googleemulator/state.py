"""GoogleState: the whole Google world in memory (accounts, Cloud projects with their OAuth clients and
consent screens, grants and tokens, calendars and events, push channels), its clock, settings, faults, and
persistence to `google-state.json` in the emulator's state dir."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("googleemulator")
STATE_FILE = "google-state.json"
SAVE_INTERVAL = 2.0


def stable_digits(*parts: str, length: int = 21) -> str:
    """Deterministic decimal id (Google's `sub` is 21 digits; project numbers are 12)."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return str(int(digest, 16))[:length].rjust(length, "1")


@dataclass
class Account:
    email: str
    password: str
    name: str
    time_zone: str = "UTC"
    hd: str | None = None  # Workspace domain; None for a consumer (gmail.com) account
    sub: str = ""

    def __post_init__(self) -> None:
        self.sub = self.sub or stable_digits("sub", self.email.lower())

    @property
    def given_name(self) -> str:
        return self.name.split(" ")[0]

    @property
    def family_name(self) -> str:
        return self.name.split(" ", 1)[1] if " " in self.name else ""


@dataclass
class ConsentScreen:
    app_name: str = ""
    user_type: str = "external"  # "internal" (Workspace organisation only) | "external"
    publishing_status: str = "testing"  # "testing" | "production" (External only)
    support_email: str = ""
    org_domain: str | None = None  # the Workspace domain an Internal app admits
    test_users: list[str] = field(default_factory=list)


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    name: str
    project_id: str
    redirect_uris: list[str] = field(default_factory=list)
    client_type: str = "web"
    created: float = 0.0


@dataclass
class Project:
    project_id: str
    name: str
    number: str
    owner: str = ""
    calendar_api_enabled: bool = True
    consent: ConsentScreen = field(default_factory=ConsentScreen)


@dataclass
class RefreshToken:
    token: str
    client_id: str
    email: str
    scopes: list[str]
    issued: float
    expires: float | None  # External + Testing apps: 7 days after issue
    revoked: bool = False
    last_used: float | None = None  # unused for six months, a refresh token stops working


@dataclass
class AccessToken:
    token: str
    client_id: str
    email: str
    scopes: list[str]
    expires: float
    refresh_token: str | None = None


@dataclass
class Calendar:
    id: str
    owner: str
    summary: str
    time_zone: str = "UTC"
    primary: bool = False
    description: str = ""
    acl: dict[str, str] = field(default_factory=dict)  # email -> reader | writer | freeBusyReader | owner
    seq: int = 0  # change counter: every event change takes the next value (sync tokens point into it)
    sync_epoch: int = 0  # bumped to expire every sync token issued for this calendar
    events: dict[str, dict] = field(default_factory=dict)  # id -> stored event (see calendar/models.py)
    deleted: bool = False


@dataclass
class Settings:
    allow_http_push: bool = False  # Google only delivers to https addresses; tests may allow http
    push_ca_file: str | None = None  # CA the push sender trusts for https addresses (else the system's)
    push_timeout_seconds: float = 10.0
    channel_max_seconds: int = 7 * 24 * 3600
    sync_token_ttl_seconds: int = 30 * 24 * 3600
    # Google's documented Calendar API quotas (Usage limits page): None lifts one.
    quota_per_user_per_minute: int | None = 600  # then 403 userRateLimitExceeded
    quota_per_project_per_minute: int | None = 10_000  # then 403 rateLimitExceeded

    def update(self, data: dict) -> None:
        for key, value in data.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {key!r}")
            setattr(self, key, value)


class GoogleState:
    def __init__(self, state_dir: str | os.PathLike | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir else None
        self.lock = threading.RLock()
        self.clock_offset = 0.0  # seconds added to the real clock (the control API moves time forward)
        self.request_log: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.faults = None  # googleemulator.faults.FaultConfig, set through the control API
        self.pusher = None  # googleemulator.calendar.push.Pusher, started on first use
        self.dirty = False
        self.token_calls = 0  # the token endpoint prunes expired tokens every 1,000 calls
        self.reset()
        if self.state_dir:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.load_from_disk()
            self.dirty = False
            # Saves itself (the host server's lifespan stays the Microsoft side's): a changed world is
            # written within SAVE_INTERVAL seconds; at most that much is lost if the process is killed.
            threading.Thread(target=self._save_loop, name="googleemulator-save", daemon=True).start()

    def _save_loop(self) -> None:
        while True:
            time.sleep(SAVE_INTERVAL)
            if self.dirty:
                try:
                    self.save_to_disk()
                except OSError as exc:
                    log.warning("could not save the Google state: %s", exc)

    def now(self) -> float:
        return time.time() + self.clock_offset

    def prune(self) -> None:
        """Forget what can no longer be used: expired access tokens, spent or expired codes, abandoned
        sign-ins (after an hour). Called now and then by the token endpoint, so a long run stays small."""
        now = self.now()
        with self.lock:
            for raw in [k for k, t in self.access_tokens.items() if t.expires <= now]:
                del self.access_tokens[raw]
            for raw in [k for k, c in self.codes.items() if c["used"] or c["expires"] <= now]:
                del self.codes[raw]
            for key in [k for k, f in self.flows.items() if f.get("created", now) < now - 3600]:
                del self.flows[key]

    def reset(self) -> None:
        with getattr(self, "lock", threading.RLock()):
            self.accounts: dict[str, Account] = {}
            self.projects: dict[str, Project] = {}
            self.clients: dict[str, OAuthClient] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.grants: dict[str, list[str]] = {}  # "client_id|email" -> granted scopes
            self.codes: dict[str, dict] = {}  # authorization codes (single use, 10 minutes)
            self.flows: dict[str, dict] = {}  # authorization requests in progress (browser side)
            self.sessions: dict[str, list[str]] = {}  # browser session cookie -> signed-in emails
            self.console_sessions: dict[str, str] = {}  # console cookie -> email
            self.calendars: dict[str, Calendar] = {}
            self.channels: dict[str, dict] = {}  # channel id -> channel
            self.sync_tokens: dict[str, dict] = {}
            self.page_tokens: dict[str, dict] = {}
            self.quota_counts: dict = {}  # quota key -> deque of request times (last minute)
            self.settings = Settings()
            self.clock_offset = 0.0
            self.faults = None
            self.request_log.clear()
            self.deliveries.clear()
            self.dirty = True

    # --- lookups -------------------------------------------------------------------------------------
    def account(self, email: str) -> Account | None:
        return self.accounts.get(email.strip().lower())

    def project_of(self, client: OAuthClient) -> Project:
        return self.projects[client.project_id]

    def primary_calendar(self, email: str) -> Calendar:
        """A person's primary calendar (id = their address) appears on first use, as in Google."""
        email = email.lower()
        cal = self.calendars.get(email)
        if cal is None:
            acct = self.account(email)
            cal = Calendar(
                id=email,
                owner=email,
                summary=email,
                time_zone=acct.time_zone if acct else "UTC",
                primary=True,
            )
            self.calendars[email] = cal
        return cal

    def calendars_of(self, email: str) -> list[Calendar]:
        """Calendars a person owns or that are shared with them, primary first."""
        email = email.lower()
        self.primary_calendar(email)
        mine = [c for c in self.calendars.values() if not c.deleted and (c.owner == email or email in c.acl)]
        return sorted(mine, key=lambda c: (not (c.primary and c.owner == email), c.owner != email, c.summary))

    @staticmethod
    def new_secret(prefix: str = "", nbytes: int = 24) -> str:
        return prefix + secrets.token_urlsafe(nbytes)

    # --- persistence ---------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "accounts": [asdict(a) for a in self.accounts.values()],
                "projects": [asdict(p) for p in self.projects.values()],
                "clients": [asdict(c) for c in self.clients.values()],
                "refresh_tokens": [asdict(t) for t in self.refresh_tokens.values()],
                "access_tokens": [asdict(t) for t in self.access_tokens.values() if t.expires > self.now()],
                "grants": self.grants,
                "calendars": [asdict(c) for c in self.calendars.values()],
                "channels": self.channels,
                "sync_tokens": self.sync_tokens,
                "settings": asdict(self.settings),
                "clock_offset": self.clock_offset,
            }

    def load(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.accounts = {a["email"]: Account(**a) for a in data.get("accounts", [])}
            self.projects = {}
            for p in data.get("projects", []):
                p = dict(p, consent=ConsentScreen(**p.get("consent", {})))
                self.projects[p["project_id"]] = Project(**p)
            self.clients = {c["client_id"]: OAuthClient(**c) for c in data.get("clients", [])}
            self.refresh_tokens = {t["token"]: RefreshToken(**t) for t in data.get("refresh_tokens", [])}
            self.access_tokens = {t["token"]: AccessToken(**t) for t in data.get("access_tokens", [])}
            self.grants = dict(data.get("grants", {}))
            self.calendars = {c["id"]: Calendar(**c) for c in data.get("calendars", [])}
            self.channels = dict(data.get("channels", {}))
            self.sync_tokens = dict(data.get("sync_tokens", {}))
            self.settings = Settings(**data.get("settings", {}))
            self.clock_offset = float(data.get("clock_offset", 0.0))

    def save_to_disk(self) -> None:
        if not self.state_dir:
            return
        with self.lock:
            self.dirty = False
            text = json.dumps(self.dump())
        path = self.state_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)  # atomic: a crash mid-write never leaves half a file

    def load_from_disk(self) -> None:
        path = self.state_dir / STATE_FILE if self.state_dir else None
        if path is None or not path.exists():
            return
        try:
            self.load(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            path.rename(path.with_suffix(f".broken-{int(time.time())}"))
            self.reset()
